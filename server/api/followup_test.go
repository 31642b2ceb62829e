package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/syncproto"
)

// approvedResult takes the next packet (closes as in resultFixture.packet),
// has insp-a1 enter department A's result with code and admin-a approve it,
// resolving no_close when there is no close.
func (f *resultFixture) approvedResult(t *testing.T, closes, code string) syncproto.Result {
	t.Helper()
	id := f.resultOf(t, f.packet(t, closes)).ID
	if s, _, body := f.act(t, id, "insp-a1", "enter", entry(code, nil)); s != http.StatusOK {
		t.Fatalf("enter: %d %s", s, body)
	}
	res := []any{}
	if closes == "none" {
		res = append(res, syncproto.ResultResolution{Code: syncproto.FlagNoClose, Reason: "现场结论另行书面记录"})
	}
	s, r, body := f.act(t, id, "admin-a", "approve", map[string]any{"resolutions": res})
	if s != http.StatusOK {
		t.Fatalf("approve: %d %s", s, body)
	}
	return r
}

// followUpsOf lists the tasks who sees on result id.
func (f *resultFixture) followUpsOf(t *testing.T, who string, resultID int64) []server.FollowUp {
	t.Helper()
	var list struct{ Followups []server.FollowUp }
	f.h.MustDo(t, "GET", "/v1/followups", f.token(t, who), nil, http.StatusOK, &list)
	var out []server.FollowUp
	for _, x := range list.Followups {
		if x.ResultID == resultID {
			out = append(out, x)
		}
	}
	return out
}

// fuAct sends one follow-up action and returns the status, the task and the body.
func (f *resultFixture) fuAct(t *testing.T, id int64, who, action string, body any) (int, server.FollowUp, string) {
	t.Helper()
	r := f.h.Do(t, "POST", fmt.Sprintf("/v1/followups/%d/%s", id, action), f.token(t, who), body)
	var out server.FollowUp
	if r.Status == http.StatusOK {
		if err := json.Unmarshal(r.Body, &out); err != nil {
			t.Fatal(err)
		}
	}
	return r.Status, out, string(r.Body)
}

// uploadEvidence posts content as contentType to task id's evidence.
func (f *resultFixture) uploadEvidence(t *testing.T, id int64, who, contentType string, content []byte) *apptest.Response {
	t.Helper()
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/v1/followups/%d/evidence", f.h.URL, id), bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+f.token(t, who))
	return f.h.Send(t, req)
}

