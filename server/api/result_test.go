package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// resultFixture is a joint campaign of departments A and B with one team
// holding insp-a1, insp-a2, insp-b1 and insp-b2, over n packets: each test
// case takes its own packet.
type resultFixture struct {
	h      *apptest.Harness
	is     *apptest.Issued
	dev    map[string]*fieldDevice
	tokens map[string]string
	next   int
}

func newResultFixture(t *testing.T, h *apptest.Harness, n int) *resultFixture {
	t.Helper()
	is := h.IssueCampaign(t, apptest.CampaignSpec{Cafes: n, TargetsPerTeam: n, InspectorsPerDepartment: 2})
	if len(is.Teams) != 1 || len(is.Packets) != n {
		t.Fatalf("want one team over %d packets, got %d teams, %d packets", n, len(is.Teams), len(is.Packets))
	}
	// An inspector of department A who is not on the team.
	h.AddInspector(t, h.DeptA, "insp-a3")
	f := &resultFixture{h: h, is: is, dev: map[string]*fieldDevice{}, tokens: map[string]string{}}
	for _, u := range []string{"insp-a1", "insp-a2", "insp-b1"} {
		f.dev[u] = newFieldDevice(t, h, u)
	}
	return f
}

func (f *resultFixture) token(t *testing.T, who string) string {
	if f.tokens[who] == "" {
		f.tokens[who] = f.h.Token(t, who)
	}
	return f.tokens[who]
}

// visitDay is the device time of the closes: 2026-11-02 10:00 in Shanghai.
var visitDay = time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC)

// packet takes the next packet and seals both sections on it: A's with
// every item non-compliant (with a note), B's compliant. closes says how
// the visit is closed: "one" covering both, "two" (two devices offline),
// "b-only" covering only B's section, "none".
func (f *resultFixture) packet(t *testing.T, closes string) *server.Packet {
	t.Helper()
	p := f.is.Packets[f.next]
	f.next++
	a, b := f.dev["insp-a1"], f.dev["insp-b1"]
	recA := a.section(p, f.h.DeptA.Code, 1, syncproto.ResultNonCompliant)
	for i := range recA.Answers {
		recA.Answers[i].Note = "未在显著位置悬挂网络文化经营许可证"
	}
	sa, sb := a.seal(t, recA, a.Key), b.seal(t, b.section(p, f.h.DeptB.Code, 1, syncproto.ResultCompliant), b.Key)
	for _, m := range []struct {
		d *fieldDevice
		m syncproto.Mutation
	}{{a, sa}, {b, sb}} {
		if r := m.d.push(t, m.m); r.Results[0].Status != syncproto.StatusApplied {
			t.Fatalf("seal: %+v", r.Results)
		}
	}
	closeBy := func(d *fieldDevice, covers ...syncproto.SectionRef) {
		rec := d.notLocatable(p.ID, covers...)
		rec.ClosedAt = visitDay
		if r := d.push(t, d.sealClose(t, rec, d.Key)); r.Results[0].Status != syncproto.StatusApplied {
			t.Fatalf("close: %+v", r.Results)
		}
	}
	switch closes {
	case "one":
		closeBy(a, ref(sa), ref(sb))
	case "two":
		closeBy(a, ref(sa), ref(sb))
		closeBy(b, ref(sa), ref(sb))
	case "b-only":
		closeBy(b, ref(sb))
	}
	return p
}

// resultOf returns department A's result on p, as root sees it.
func (f *resultFixture) resultOf(t *testing.T, p *server.Packet) syncproto.Result {
	t.Helper()
	var list syncproto.ResultList
	f.h.MustDo(t, "GET", "/v1/results?packet_id="+p.ID, f.token(t, "root"), nil, http.StatusOK, &list)
	for _, r := range list.Results {
		if r.Department == f.h.DeptA.Code {
			return r
		}
	}
	t.Fatalf("no result of department A on %s: %+v", p.ID, list.Results)
	return syncproto.Result{}
}

