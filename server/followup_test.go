package server_test

import (
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// TestNextFollowUpState tries every action from every state: the allowed
// ones lead where the machine says, every other is ECONFLICT.
func TestNextFollowUpState(t *testing.T) {
	allowed := map[string]map[server.FollowUpAction]string{
		server.FollowUpStateOpen: {
			server.FollowUpActionAssign: server.FollowUpStateOpen,
			server.FollowUpActionStart:  server.FollowUpStateInProgress,
			server.FollowUpActionNote:   server.FollowUpStateOpen,
		},
		server.FollowUpStateInProgress: {
			server.FollowUpActionAssign:         server.FollowUpStateInProgress,
			server.FollowUpActionNote:           server.FollowUpStateInProgress,
			server.FollowUpActionRequestClosure: server.FollowUpStateClosureRequested,
		},
		server.FollowUpStateClosureRequested: {
			server.FollowUpActionNote:   server.FollowUpStateClosureRequested,
			server.FollowUpActionRefuse: server.FollowUpStateInProgress,
			server.FollowUpActionClose:  server.FollowUpStateClosed,
		},
	}
	n := 0
	for _, from := range append(server.FollowUpStates, "unknown") {
		for _, a := range append(server.FollowUpActions, "reopen") {
			got, err := server.NextFollowUpState(from, a)
			if want, ok := allowed[from][a]; ok {
				n++
				if err != nil || got != want {
					t.Errorf("%s --%s-->: got %q, %v; want %q", from, a, got, err, want)
				}
			} else if server.ErrorCode(err) != server.ECONFLICT || got != "" {
				t.Errorf("%s --%s-->: got %q, %v; want ECONFLICT", from, a, got, err)
			}
		}
	}
	if n != 9 {
		t.Errorf("tried %d allowed transitions, want 9", n)
	}
}

// TestCheckFollowUpActor: who may take each action, including closure by
// the assignee or by the one who asked for it (refused: a second person closes).
func TestCheckFollowUpActor(t *testing.T) {
	deptA, deptB := int64(1), int64(2)
	insp := func(id, dept int64) *server.User {
		in := id + 100
		return &server.User{ID: id, Role: server.RoleInspector, DepartmentID: &dept, InspectorID: &in}
	}
	a1, a2, b1 := insp(1, deptA), insp(2, deptA), insp(3, deptB)
	admin := &server.User{ID: 10, Role: server.RoleDepartmentAdmin, DepartmentID: &deptA}
	admin2 := &server.User{ID: 11, Role: server.RoleDepartmentAdmin, DepartmentID: &deptA}
	adminB := &server.User{ID: 12, Role: server.RoleDepartmentAdmin, DepartmentID: &deptB}
	coord := &server.User{ID: 13, Role: server.RoleLeadCoordinator, DepartmentID: &deptA}
	root := &server.User{ID: 14, Role: server.RolePlatformAdmin}
	id := func(v int64) *int64 { return &v }

	assignedA1 := &server.FollowUp{DepartmentID: deptA, AssigneeID: id(a1.ID)}
	requestedByA1 := &server.FollowUp{DepartmentID: deptA, AssigneeID: id(a1.ID), ClosureRequestedBy: id(a1.ID)}
	requestedByAdmin := &server.FollowUp{DepartmentID: deptA, AssigneeID: id(a1.ID), ClosureRequestedBy: id(admin.ID)}
	adminAssigned := &server.FollowUp{DepartmentID: deptA, AssigneeID: id(admin.ID), ClosureRequestedBy: id(admin.ID)}
	unassigned := &server.FollowUp{DepartmentID: deptA}

	for _, tt := range []struct {
		name   string
		action server.FollowUpAction
		actor  *server.User
		f      *server.FollowUp
		want   string // "" allowed, else the error code
	}{
		{"AdminAssigns", server.FollowUpActionAssign, admin, unassigned, ""},
		{"ErrInspectorAssigns", server.FollowUpActionAssign, a1, assignedA1, server.EFORBIDDEN},
		{"ErrOtherDepartmentAdminAssigns", server.FollowUpActionAssign, adminB, unassigned, server.EFORBIDDEN},
		{"ErrCoordinatorAssigns", server.FollowUpActionAssign, coord, unassigned, server.EFORBIDDEN},
		{"ErrPlatformAdminAssigns", server.FollowUpActionAssign, root, unassigned, server.EFORBIDDEN},

		{"AssigneeStarts", server.FollowUpActionStart, a1, assignedA1, ""},
		{"AdminStarts", server.FollowUpActionStart, admin, assignedA1, ""},
		{"ErrOtherInspectorStarts", server.FollowUpActionStart, a2, assignedA1, server.EFORBIDDEN},
		{"ErrOtherDepartmentStarts", server.FollowUpActionStart, b1, assignedA1, server.EFORBIDDEN},

		{"AssigneeNotes", server.FollowUpActionNote, a1, assignedA1, ""},
		{"AdminNotes", server.FollowUpActionNote, admin2, assignedA1, ""},
		{"ErrOtherInspectorNotes", server.FollowUpActionNote, a2, assignedA1, server.EFORBIDDEN},
		{"ErrOtherDepartmentAdminNotes", server.FollowUpActionNote, adminB, assignedA1, server.EFORBIDDEN},
		{"ErrCoordinatorNotes", server.FollowUpActionNote, coord, assignedA1, server.EFORBIDDEN},

		{"AssigneeRequestsClosure", server.FollowUpActionRequestClosure, a1, assignedA1, ""},
		{"AdminRequestsClosure", server.FollowUpActionRequestClosure, admin, assignedA1, ""},
		{"ErrOtherInspectorRequestsClosure", server.FollowUpActionRequestClosure, a2, assignedA1, server.EFORBIDDEN},

		{"SecondPersonCloses", server.FollowUpActionClose, admin, requestedByA1, ""},
		{"ErrAssigneeClosesInspector", server.FollowUpActionClose, a1, requestedByA1, server.EFORBIDDEN},
		{"ErrRequesterCloses", server.FollowUpActionClose, admin, requestedByAdmin, server.EFORBIDDEN},
		{"OtherAdminClosesAdminsRequest", server.FollowUpActionClose, admin2, requestedByAdmin, ""},
		{"ErrAssignedAdminCloses", server.FollowUpActionClose, admin, adminAssigned, server.EFORBIDDEN},
		{"ErrOtherDepartmentAdminCloses", server.FollowUpActionClose, adminB, requestedByA1, server.EFORBIDDEN},
		{"ErrCoordinatorCloses", server.FollowUpActionClose, coord, requestedByA1, server.EFORBIDDEN},
		{"ErrPlatformAdminCloses", server.FollowUpActionClose, root, requestedByA1, server.EFORBIDDEN},

		{"SecondPersonRefuses", server.FollowUpActionRefuse, admin, requestedByA1, ""},
		{"ErrRequesterRefuses", server.FollowUpActionRefuse, admin, requestedByAdmin, server.EFORBIDDEN},
		{"ErrAssigneeRefuses", server.FollowUpActionRefuse, a1, requestedByA1, server.EFORBIDDEN},

		{"ErrUnknownAction", "reopen", admin, assignedA1, server.EINVALID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := server.CheckFollowUpActor(tt.action, tt.actor, tt.f)
			if tt.want == "" && err != nil || tt.want != "" && server.ErrorCode(err) != tt.want {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCheckFollowUpAssignee(t *testing.T) {
	deptA, deptB := int64(1), int64(2)
	in := int64(5)
	for _, tt := range []struct {
		name string
		u    *server.User
		ok   bool
	}{
		{"Inspector", &server.User{Role: server.RoleInspector, DepartmentID: &deptA, InspectorID: &in}, true},
		{"Admin", &server.User{Role: server.RoleDepartmentAdmin, DepartmentID: &deptA}, true},
		{"ErrDisabled", &server.User{Role: server.RoleInspector, DepartmentID: &deptA, InspectorID: &in, Disabled: true}, false},
		{"ErrOtherDepartment", &server.User{Role: server.RoleInspector, DepartmentID: &deptB, InspectorID: &in}, false},
		{"ErrCoordinator", &server.User{Role: server.RoleLeadCoordinator, DepartmentID: &deptA}, false},
		{"ErrPlatformAdmin", &server.User{Role: server.RolePlatformAdmin}, false},
		{"ErrNobody", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := server.CheckFollowUpAssignee(tt.u, deptA)
			if tt.ok != (err == nil) || !tt.ok && server.ErrorCode(err) != server.EINVALID {
				t.Fatalf("got %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestFollowUpEntryAndState(t *testing.T) {
	good := strings.Repeat("a", 64)
	for _, tt := range []struct {
		name     string
		e        server.FollowUpEntry
		needText bool
		ok       bool
	}{
		{"Text", server.FollowUpEntry{Text: "已责令改正"}, true, true},
		{"NoTextOptional", server.FollowUpEntry{}, false, true},
		{"Evidence", server.FollowUpEntry{Text: "x", Evidence: []string{good}}, true, true},
		{"ErrBlankText", server.FollowUpEntry{Text: "  "}, true, false},
		{"ErrLongText", server.FollowUpEntry{Text: strings.Repeat("字", 2001)}, false, false},
		{"ErrBadHash", server.FollowUpEntry{Text: "x", Evidence: []string{"abc"}}, true, false},
		{"ErrTooMuchEvidence", server.FollowUpEntry{Text: "x", Evidence: make([]string, server.MaxFollowUpEvidence+1)}, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.e.Validate(tt.needText)
			if tt.ok != (err == nil) || !tt.ok && server.ErrorCode(err) != server.EINVALID {
				t.Fatalf("got %v, want ok=%v", err, tt.ok)
			}
		})
	}
	for _, tt := range []struct {
		states []string
		want   string
	}{
		{nil, syncproto.FollowUpNone},
		{[]string{server.FollowUpStateOpen}, syncproto.FollowUpOpen},
		{[]string{server.FollowUpStateClosed, server.FollowUpStateClosureRequested}, syncproto.FollowUpOpen},
		{[]string{server.FollowUpStateClosed, server.FollowUpStateClosed}, syncproto.FollowUpClosed},
	} {
		if got := server.FollowUpState(tt.states); got != tt.want {
			t.Errorf("FollowUpState(%v) = %q, want %q", tt.states, got, tt.want)
		}
	}
}