// TestFollowUpLifecycle runs a task from approval to closure through the
// HTTP API: opened for the department of the findings with a due date on
// the calendar, assigned by its admin to one of its users, worked with an
// append-only log and evidence, a refused closure, then closure by a second
// person; each step audited; the result and the enterprise's record show
// the follow-up state.
func TestFollowUpLifecycle(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newResultFixture(t, h, 2)
		approvedAt := h.Now()
		r := f.approvedResult(t, "one", server.ResultCodePendingFollowUp)
		if r.FollowUp != syncproto.FollowUpOpen {
			t.Fatalf("approved result's follow_up %q, want open", r.FollowUp)
		}
		tasks := f.followUpsOf(t, "admin-a", r.ID)
		if len(tasks) != 1 {
			t.Fatalf("want one task, got %+v", tasks)
		}
		fu := tasks[0]
		due, err := h.App.Calendar.AddWorkingDays(approvedAt.In(calendar.Shanghai()), server.DefaultFollowUpWorkingDays)
		if err != nil {
			t.Fatal(err)
		}
		if fu.State != server.FollowUpStateOpen || fu.DepartmentID != h.DeptA.ID || fu.Department != h.DeptA.Code ||
			len(fu.Findings) != len(r.Findings) || len(fu.Findings) == 0 || fu.Findings[0].Note == "" ||
			fu.ResultCode != server.ResultCodePendingFollowUp || fu.AssigneeID != nil || fu.CreditCode != r.CreditCode {
			t.Fatalf("opened task: %+v", fu)
		}
		if fu.DueAt == nil || fu.DueAt.Format(time.RFC3339) != due.Format(time.RFC3339) || !strings.HasSuffix(fu.DueAt.Format(time.RFC3339), "T23:59:59+08:00") || fu.Overdue {
			t.Fatalf("due_at %v, want %v in +08:00", fu.DueAt, due)
		}
		// Department B's result on the same packet found nothing: no task for B.
		if n := len(f.followUpsOf(t, "admin-b", r.ID)); n != 0 {
			t.Fatalf("admin-b sees %d tasks of department A's result", n)
		}
		path := fmt.Sprintf("/v1/followups/%d", fu.ID)
		for who, want := range map[string]int{"coord-a": 200, "root": 200, "insp-a1": 404, "admin-b": 404, "coord-b": 404} {
			if got := h.Do(t, "GET", path, f.token(t, who), nil).Status; got != want {
				t.Errorf("GET %s as %s: %d, want %d", path, who, got, want)
			}
		}

		type step struct {
			who, action string
			body        any
			want        int
		}
		a1 := h.Users["insp-a1"].ID
		steps := []step{
			// Not in the machine yet.
			{"admin-a", "start", map[string]any{}, http.StatusConflict}, // no assignee
			{"admin-a", "request-closure", map[string]any{"text": "x"}, http.StatusConflict},
			{"admin-a", "close", map[string]any{}, http.StatusConflict},
			// Assignment: the department's admin, to a user of the department.
			{"insp-a1", "assign", map[string]any{"assignee_id": a1}, http.StatusForbidden},
			{"coord-a", "assign", map[string]any{"assignee_id": a1}, http.StatusForbidden},
			{"root", "assign", map[string]any{"assignee_id": a1}, http.StatusForbidden},
			{"admin-b", "assign", map[string]any{"assignee_id": a1}, http.StatusNotFound},
			{"admin-a", "assign", map[string]any{"assignee_id": h.Users["insp-b1"].ID}, http.StatusBadRequest},
			{"admin-a", "assign", map[string]any{"assignee_id": h.Users["coord-a"].ID}, http.StatusBadRequest},
			{"admin-a", "assign", map[string]any{"assignee_id": 999999}, http.StatusBadRequest},
			{"admin-a", "assign", map[string]any{"assignee_id": a1}, http.StatusOK},
			// The assignee works it; another inspector does not see it.
			{"insp-a2", "start", map[string]any{}, http.StatusNotFound},
			{"insp-a1", "start", map[string]any{}, http.StatusOK},
			{"insp-a1", "start", map[string]any{}, http.StatusConflict},
			{"insp-a1", "actions", map[string]any{"text": " "}, http.StatusBadRequest},
			{"insp-a1", "actions", map[string]any{"text": "已责令限期改正", "evidence": []string{strings.Repeat("ab", 32)}}, http.StatusBadRequest},
		}
		run := func(steps []step) {
			t.Helper()
			for i, s := range steps {
				if got, _, body := f.fuAct(t, fu.ID, s.who, s.action, s.body); got != s.want {
					t.Fatalf("step %d: %s %s: %d, want %d: %s", i, s.who, s.action, got, s.want, body)
				}
			}
		}
		run(steps)

		// Evidence: an image checked as field attachments are, recorded for the task.
		photo := pngBytes("整改照片", 2000)
		if r := f.uploadEvidence(t, fu.ID, "insp-a1", "text/plain", photo); r.Status != http.StatusUnsupportedMediaType {
			t.Fatalf("text/plain evidence: %d %s", r.Status, r.Body)
		}
		if r := f.uploadEvidence(t, fu.ID, "insp-a1", "image/png", []byte("<html>not a picture</html>")); r.Status < 400 || r.Status >= 500 {
			t.Fatalf("HTML as image/png: %d %s", r.Status, r.Body)
		}
		if r := f.uploadEvidence(t, fu.ID, "insp-a2", "image/png", photo); r.Status != http.StatusNotFound {
			t.Fatalf("evidence by an inspector not assigned: %d %s", r.Status, r.Body)
		}
		up := f.uploadEvidence(t, fu.ID, "insp-a1", "image/png", photo)
		var ev struct {
			SHA256 string `json:"sha256"`
			Size   int64  `json:"size"`
		}
		if up.Status != http.StatusCreated || json.Unmarshal(up.Body, &ev) != nil || ev.Size != int64(len(photo)) {
			t.Fatalf("evidence upload: %d %s", up.Status, up.Body)
		}
		got := h.Do(t, "GET", path+"/evidence?sha256="+ev.SHA256, f.token(t, "admin-a"), nil)
		if got.Status != http.StatusOK || !bytes.Equal(got.Body, photo) || got.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("evidence download: %d", got.Status)
		}
		assertUploadedHeaders(t, got, ev.SHA256[:12]+".png")
		if got := h.Do(t, "GET", path+"/evidence?sha256="+ev.SHA256, f.token(t, "admin-b"), nil); got.Status != http.StatusNotFound {
			t.Fatalf("evidence download by another department: %d", got.Status)
		}

		run([]step{
			{"insp-a1", "actions", map[string]any{"text": "已责令限期改正", "evidence": []string{ev.SHA256}}, http.StatusOK},
			{"insp-a1", "close", map[string]any{}, http.StatusForbidden},
			{"insp-a1", "request-closure", map[string]any{}, http.StatusBadRequest},
			{"insp-a1", "request-closure", map[string]any{"text": "企业已整改到位", "evidence": []string{ev.SHA256}}, http.StatusOK},
			{"insp-a1", "request-closure", map[string]any{"text": "again"}, http.StatusConflict},
			{"admin-a", "assign", map[string]any{"assignee_id": a1}, http.StatusConflict},
			{"admin-b", "close", map[string]any{}, http.StatusNotFound},
			{"admin-a", "refuse", map[string]any{}, http.StatusBadRequest},
			{"admin-a", "refuse", map[string]any{"text": "整改照片不清晰，请补充"}, http.StatusOK},
			{"admin-a", "close", map[string]any{}, http.StatusConflict},
			{"insp-a1", "request-closure", map[string]any{"text": "已补充照片", "evidence": []string{ev.SHA256}}, http.StatusOK},
			{"admin-a", "close", map[string]any{"text": "整改到位，予以办结"}, http.StatusOK},
			{"insp-a1", "actions", map[string]any{"text": "after"}, http.StatusConflict},
			{"admin-a", "refuse", map[string]any{"text": "x"}, http.StatusConflict},
		})
		if r := f.uploadEvidence(t, fu.ID, "insp-a1", "image/png", pngBytes("late", 500)); r.Status != http.StatusConflict {
			t.Fatalf("evidence on a closed task: %d %s", r.Status, r.Body)
		}

		var done server.FollowUp
		h.MustDo(t, "GET", path, f.token(t, "admin-a"), nil, http.StatusOK, &done)
		kinds := []server.FollowUpAction{}
		for _, a := range done.Actions {
			kinds = append(kinds, a.Kind)
		}
		wantKinds := []server.FollowUpAction{"assign", "start", "note", "request_closure", "refuse", "request_closure", "close"}
		if done.State != server.FollowUpStateClosed || done.ClosedBy == nil || *done.ClosedBy != h.Users["admin-a"].ID ||
			!slices.Equal(kinds, wantKinds) || !slices.Equal(done.Actions[2].Evidence, []string{ev.SHA256}) ||
			done.Actions[4].Text != "整改照片不清晰，请补充" || done.Actions[4].ToState != server.FollowUpStateInProgress {
			t.Fatalf("closed task: state %s closed_by %v log %v: %+v", done.State, done.ClosedBy, kinds, done.Actions)
		}

		// The result and the enterprise's record show it closed.
		var rv syncproto.Result
		h.MustDo(t, "GET", fmt.Sprintf("/v1/results/%d", r.ID), f.token(t, "admin-a"), nil, http.StatusOK, &rv)
		if rv.FollowUp != syncproto.FollowUpClosed {
			t.Fatalf("result follow_up %q, want closed", rv.FollowUp)
		}
		var rec struct{ Inspections []server.EnterpriseInspection }
		h.MustDo(t, "GET", fmt.Sprintf("/v1/enterprises/%d/inspections", r.EnterpriseID), f.token(t, "admin-a"), nil, http.StatusOK, &rec)
		found := false
		for _, in := range rec.Inspections {
			if in.ResultID == r.ID {
				found = true
				if in.FollowUp != syncproto.FollowUpClosed || !in.AbnormalOperationsCandidate {
					t.Fatalf("record: %+v", in)
				}
			}
		}
		if !found {
			t.Fatalf("the record lacks result %d: %+v", r.ID, rec.Inspections)
		}

		// Every state change is in the audit chain.
		var actions []string
		if err := h.App.DB.WalkAudit(context.Background(), func(e *server.AuditEvent) error {
			if e.ObjectType == "followup" && e.ObjectID == fmt.Sprint(fu.ID) {
				actions = append(actions, e.Action)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		wantAudit := []string{"followup.open", "followup.assign", "followup.start", "followup.evidence_added", "followup.action",
			"followup.request_closure", "followup.refuse_closure", "followup.request_closure", "followup.close"}
		if !slices.Equal(actions, wantAudit) {
			t.Fatalf("audit %v, want %v", actions, wantAudit)
		}
		if rep, err := h.App.DB.VerifyAudit(context.Background(), nil); err != nil || !rep.OK() {
			t.Fatalf("audit verify: %v %+v", err, rep)
		}
	})
}