// act sends one transition and returns the status and the result.
func (f *resultFixture) act(t *testing.T, id int64, who, action string, body any) (int, syncproto.Result, string) {
	t.Helper()
	r := f.h.Do(t, "POST", fmt.Sprintf("/v1/results/%d/%s", id, action), f.token(t, who), body)
	var out syncproto.Result
	if r.Status == http.StatusOK {
		if err := json.Unmarshal(r.Body, &out); err != nil {
			t.Fatal(err)
		}
	}
	return r.Status, out, string(r.Body)
}

type resultStep struct {
	who, action string
	body        any
	want        int
}

func entry(code string, forUser *server.Inspector) map[string]any {
	b := map[string]any{"code": code, "summary": "现场未悬挂许可证，已拍照"}
	if forUser != nil {
		b["entered_for"] = forUser.ID
	}
	return b
}

// TestResultTransitions tries every allowed and every refused transition of
// the result state machine through the HTTP API, with who may take each:
// enterer = reviewer, reviewers of another department, coordinators and
// platform admins are refused.
func TestResultTransitions(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		a2 := h.Inspectors["insp-a2"]
		enterA1 := resultStep{"insp-a1", "enter", entry(server.ResultCodePendingFollowUp, nil), 200}
		enterForA2 := resultStep{"admin-a", "enter", entry(server.ResultCodePendingFollowUp, a2), 200}
		ret := func(who string, want int) resultStep {
			return resultStep{who, "return", map[string]string{"reason": "请补充整改期限"}, want}
		}
		approve := func(who string, want int) resultStep {
			return resultStep{who, "approve", map[string]any{"resolutions": []any{}}, want}
		}
		cases := []struct {
			name  string
			steps []resultStep
			state string
		}{
			// Allowed.
			{"DraftEnterByInspectorOnTeam", []resultStep{enterA1}, syncproto.ResultEntered},
			{"DraftEnterByAdminOnBehalf", []resultStep{enterForA2}, syncproto.ResultEntered},
			{"EnteredReturnByAdmin", []resultStep{enterA1, ret("admin-a", 200)}, syncproto.ResultReturned},
			{"EnteredReturnByTeammate", []resultStep{enterA1, ret("insp-a2", 200)}, syncproto.ResultReturned},
			{"ReturnedEnterAgain", []resultStep{enterA1, ret("admin-a", 200), enterA1}, syncproto.ResultEntered},
			{"EnteredApproveByAdmin", []resultStep{enterA1, approve("admin-a", 200)}, syncproto.ResultApproved},
			{"EnteredApproveByTeammate", []resultStep{enterA1, approve("insp-a2", 200)}, syncproto.ResultApproved},
			{"AdminEntryApprovedByInspector", []resultStep{enterForA2, approve("insp-a1", 200)}, syncproto.ResultApproved},
			// Not in the machine.
			{"ErrDraftReturn", []resultStep{ret("admin-a", 409)}, syncproto.ResultDraft},
			{"ErrDraftApprove", []resultStep{approve("admin-a", 409)}, syncproto.ResultDraft},
			{"ErrEnteredEnter", []resultStep{enterA1, {"insp-a1", "enter", entry(server.ResultCodeNoProblem, nil), 409}}, syncproto.ResultEntered},
			{"ErrReturnedReturn", []resultStep{enterA1, ret("admin-a", 200), ret("admin-a", 409)}, syncproto.ResultReturned},
			{"ErrReturnedApprove", []resultStep{enterA1, ret("admin-a", 200), approve("admin-a", 409)}, syncproto.ResultReturned},
			{"ErrApprovedAnything", []resultStep{enterA1, approve("admin-a", 200),
				{"insp-a1", "enter", entry(server.ResultCodeNoProblem, nil), 409}, ret("insp-a2", 409), approve("insp-a2", 409)}, syncproto.ResultApproved},
			// Who may not.
			{"ErrEntererReviews", []resultStep{enterA1, approve("insp-a1", 403), ret("insp-a1", 403)}, syncproto.ResultEntered},
			{"ErrAdminEntererReviews", []resultStep{enterForA2, approve("admin-a", 403), ret("admin-a", 403)}, syncproto.ResultEntered},
			{"ErrEnteredForReviews", []resultStep{enterForA2, approve("insp-a2", 403), ret("insp-a2", 403)}, syncproto.ResultEntered},
			{"ErrOtherDepartmentReviewers", []resultStep{enterA1, approve("admin-b", 404), approve("insp-b1", 404), ret("insp-b1", 404)}, syncproto.ResultEntered},
			{"ErrOffTeamInspector", []resultStep{{"insp-a3", "enter", entry(server.ResultCodeNoProblem, nil), 404}, enterA1, approve("insp-a3", 404)}, syncproto.ResultEntered},
			{"ErrCoordinatorAndPlatform", []resultStep{{"coord-a", "enter", entry(server.ResultCodeNoProblem, nil), 403},
				{"root", "enter", entry(server.ResultCodeNoProblem, a2), 403}, enterA1, approve("coord-a", 403), approve("root", 403), ret("root", 403)}, syncproto.ResultEntered},
			{"ErrOtherDepartmentEnters", []resultStep{{"insp-b1", "enter", entry(server.ResultCodeNoProblem, nil), 404},
				{"admin-b", "enter", entry(server.ResultCodeNoProblem, a2), 404}}, syncproto.ResultDraft},
			{"ErrInspectorEntersForAnother", []resultStep{{"insp-a1", "enter", entry(server.ResultCodeNoProblem, a2), 403}}, syncproto.ResultDraft},
			// Bad bodies.
			{"ErrAdminEntersForNobody", []resultStep{{"admin-a", "enter", entry(server.ResultCodeNoProblem, nil), 400},
				{"admin-a", "enter", entry(server.ResultCodeNoProblem, h.Inspectors["insp-a3"]), 400}}, syncproto.ResultDraft},
			{"ErrUnknownCode", []resultStep{{"insp-a1", "enter", entry("no_such_code", nil), 400}}, syncproto.ResultDraft},
			{"ErrReturnWithoutReason", []resultStep{enterA1, {"admin-a", "return", map[string]string{"reason": "  "}, 400}}, syncproto.ResultEntered},
		}
		f := newResultFixture(t, h, len(cases)+1)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				id := f.resultOf(t, f.packet(t, "one")).ID
				for i, s := range tc.steps {
					if got, _, body := f.act(t, id, s.who, s.action, s.body); got != s.want {
						t.Fatalf("step %d: %s %s: status %d, want %d: %s", i, s.who, s.action, got, s.want, body)
					}
				}
				var r syncproto.Result
				h.MustDo(t, "GET", fmt.Sprintf("/v1/results/%d", id), f.token(t, "root"), nil, http.StatusOK, &r)
				if r.State != tc.state {
					t.Fatalf("state %s, want %s", r.State, tc.state)
				}
			})
		}

		t.Run("RecordsWhoEnteredForWhom", func(t *testing.T) {
			id := f.resultOf(t, f.packet(t, "one")).ID
			_, r, _ := f.act(t, id, "admin-a", "enter", entry(server.ResultCodePendingFollowUp, a2))
			if r.EnteredBy == nil || *r.EnteredBy != h.Users["admin-a"].ID || r.EnteredFor == nil || *r.EnteredFor != a2.ID {
				t.Fatalf("entered_by %v entered_for %v, want admin-a for insp-a2", r.EnteredBy, r.EnteredFor)
			}
		})
	})
}

