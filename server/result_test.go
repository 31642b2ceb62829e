package server_test

import (
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// TestNextResultState tries every action from every state: the allowed
// ones lead where the machine says, every other is ECONFLICT.
func TestNextResultState(t *testing.T) {
	allowed := map[string]map[server.ResultAction]string{
		syncproto.ResultDraft:    {server.ResultActionEnter: syncproto.ResultEntered},
		syncproto.ResultReturned: {server.ResultActionEnter: syncproto.ResultEntered},
		syncproto.ResultEntered: {
			server.ResultActionReturn:  syncproto.ResultReturned,
			server.ResultActionApprove: syncproto.ResultApproved,
		},
		syncproto.ResultApproved: {server.ResultActionReopen: syncproto.ResultReturned},
	}
	for _, from := range append(server.ResultStates, "unknown") {
		for _, a := range append(server.ResultActions, "publish") {
			got, err := server.NextResultState(from, a)
			if want, ok := allowed[from][a]; ok {
				if err != nil || got != want {
					t.Errorf("%s --%s-->: got %q, %v; want %q", from, a, got, err, want)
				}
			} else if server.ErrorCode(err) != server.ECONFLICT || got != "" {
				t.Errorf("%s --%s-->: got %q, %v; want ECONFLICT", from, a, got, err)
			}
		}
	}
}

func TestCheckEntererAndReviewer(t *testing.T) {
	deptA, deptB := int64(1), int64(2)
	insp := func(id, inspectorID, dept int64) *server.User {
		return &server.User{ID: id, Role: server.RoleInspector, DepartmentID: &dept, InspectorID: &inspectorID}
	}
	admin := &server.User{ID: 10, Role: server.RoleDepartmentAdmin, DepartmentID: &deptA}
	adminB := &server.User{ID: 11, Role: server.RoleDepartmentAdmin, DepartmentID: &deptB}
	coord := &server.User{ID: 12, Role: server.RoleLeadCoordinator, DepartmentID: &deptA}
	root := &server.User{ID: 13, Role: server.RolePlatformAdmin}
	a1, a2, b1 := insp(1, 101, deptA), insp(2, 102, deptA), insp(3, 201, deptB)

	for _, tt := range []struct {
		name   string
		actor  server.ResultParty
		forID  int64
		forOn  bool
		wantOK bool
	}{
		{"InspectorOnTeamForSelf", server.ResultParty{User: a1, OnTeam: true}, 101, true, true},
		{"ErrInspectorForAnother", server.ResultParty{User: a1, OnTeam: true}, 102, true, false},
		{"ErrInspectorNotOnTeam", server.ResultParty{User: a1, OnTeam: false}, 101, false, false},
		{"ErrInspectorOtherDepartment", server.ResultParty{User: b1, OnTeam: true}, 201, true, false},
		{"AdminOnBehalf", server.ResultParty{User: admin}, 102, true, true},
		{"ErrAdminForOffTeam", server.ResultParty{User: admin}, 999, false, false},
		{"ErrAdminOtherDepartment", server.ResultParty{User: adminB}, 102, true, false},
		{"ErrCoordinator", server.ResultParty{User: coord}, 102, true, false},
		{"ErrPlatformAdmin", server.ResultParty{User: root}, 102, true, false},
	} {
		t.Run("Enter"+tt.name, func(t *testing.T) {
			err := server.CheckEnterer(tt.actor, deptA, tt.forID, tt.forOn)
			if (err == nil) != tt.wantOK {
				t.Fatalf("got %v, want ok=%v", err, tt.wantOK)
			}
		})
	}

	byA1 := &syncproto.Result{DepartmentID: deptA, EnteredBy: &a1.ID, EnteredFor: a1.InspectorID}
	byAdminForA2 := &syncproto.Result{DepartmentID: deptA, EnteredBy: &admin.ID, EnteredFor: a2.InspectorID}
	for _, tt := range []struct {
		name   string
		actor  server.ResultParty
		r      *syncproto.Result
		wantOK bool
	}{
		{"AdminReviewsInspector", server.ResultParty{User: admin}, byA1, true},
		{"TeammateReviews", server.ResultParty{User: a2, OnTeam: true}, byA1, true},
		{"ErrEntererReviews", server.ResultParty{User: a1, OnTeam: true}, byA1, false},
		{"ErrAdminReviewsOwnEntry", server.ResultParty{User: admin}, byAdminForA2, false},
		{"ErrEnteredForReviews", server.ResultParty{User: a2, OnTeam: true}, byAdminForA2, false},
		{"InspectorReviewsAdminEntry", server.ResultParty{User: a1, OnTeam: true}, byAdminForA2, true},
		{"ErrInspectorOffTeam", server.ResultParty{User: a2, OnTeam: false}, byA1, false},
		{"ErrOtherDepartmentAdmin", server.ResultParty{User: adminB}, byA1, false},
		{"ErrOtherDepartmentInspector", server.ResultParty{User: b1, OnTeam: true}, byA1, false},
		{"ErrCoordinator", server.ResultParty{User: coord}, byA1, false},
		{"ErrPlatformAdmin", server.ResultParty{User: root}, byA1, false},
	} {
		t.Run("Review"+tt.name, func(t *testing.T) {
			err := server.CheckReviewer(tt.actor, tt.r)
			if (err == nil) != tt.wantOK {
				t.Fatalf("got %v, want ok=%v", err, tt.wantOK)
			}
		})
	}
}

func TestCheckResolutions(t *testing.T) {
	r := &syncproto.Result{Department: "culture", Flags: []syncproto.RecordFlag{
		{Code: syncproto.FlagSeveralCloses},
		{Code: syncproto.FlagSectionNotCovered, Department: "culture"},
		{Code: syncproto.FlagSectionNotCovered, Department: "market"}, // another department's business
		{Code: syncproto.FlagDeviceTimeOutsideWindow},                 // shown, not resolved
	}}
	both := []syncproto.ResultResolution{
		{Code: syncproto.FlagSeveralCloses, Reason: "以先到现场设备记录为准"},
		{Code: syncproto.FlagSectionNotCovered, Department: "culture", Reason: "经电话向企业核实"},
	}
	if err := server.CheckResolutions(r, both); err != nil {
		t.Fatalf("both resolved: %v", err)
	}
	for name, res := range map[string][]syncproto.ResultResolution{
		"ErrMissing":      both[:1],
		"ErrNoReason":     {both[0], {Code: syncproto.FlagSectionNotCovered, Department: "culture", Reason: " "}},
		"ErrNothingToFix": append(append([]syncproto.ResultResolution{}, both...), syncproto.ResultResolution{Code: syncproto.FlagNoClose, Reason: "x"}),
		"ErrOtherDept":    append(append([]syncproto.ResultResolution{}, both...), syncproto.ResultResolution{Code: syncproto.FlagSectionNotCovered, Department: "market", Reason: "x"}),
	} {
		if err := server.CheckResolutions(r, res); server.ErrorCode(err) != server.EINVALID {
			t.Errorf("%s: got %v, want EINVALID", name, err)
		}
	}
}

func TestSuggestResultCode(t *testing.T) {
	finding := []syncproto.ResultFinding{{ItemCode: "WH-01"}}
	for _, tt := range []struct {
		outcomes []string
		findings []syncproto.ResultFinding
		want     string
	}{
		{[]string{syncproto.OutcomeNotLocatable}, nil, server.ResultCodeNotLocatable},
		{[]string{syncproto.OutcomeSigned, syncproto.OutcomeNotLocatable}, finding, server.ResultCodeNotLocatable},
		{[]string{syncproto.OutcomeSigned}, nil, server.ResultCodeNoProblem},
		{nil, nil, server.ResultCodeNoProblem},
		{[]string{syncproto.OutcomeRefused}, finding, server.ResultCodePendingFollowUp},
	} {
		if got := server.SuggestResultCode(tt.outcomes, tt.findings); got != tt.want {
			t.Errorf("SuggestResultCode(%v, %d findings) = %s, want %s", tt.outcomes, len(tt.findings), got, tt.want)
		}
	}
}