// TestFollowUpSecondPerson: the one who asked for closure may not close,
// even as the department's admin; another admin of the department does.
func TestFollowUpSecondPerson(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newResultFixture(t, h, 1)
		h.AddUser(t, &server.User{Username: "admin-a2", Role: server.RoleDepartmentAdmin, DepartmentID: &h.DeptA.ID})
		r := f.approvedResult(t, "one", server.ResultCodeNotDisclosed)
		fu := f.followUpsOf(t, "admin-a", r.ID)[0]
		for i, s := range []struct {
			who, action string
			body        any
			want        int
		}{
			{"admin-a", "assign", map[string]any{"assignee_id": h.Users["admin-a"].ID}, http.StatusOK},
			{"admin-a", "start", map[string]any{}, http.StatusOK},
			{"admin-a", "request-closure", map[string]any{"text": "已公示"}, http.StatusOK},
			{"admin-a", "close", map[string]any{}, http.StatusForbidden},
			{"admin-a", "refuse", map[string]any{"text": "x"}, http.StatusForbidden},
			{"admin-a2", "close", map[string]any{"text": "核实已公示"}, http.StatusOK},
		} {
			if got, _, body := f.fuAct(t, fu.ID, s.who, s.action, s.body); got != s.want {
				t.Fatalf("step %d: %s %s: %d, want %d: %s", i, s.who, s.action, got, s.want, body)
			}
		}
	})
}