// TestResultDraft: the draft follows the sealed section (findings with
// notes, the close's outcome, a suggested code) and is seen by the team's
// inspectors of its own department only.
func TestResultDraft(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newResultFixture(t, h, 2)
		p := f.packet(t, "one")
		r := f.resultOf(t, p)
		if r.State != syncproto.ResultDraft || r.SectionVersion != 1 || len(r.Findings) != len(p.Content.Sections[0].Items) {
			t.Fatalf("draft: %+v", r)
		}
		if r.Findings[0].Note == "" || r.Findings[0].Title == "" || r.Outcomes[0] != syncproto.OutcomeNotLocatable ||
			r.SuggestedCode != server.ResultCodeNotLocatable || r.FollowUp != syncproto.FollowUpNone {
			t.Fatalf("draft content: %+v", r)
		}
		if r.VisitDate != "2026-11-02" || r.EntryDue == nil || r.EntryDue.Format(time.RFC3339) != "2026-11-05T23:59:59+08:00" {
			t.Fatalf("visit %s, entry due %v; want 2026-11-02 and the end of 2026-11-05 in +08:00", r.VisitDate, r.EntryDue)
		}
		// B's draft: compliant, so no finding; B's own people see it, A's inspectors do not.
		var list syncproto.ResultList
		h.MustDo(t, "GET", "/v1/results?packet_id="+p.ID, f.token(t, "insp-b1"), nil, http.StatusOK, &list)
		if len(list.Results) != 1 || list.Results[0].Department != h.DeptB.Code || len(list.Results[0].Findings) != 0 {
			t.Fatalf("insp-b1 sees %+v", list.Results)
		}
		h.MustDo(t, "GET", "/v1/results?packet_id="+p.ID, f.token(t, "insp-a3"), nil, http.StatusOK, &list)
		if len(list.Results) != 0 {
			t.Fatalf("an inspector off the team sees %+v", list.Results)
		}
		// The field record stays as sealed: entry changes nothing in it.
		var before, after syncproto.JointRecord
		h.MustDo(t, "GET", "/v1/packets/"+p.ID+"/record", f.token(t, "root"), nil, http.StatusOK, &before)
		if s, _, body := f.act(t, r.ID, "insp-a1", "enter", entry(server.ResultCodeNoProblem, nil)); s != 200 {
			t.Fatal(body)
		}
		h.MustDo(t, "GET", "/v1/packets/"+p.ID+"/record", f.token(t, "root"), nil, http.StatusOK, &after)
		b1, _ := json.Marshal(before)
		b2, _ := json.Marshal(after)
		if string(b1) != string(b2) {
			t.Fatal("entry changed the joint record")
		}
	})
}

