package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// The review forms without a browser: an approval must resolve each flag of
// a record without a close, with a reason, or nothing changes; an admin
// reopens an approved result, and enters one on an inspector's behalf,
// naming them; a follow-up's closure request and refusal need their
// words; the overdue lists and marks follow the
// service's; a publication with nothing to publish says so.
func TestAfterVisitForms(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		v := visitPacketClosed(t, h, false)
		culture, market := v.Results[h.DeptA.Code], v.Results[h.DeptB.Code]
		resultStep(t, h, "insp-a1", culture.ID, "enter", map[string]any{"code": "no_problem", "summary": "未发现问题"})
		path := fmt.Sprintf("/console/results/%d", culture.ID)
		state := func() syncproto.Result {
			var r syncproto.Result
			h.MustDo(t, "GET", fmt.Sprintf("/v1/results/%d", culture.ID), h.Token(t, "root"), nil, http.StatusOK, &r)
			return r
		}

		// The photo is served to the team and to nobody else: an inspector of
		// the department who was not on the team gets the 404 page, as from
		// the API; so does the result.
		h.AddInspector(t, h.DeptA, "insp-a9")
		outsider := newClient(t, h)
		outsider.login(t, "insp-a9")
		member := newClient(t, h)
		member.login(t, "insp-a1")
		photo := "/console/attachments/" + v.Photo
		if pg := member.get(t, photo); pg.Status != http.StatusOK || pg.Header.Get("Content-Type") != "image/png" || fileSHAOf([]byte(pg.Body)) != v.Photo {
			t.Errorf("the team's photo: %d %s", pg.Status, pg.Header.Get("Content-Type"))
		}
		for _, p := range []string{photo, path, "/console/packets/" + v.Packet.ID + "/record.pdf"} {
			if pg := outsider.get(t, p); pg.Status != http.StatusNotFound {
				t.Errorf("%s for an inspector not on the team: %d", p, pg.Status)
			}
		}
		if st := h.Do(t, "GET", "/v1/attachments/"+v.Photo, h.Token(t, "insp-a9"), nil).Status; st != http.StatusNotFound {
			t.Errorf("the API gives the outsider %d", st)
		}

		// The reviewer's page asks a reason for each flag the approval must resolve.
		reviewer := newClient(t, h)
		reviewer.login(t, "insp-a2")
		pg := reviewer.get(t, path)
		field := "resolution_" + syncproto.FlagNoClose
		if !strings.Contains(pg.Body, `<textarea name="`+field+`"`) {
			t.Errorf("the approval form has no field %s", field)
		}
		if !strings.Contains(pg.Body, "<strong>无检查结论</strong>：尚无检查结论（签字、拒签、缺席或无法联系）") {
			t.Errorf("the record's flag is not shown in Chinese")
		}
		// Without the reason: the form again, the error by the field, nothing changed.
		pg = reviewer.post(t, path, path+"/approve", url.Values{field: {"  "}})
		if pg.Status != http.StatusBadRequest || strings.Count(pg.Body, "请说明处理理由") != 1 {
			t.Errorf("approval without the reason: %d", pg.Status)
		}
		if r := state(); r.State != syncproto.ResultEntered {
			t.Fatalf("a refused approval changed the result: %s", r.State)
		}
		form := url.Values{field: {"法定代表人外出，电话确认检查情况"}}
		if pg = reviewer.post(t, path, path+"/approve", form); pg.Status != http.StatusSeeOther || pg.Header.Get("Location") != path {
			t.Fatalf("approval: %d %s", pg.Status, pg.Header.Get("Location"))
		}
		r := state()
		if r.State != syncproto.ResultApproved || len(r.Resolutions) != 1 || r.Resolutions[0].Code != syncproto.FlagNoClose || r.Resolutions[0].Reason != "法定代表人外出，电话确认检查情况" {
			t.Fatalf("after approval: %+v", r)
		}
		if pg = reviewer.get(t, path); !strings.Contains(pg.Body, "无检查结论：法定代表人外出，电话确认检查情况") {
			t.Errorf("the resolutions are not shown")
		}

		// The department's admin reopens it with a reason; without one, the form again.
		admin := newClient(t, h)
		admin.login(t, "admin-a")
		if pg = admin.post(t, path, path+"/reopen", url.Values{}); pg.Status != http.StatusBadRequest || !strings.Contains(pg.Body, "请填写重新打开的理由") {
			t.Errorf("reopen without a reason: %d", pg.Status)
		}
		if pg = admin.post(t, path, path+"/reopen", url.Values{"reopen_reason": {"结论应为责令改正"}}); pg.Status != http.StatusSeeOther {
			t.Fatalf("reopen: %d", pg.Status)
		}
		if r = state(); r.State != syncproto.ResultReturned || r.ReturnReason != "结论应为责令改正" {
			t.Fatalf("after reopening: %+v", r)
		}
		if pg = admin.get(t, path); !strings.Contains(pg.Body, "退回理由：结论应为责令改正") {
			t.Errorf("the reopening's reason is not shown")
		}

		// A department admin enters on behalf of an inspector of the team,
		// whom the service requires to be named.
		adminB := newClient(t, h)
		adminB.login(t, "admin-b")
		mpath := fmt.Sprintf("/console/results/%d", market.ID)
		if pg = adminB.get(t, mpath); !strings.Contains(pg.Body, `name="entered_for"`) {
			t.Errorf("the admin's entry form has no entered_for")
		}
		pg = adminB.post(t, mpath, mpath+"/enter", url.Values{"code": {"no_problem"}, "summary": {"价格公示规范"}})
		if pg.Status != http.StatusBadRequest || !strings.Contains(pg.Body, "代为录入须指明本部门参加该次检查的执法人员") || !strings.Contains(pg.Body, "价格公示规范") {
			t.Errorf("an admin's entry for nobody: %d", pg.Status)
		}
		forID := *h.Users["insp-b1"].InspectorID
		if pg = adminB.post(t, mpath, mpath+"/enter", url.Values{"code": {"problem_corrected"}, "summary": {"价格公示规范"}, "entered_for": {fmt.Sprint(forID)}}); pg.Status != http.StatusSeeOther {
			t.Fatalf("an admin's entry: %d", pg.Status)
		}
		var m syncproto.Result
		h.MustDo(t, "GET", fmt.Sprintf("/v1/results/%d", market.ID), h.Token(t, "root"), nil, http.StatusOK, &m)
		if m.State != syncproto.ResultEntered || m.EnteredFor == nil || *m.EnteredFor != forID || *m.EnteredBy != h.Users["admin-b"].ID {
			t.Fatalf("after an admin's entry: %+v", m)
		}
		if pg = adminB.get(t, mpath); !strings.Contains(pg.Body, `代<span translate="no">执法员B1</span>录入`) {
			t.Errorf("the page does not say for whom it was entered")
		}

		// Nothing approved: the coordinator's publication says so.
		coord := newClient(t, h)
		coord.login(t, "coord-a")
		pub := fmt.Sprintf("/console/campaigns/%d/publication", v.Issued.Campaign.ID)
		if pg = coord.post(t, pub, pub, url.Values{}); pg.Status != http.StatusConflict || !strings.Contains(pg.Body, "没有待公示的已复核结果") {
			t.Errorf("publication with nothing approved: %d", pg.Status)
		}

		// The market result approved with problems opens a follow-up: a
		// closure asked for without a word, and refused without a reason,
		// are the forms again; refused with one, it is back in progress.
		resultStep(t, h, "insp-b2", market.ID, "approve", map[string]any{"resolutions": []any{syncproto.ResultResolution{Code: syncproto.FlagNoClose, Reason: "无结论"}}})
		var tasks struct{ Followups []server.FollowUp }
		h.MustDo(t, "GET", fmt.Sprintf("/v1/followups?campaign_id=%d", v.Issued.Campaign.ID), h.Token(t, "admin-b"), nil, http.StatusOK, &tasks)
		if len(tasks.Followups) != 1 {
			t.Fatalf("%d follow-ups", len(tasks.Followups))
		}
		fpath := fmt.Sprintf("/console/followups/%d", tasks.Followups[0].ID)
		if pg = adminB.post(t, fpath, fpath+"/assign", url.Values{"assignee_id": {fmt.Sprint(h.Users["insp-b1"].ID)}}); pg.Status != http.StatusSeeOther {
			t.Fatalf("assign: %d", pg.Status)
		}
		assignee := newClient(t, h)
		assignee.login(t, "insp-b1")
		if pg = assignee.post(t, fpath, fpath+"/start", url.Values{}); pg.Status != http.StatusSeeOther {
			t.Fatalf("start: %d", pg.Status)
		}
		if pg = assignee.post(t, fpath, fpath+"/request-closure", url.Values{"request_text": {" "}}); pg.Status != http.StatusBadRequest || !strings.Contains(pg.Body, "请填写说明") {
			t.Errorf("a closure asked for without a word: %d", pg.Status)
		}
		if pg = assignee.post(t, fpath, fpath+"/request-closure", url.Values{"request_text": {"价格标签已更换"}}); pg.Status != http.StatusSeeOther {
			t.Fatalf("request closure: %d", pg.Status)
		}
		if pg = adminB.post(t, fpath, fpath+"/refuse", url.Values{}); pg.Status != http.StatusBadRequest || !strings.Contains(pg.Body, "请填写说明") {
			t.Errorf("a refusal without a reason: %d", pg.Status)
		}
		if pg = adminB.post(t, fpath, fpath+"/refuse", url.Values{"refuse_text": {"请补充更换后的照片"}}); pg.Status != http.StatusSeeOther {
			t.Fatalf("refuse: %d", pg.Status)
		}
		var fu server.FollowUp
		h.MustDo(t, "GET", "/v1"+strings.TrimPrefix(fpath, "/console"), h.Token(t, "admin-b"), nil, http.StatusOK, &fu)
		if fu.State != server.FollowUpStateInProgress || fu.Actions[len(fu.Actions)-1].Text != "请补充更换后的照片" {
			t.Fatalf("after the refusal: %+v", fu)
		}
		if pg = assignee.get(t, fpath); !strings.Contains(pg.Body, "退回办结申请") || !strings.Contains(pg.Body, "请补充更换后的照片") || !strings.Contains(pg.Body, "处理中") {
			t.Errorf("the task's page does not show the refusal")
		}

		// A month later both results are past their entry deadline.
		h.Advance(30 * 24 * time.Hour)
		admin = newClient(t, h)
		admin.login(t, "admin-a")
		pg = admin.get(t, fmt.Sprintf("/console/results/overdue?campaign_id=%d", v.Issued.Campaign.ID))
		var od server.OverdueResults
		h.MustDo(t, "GET", fmt.Sprintf("/v1/results/overdue?campaign_id=%d", v.Issued.Campaign.ID), h.Token(t, "admin-a"), nil, http.StatusOK, &od)
		if len(od.EntryOverdue) != 1 || od.EntryOverdue[0].Result.ID != culture.ID { // admin-a sees culture's only
			t.Fatalf("the service's entry overdue: %+v", od.EntryOverdue)
		}
		if !strings.Contains(pg.Body, "录入逾期 <span class=\"count\">共 1 条</span>") || !strings.Contains(pg.Body, fmt.Sprintf(`href="/console/results/%d"`, culture.ID)) ||
			strings.Contains(pg.Body, fmt.Sprintf(`href="/console/results/%d"`, market.ID)) {
			t.Errorf("the overdue page does not list what the service does:\n%s", pg.Body)
		}
		pg = admin.get(t, "/console/results")
		if !strings.Contains(pg.Body, "录入逾期") {
			t.Errorf("the queue has no overdue mark")
		}
	})
}