// TestFollowUpOpening: which approvals open a task and which flag the
// enterprise for the abnormal operations list review; who sees the
// candidates; overdue tasks on the calendar.
func TestFollowUpOpening(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newResultFixture(t, h, 4)
		noProblem := f.approvedResult(t, "none", server.ResultCodeNoProblem)            // neither
		notLocatable := f.approvedResult(t, "none", server.ResultCodeNotLocatable)      // flagged by its code, no task
		problemNoClose := f.approvedResult(t, "none", server.ResultCodeObstruction)     // a task, not flagged
		problemClosedNL := f.approvedResult(t, "one", server.ResultCodePendingFollowUp) // a task, flagged by the close
		for _, tc := range []struct {
			r     syncproto.Result
			tasks int
			state string
		}{
			{noProblem, 0, syncproto.FollowUpNone}, {notLocatable, 0, syncproto.FollowUpNone},
			{problemNoClose, 1, syncproto.FollowUpOpen}, {problemClosedNL, 1, syncproto.FollowUpOpen},
		} {
			if n := len(f.followUpsOf(t, "root", tc.r.ID)); n != tc.tasks || tc.r.FollowUp != tc.state {
				t.Errorf("result %s: %d tasks, follow_up %q; want %d, %q", tc.r.Code, n, tc.r.FollowUp, tc.tasks, tc.state)
			}
		}
		// An obstruction with no finding still opens its department's task, with no finding.
		if fu := f.followUpsOf(t, "root", problemNoClose.ID); len(fu) == 1 && (len(fu[0].Findings) != len(problemNoClose.Findings) || fu[0].DepartmentID != h.DeptA.ID) {
			t.Errorf("obstruction task: %+v", fu[0])
		}

		var list struct{ Candidates []server.AbnormalCandidate }
		h.MustDo(t, "GET", "/v1/abnormal-operations/candidates", f.token(t, "admin-a"), nil, http.StatusOK, &list)
		reasons := map[int64]string{}
		for _, c := range list.Candidates {
			if c.DepartmentID != h.DeptA.ID || c.CreditCode == "" {
				t.Errorf("admin-a sees candidate %+v", c)
			}
			reasons[c.ResultID] = c.Reason
		}
		if len(reasons) != 2 || reasons[notLocatable.ID] != "result_code" || reasons[problemClosedNL.ID] != "close_outcome" {
			t.Fatalf("candidates %+v", list.Candidates)
		}
		h.MustDo(t, "GET", "/v1/abnormal-operations/candidates", f.token(t, "coord-a"), nil, http.StatusOK, &list)
		if len(list.Candidates) != 2 {
			t.Fatalf("coord-a sees %d candidates, want 2", len(list.Candidates))
		}
		h.MustDo(t, "GET", "/v1/abnormal-operations/candidates", f.token(t, "admin-b"), nil, http.StatusOK, &list)
		if len(list.Candidates) != 0 {
			t.Fatalf("admin-b sees department A's candidates: %+v", list.Candidates)
		}
		if s := h.Do(t, "GET", "/v1/abnormal-operations/candidates", f.token(t, "insp-a1"), nil).Status; s != http.StatusForbidden {
			t.Fatalf("an inspector lists candidates: %d", s)
		}
		var rec struct{ Inspections []server.EnterpriseInspection }
		h.MustDo(t, "GET", fmt.Sprintf("/v1/enterprises/%d/inspections", noProblem.EnterpriseID), f.token(t, "admin-a"), nil, http.StatusOK, &rec)
		for _, in := range rec.Inspections {
			if in.ResultID == noProblem.ID && (in.AbnormalOperationsCandidate || in.FollowUp != syncproto.FollowUpNone) {
				t.Fatalf("no-problem record: %+v", in)
			}
		}

		// Overdue: nothing yet; past the due date both open tasks are.
		overdue := func() int {
			var l struct{ Followups []server.FollowUp }
			h.MustDo(t, "GET", "/v1/followups?overdue=true", f.token(t, "admin-a"), nil, http.StatusOK, &l)
			for _, x := range l.Followups {
				if !x.Overdue {
					t.Errorf("listed overdue but not: %+v", x)
				}
			}
			return len(l.Followups)
		}
		if n := overdue(); n != 0 {
			t.Fatalf("%d overdue at once", n)
		}
		h.Advance(40 * 24 * time.Hour)
		f.tokens = map[string]string{} // the old ones have expired
		if n := overdue(); n != 2 {
			t.Fatalf("%d overdue after 40 days, want 2", n)
		}
		if s := h.Do(t, "GET", "/v1/followups?overdue=maybe", f.token(t, "admin-a"), nil).Status; s != http.StatusBadRequest {
			t.Fatalf("overdue=maybe: %d", s)
		}
	})
}