// TestResultResolutions: two closes, a section no close covers, or no
// close must each be resolved with a reason before approval; the
// resolutions are kept with the result.
func TestResultResolutions(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newResultFixture(t, h, 4)
		for _, tc := range []struct {
			closes string
			flag   syncproto.ResultResolution
		}{
			{"two", syncproto.ResultResolution{Code: syncproto.FlagSeveralCloses, Reason: "两份结论内容一致，以先记录者为准"}},
			{"b-only", syncproto.ResultResolution{Code: syncproto.FlagSectionNotCovered, Department: h.DeptA.Code, Reason: "已电话向法定代表人核实本部门检查情况"}},
			{"none", syncproto.ResultResolution{Code: syncproto.FlagNoClose, Reason: "现场结论设备损坏，已另行书面记录"}},
		} {
			t.Run(tc.closes, func(t *testing.T) {
				id := f.resultOf(t, f.packet(t, tc.closes)).ID
				if s, _, body := f.act(t, id, "insp-a1", "enter", entry(server.ResultCodePendingFollowUp, nil)); s != 200 {
					t.Fatal(body)
				}
				if s, _, body := f.act(t, id, "admin-a", "approve", map[string]any{}); s != http.StatusBadRequest {
					t.Fatalf("approve without resolving %s: %d %s", tc.flag.Code, s, body)
				}
				noReason := tc.flag
				noReason.Reason = ""
				if s, _, body := f.act(t, id, "admin-a", "approve", map[string]any{"resolutions": []any{noReason}}); s != http.StatusBadRequest {
					t.Fatalf("approve with an empty reason: %d %s", s, body)
				}
				s, r, body := f.act(t, id, "admin-a", "approve", map[string]any{"resolutions": []any{tc.flag}})
				if s != 200 {
					t.Fatalf("approve resolving %s: %d %s", tc.flag.Code, s, body)
				}
				if len(r.Resolutions) != 1 || r.Resolutions[0] != tc.flag || r.State != syncproto.ResultApproved {
					t.Fatalf("resolutions %+v", r.Resolutions)
				}
			})
		}
	})
}