// TestFollowUpDueAcrossNationalDay: the campaign's follow-up deadline
// (followup_working_days of its result deadlines) counts working days on
// the calendar: approved on 2026-09-30, 3 working days skip National Day
// (10-01..10-07) and land on the make-up Saturday 2026-10-10.
func TestFollowUpDueAcrossNationalDay(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		sh := calendar.Shanghai()
		// The clock only goes forward from the campaign's start, before anyone signs in.
		setClock(h, time.Date(2026, 9, 15, 9, 0, 0, 0, sh))
		f := newResultFixture(t, h, 1)
		path := fmt.Sprintf("/v1/campaigns/%d/result-deadlines", f.is.Campaign.ID)
		var d server.ResultDeadlines
		h.MustDo(t, "GET", path, f.token(t, "admin-a"), nil, http.StatusOK, &d)
		if d.FollowUpWorkingDays != server.DefaultFollowUpWorkingDays {
			t.Fatalf("default follow-up deadline %+v", d)
		}
		h.MustDo(t, "PATCH", path, f.token(t, "coord-a"), map[string]int{"followup_working_days": 0}, http.StatusBadRequest, nil)
		h.MustDo(t, "PATCH", path, f.token(t, "coord-a"), map[string]int{"followup_working_days": 3}, http.StatusOK, &d)
		if d.FollowUpWorkingDays != 3 || d.EntryWorkingDays != 3 || d.PublicationWorkingDays != 20 {
			t.Fatalf("after PATCH %+v", d)
		}
		id := f.resultOf(t, f.packet(t, "one")).ID // sealed while the devices' sessions last
		f.setClock(t, time.Date(2026, 9, 30, 10, 0, 0, 0, sh))
		if s, _, body := f.act(t, id, "insp-a1", "enter", entry(server.ResultCodePendingFollowUp, nil)); s != http.StatusOK {
			t.Fatalf("enter: %d %s", s, body)
		}
		s, r, body := f.act(t, id, "admin-a", "approve", map[string]any{})
		if s != http.StatusOK {
			t.Fatalf("approve: %d %s", s, body)
		}
		fu := f.followUpsOf(t, "admin-a", r.ID)
		if len(fu) != 1 || fu[0].DueAt == nil || fu[0].DueAt.Format(time.RFC3339) != "2026-10-10T23:59:59+08:00" {
			t.Fatalf("due %+v, want the end of 2026-10-10 in +08:00", fu)
		}
		f.setClock(t, time.Date(2026, 10, 10, 23, 59, 0, 0, sh))
		if fu := f.followUpsOf(t, "admin-a", r.ID); fu[0].Overdue {
			t.Fatal("overdue on its due day")
		}
		f.setClock(t, time.Date(2026, 10, 11, 0, 0, 1, 0, sh))
		if fu := f.followUpsOf(t, "admin-a", r.ID); !fu[0].Overdue {
			t.Fatal("not overdue after its due day")
		}
	})
}