// TestResultCorrection: a correction (a new sealed version) is followed by
// a draft; an entered result based on the older version is flagged and
// cannot be approved until returned and entered again; an approved one is
// flagged.
func TestResultCorrection(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newResultFixture(t, h, 2)
		a := f.dev["insp-a1"]
		correct := func(p *server.Packet, version int) {
			rec := a.section(p, h.DeptA.Code, version, syncproto.ResultCompliant)
			if r := a.push(t, a.seal(t, rec, a.Key)); r.Results[0].Status != syncproto.StatusApplied {
				t.Fatalf("correction: %+v", r.Results)
			}
		}
		hasFlag := func(r syncproto.Result, code string) bool {
			return slices.ContainsFunc(r.Flags, func(f syncproto.RecordFlag) bool { return f.Code == code })
		}

		p := f.packet(t, "one")
		id := f.resultOf(t, p).ID
		if s, _, body := f.act(t, id, "insp-a1", "enter", entry(server.ResultCodePendingFollowUp, nil)); s != 200 {
			t.Fatal(body)
		}
		correct(p, 2)
		r := f.resultOf(t, p)
		if r.SectionVersion != 1 || r.CurrentSectionVersion != 2 || !hasFlag(r, syncproto.FlagBasedOnOlderVersion) || len(r.Findings) == 0 {
			t.Fatalf("entered from v1 after a v2: %+v", r)
		}
		resolve := map[string]any{"resolutions": []any{syncproto.ResultResolution{Code: syncproto.FlagSectionNotCovered, Department: h.DeptA.Code, Reason: "更正版本已经企业确认"}}}
		if s, _, body := f.act(t, id, "admin-a", "approve", resolve); s != http.StatusConflict {
			t.Fatalf("approve a result based on a replaced version: %d %s", s, body)
		}
		if s, _, body := f.act(t, id, "admin-a", "return", map[string]string{"reason": "现场记录已更正，请按第2版重新录入"}); s != 200 {
			t.Fatal(body)
		}
		r = f.resultOf(t, p)
		if r.SectionVersion != 2 || len(r.Findings) != 0 || r.SuggestedCode != server.ResultCodeNotLocatable || hasFlag(r, syncproto.FlagBasedOnOlderVersion) {
			t.Fatalf("a returned result follows the correction: %+v", r)
		}
		if s, _, body := f.act(t, id, "insp-a1", "enter", entry(server.ResultCodeNotLocatable, nil)); s != 200 {
			t.Fatal(body)
		}
		s, r, body := f.act(t, id, "admin-a", "approve", resolve)
		if s != 200 || r.SectionVersion != 2 {
			t.Fatalf("approve the re-entered result: %d %s", s, body)
		}
		correct(p, 3)
		r = f.resultOf(t, p)
		if r.State != syncproto.ResultApproved || r.SectionVersion != 2 || r.CurrentSectionVersion != 3 || !hasFlag(r, syncproto.FlagBasedOnOlderVersion) {
			t.Fatalf("approved, then corrected: %+v", r)
		}
	})
}

// TestResultReturnReachesEnterer: the enterer reads the return's reason in
// their own list.
func TestResultReturnReachesEnterer(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newResultFixture(t, h, 1)
		id := f.resultOf(t, f.packet(t, "one")).ID
		f.act(t, id, "insp-a1", "enter", entry(server.ResultCodePendingFollowUp, nil))
		f.act(t, id, "insp-a2", "return", map[string]string{"reason": "请补充整改期限"})
		var list syncproto.ResultList
		h.MustDo(t, "GET", syncproto.PathResults, f.token(t, "insp-a1"), nil, http.StatusOK, &list)
		if len(list.Results) != 1 || list.Results[0].State != syncproto.ResultReturned || list.Results[0].ReturnReason != "请补充整改期限" {
			t.Fatalf("insp-a1's results: %+v", list.Results)
		}
	})
}

// setClock sets the server clock to t.
func setClock(h *apptest.Harness, t time.Time) { h.Advance(t.Sub(h.Now())) }

// setClock moves the clock forward to at; everyone signs in again.
func (f *resultFixture) setClock(t *testing.T, at time.Time) {
	if at.Before(f.h.Now()) {
		t.Fatalf("the clock goes back to %s", at)
	}
	setClock(f.h, at)
	f.tokens = map[string]string{}
}

// TestResultsOverdue counts deadlines on the working-day calendar across
// National Day 2026 and its make-up working days (调休: Sunday 2026-09-20
// and Saturday 2026-10-10 are working days, 10-01..10-07 are not), lists
// them to the department admin and the lead coordinator, and follows the
// campaign's setting.
func TestResultsOverdue(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		sh := time.FixedZone("+08:00", 8*3600)
		// The clock only goes forward from the campaign's start, before anyone signs in.
		setClock(h, time.Date(2026, 9, 15, 9, 0, 0, 0, sh))
		f := newResultFixture(t, h, 2)
		// Packet 1: visited on Wednesday 2026-09-30, not entered.
		visitDay = time.Date(2026, 9, 30, 10, 0, 0, 0, sh)
		defer func() { visitDay = time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC) }()
		late := f.resultOf(t, f.packet(t, "one"))
		// Packet 2: approved on Friday 2026-09-18.
		visitDay = time.Date(2026, 9, 17, 10, 0, 0, 0, sh)
		done := f.resultOf(t, f.packet(t, "one"))
		f.setClock(t, time.Date(2026, 9, 18, 9, 0, 0, 0, sh))
		if s, _, body := f.act(t, done.ID, "insp-a1", "enter", entry(server.ResultCodeNotLocatable, nil)); s != 200 {
			t.Fatal(body)
		}
		s, approved, body := f.act(t, done.ID, "admin-a", "approve", map[string]any{})
		if s != 200 {
			t.Fatal(body)
		}
		// 3 working days after 09-30: 10-08, 10-09 and the make-up Saturday 10-10.
		if got := f.resultOf(t, f.packet0(late)).EntryDue.Format(time.RFC3339); got != "2026-10-10T23:59:59+08:00" {
			t.Fatalf("entry due %s, want the end of 2026-10-10", got)
		}
		// 20 working days after 09-18, with 09-20 worked and 09-25..27 and 10-01..07 off: 10-22.
		if got := approved.PublicationDue.Format(time.RFC3339); got != "2026-10-22T23:59:59+08:00" {
			t.Fatalf("publication due %s, want the end of 2026-10-22", got)
		}

		overdue := func(who string) server.OverdueResults {
			var o server.OverdueResults
			h.MustDo(t, "GET", "/v1/results/overdue", f.token(t, who), nil, http.StatusOK, &o)
			return o
		}
		ids := func(os []server.OverdueResult) []int64 {
			var out []int64
			for _, o := range os {
				if o.Result.Department == h.DeptA.Code {
					out = append(out, o.Result.ID)
				}
			}
			return out
		}
		f.setClock(t, time.Date(2026, 10, 10, 23, 59, 0, 0, sh))
		if o := overdue("admin-a"); len(ids(o.EntryOverdue)) != 0 || len(o.PublicationOverdue) != 0 {
			t.Fatalf("on the due day nothing is overdue: %+v", o)
		}
		f.setClock(t, time.Date(2026, 10, 11, 0, 0, 1, 0, sh))
		for _, who := range []string{"admin-a", "coord-a", "root"} {
			o := overdue(who)
			if !slices.Equal(ids(o.EntryOverdue), []int64{late.ID}) || len(o.PublicationOverdue) != 0 {
				t.Fatalf("%s after the entry due day: %+v", who, o)
			}
			if o.Now.Format(time.RFC3339) != "2026-10-11T00:00:01+08:00" || o.EntryOverdue[0].Due.Format(time.RFC3339) != "2026-10-10T23:59:59+08:00" {
				t.Fatalf("times are not shown in +08:00: now %s, due %s", o.Now.Format(time.RFC3339), o.EntryOverdue[0].Due.Format(time.RFC3339))
			}
		}
		// Department B's admin, and B's coordinator (B does not lead this
		// campaign), see only B's late drafts; inspectors see no overdue list.
		for _, who := range []string{"admin-b", "coord-b"} {
			o := overdue(who)
			if len(o.EntryOverdue) == 0 {
				t.Fatalf("%s sees no overdue B draft", who)
			}
			for _, o := range o.EntryOverdue {
				if o.Result.Department != h.DeptB.Code {
					t.Fatalf("%s sees %+v", who, o.Result)
				}
			}
		}
		if r := h.Do(t, "GET", "/v1/results/overdue", f.token(t, "insp-a1"), nil); r.Status != http.StatusForbidden {
			t.Fatalf("an inspector reads the overdue list: %d", r.Status)
		}
		f.setClock(t, time.Date(2026, 10, 22, 23, 0, 0, 0, sh))
		if o := overdue("coord-a"); len(o.PublicationOverdue) != 0 {
			t.Fatalf("publication not overdue on its due day: %+v", o.PublicationOverdue)
		}
		f.setClock(t, time.Date(2026, 10, 23, 0, 0, 1, 0, sh))
		if o := overdue("coord-a"); !slices.Equal(ids(o.PublicationOverdue), []int64{done.ID}) {
			t.Fatalf("publication overdue after 10-22: %+v", o.PublicationOverdue)
		}

		// The campaign's setting: 1 working day for entry is due 10-08.
		path := fmt.Sprintf("/v1/campaigns/%d/result-deadlines", f.is.Campaign.ID)
		var d server.ResultDeadlines
		h.MustDo(t, "GET", path, f.token(t, "admin-a"), nil, http.StatusOK, &d)
		if d.EntryWorkingDays != 3 || d.PublicationWorkingDays != 20 {
			t.Fatalf("defaults %+v", d)
		}
		h.MustDo(t, "PATCH", path, f.token(t, "coord-a"), map[string]int{"entry_working_days": 1}, http.StatusOK, &d)
		if d.EntryWorkingDays != 1 || d.PublicationWorkingDays != 20 {
			t.Fatalf("after PATCH %+v", d)
		}
		h.MustDo(t, "PATCH", path, f.token(t, "coord-a"), map[string]int{"entry_working_days": 0}, http.StatusBadRequest, nil)
		h.MustDo(t, "PATCH", path, f.token(t, "coord-b"), map[string]int{"entry_working_days": 5}, http.StatusForbidden, nil)
		if got := f.resultOf(t, f.packet0(late)).EntryDue.Format(time.DateOnly); got != "2026-10-08" {
			t.Fatalf("entry due with 1 working day: %s", got)
		}
	})
}

// packet0 is the packet of a result.
func (f *resultFixture) packet0(r syncproto.Result) *server.Packet {
	for _, p := range f.is.Packets {
		if p.ID == r.PacketID {
			return p
		}
	}
	return nil
}

// TestEnterpriseInspections: approved results, and only those, attach to
// the enterprise's record with department, date, code and follow-up state.
func TestEnterpriseInspections(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newResultFixture(t, h, 1)
		p := f.packet(t, "one")
		r := f.resultOf(t, p)
		path := fmt.Sprintf("/v1/enterprises/%d/inspections", p.EnterpriseID)
		var rec struct {
			Inspections []server.EnterpriseInspection `json:"inspections"`
		}
		h.MustDo(t, "GET", path, f.token(t, "admin-b"), nil, http.StatusOK, &rec)
		if len(rec.Inspections) != 0 {
			t.Fatalf("drafts in the record: %+v", rec.Inspections)
		}
		f.act(t, r.ID, "insp-a1", "enter", entry(server.ResultCodeNotLocatable, nil))
		if s, _, body := f.act(t, r.ID, "insp-a2", "approve", map[string]any{}); s != 200 {
			t.Fatal(body)
		}
		h.MustDo(t, "GET", path, f.token(t, "admin-b"), nil, http.StatusOK, &rec)
		if len(rec.Inspections) != 1 {
			t.Fatalf("record %+v", rec.Inspections)
		}
		got := rec.Inspections[0]
		if got.ResultID != r.ID || got.Department != h.DeptA.Code || got.DepartmentName != h.DeptA.Name || got.VisitDate != "2026-11-02" ||
			got.Code != server.ResultCodeNotLocatable || got.CodeTitle != "通过登记的住所（经营场所）无法联系" || got.FollowUp != "none" ||
			got.CampaignID != f.is.Campaign.ID {
			t.Fatalf("inspection %+v", got)
		}
		h.MustDo(t, "GET", "/v1/enterprises/999999/inspections", f.token(t, "admin-b"), nil, http.StatusNotFound, nil)
	})
}

// TestResultCodes: the shipped catalogue; platform admins add codes and
// edit titles; a code cannot be added twice.
func TestResultCodes(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		root, insp := h.Token(t, "root"), h.Token(t, "insp-a1")
		var cat struct {
			Codes []server.ResultCode `json:"codes"`
		}
		h.MustDo(t, "GET", "/v1/result-codes", insp, nil, http.StatusOK, &cat)
		want := []string{"未发现问题", "未按规定公示应当公示的信息", "公示信息隐瞒真实情况、弄虚作假", "通过登记的住所（经营场所）无法联系",
			"发现问题已责令改正", "发现问题待后续处理", "不配合检查情节严重", "未发现开展本次抽查涉及的经营活动"}
		var titles []string
		for _, c := range cat.Codes {
			titles = append(titles, c.Title)
			if c.NotLocatable != (c.Code == server.ResultCodeNotLocatable) {
				t.Errorf("%s not_locatable=%v", c.Code, c.NotLocatable)
			}
		}
		if !slices.Equal(titles, want) {
			t.Fatalf("catalogue %v", titles)
		}
		problems := map[string]bool{}
		for _, c := range cat.Codes {
			problems[c.Code] = c.ProblemsFound
		}
		if problems[server.ResultCodeNoProblem] || !problems[server.ResultCodePendingFollowUp] || !problems[server.ResultCodeNotDisclosed] {
			t.Fatalf("problems_found %v", problems)
		}
		add := map[string]any{"code": "licence_expired", "title": "许可证过期仍经营", "problems_found": true}
		h.MustDo(t, "POST", "/v1/result-codes", insp, add, http.StatusForbidden, nil)
		var c server.ResultCode
		h.MustDo(t, "POST", "/v1/result-codes", root, add, http.StatusCreated, &c)
		if c.Position != 9 || !c.ProblemsFound {
			t.Fatalf("added %+v", c)
		}
		h.MustDo(t, "POST", "/v1/result-codes", root, add, http.StatusConflict, nil)
		h.MustDo(t, "POST", "/v1/result-codes", root, map[string]any{"code": "Bad Code", "title": "x"}, http.StatusBadRequest, nil)
		h.MustDo(t, "PATCH", "/v1/result-codes/no_problem", root, map[string]string{"title": "未发现问题（正常）"}, http.StatusOK, &c)
		if c.Code != "no_problem" || c.Title != "未发现问题（正常）" {
			t.Fatalf("retitled %+v", c)
		}
		h.MustDo(t, "PATCH", "/v1/result-codes/no_such", root, map[string]string{"title": "x"}, http.StatusNotFound, nil)
		h.MustDo(t, "PATCH", "/v1/result-codes/no_problem", root, map[string]string{"title": ""}, http.StatusBadRequest, nil)
	})
}
