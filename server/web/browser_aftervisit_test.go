package web_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/spotcheck/spotcheck/internal/browsertest"
	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// After the visit in the browser: field data synced from the team's
// tablets; an inspector of the team enters the culture result; the
// enterer's own approval is refused; the other inspector approves after
// seeing the joint record's answers, photo and signature; the lead
// coordinator publishes and the public page shows it. Then the follow-up
// the problem opened: assigned, worked with an evidence image, closed by
// another admin.
func TestBrowser_AfterTheVisit(t *testing.T) {
	browsertest.Run(t, func(t *testing.T, h *apptest.Harness, b *browsertest.Browser) {
		v := visitPacket(t, h)
		h.AddUser(t, &server.User{Username: "admin-a2", Role: server.RoleDepartmentAdmin, DepartmentID: &h.DeptA.ID})
		culture, market := v.Results[h.DeptA.Code], v.Results[h.DeptB.Code]
		enterprise := v.Packet.Content.Enterprise
		resultPath := fmt.Sprintf("%s/console/results/%d", h.URL, culture.ID)
		// The enterer: the queue shows the draft; the result page shows the
		// joint record beside the entry form.
		ctx := signedInTab(t, b, h, "insp-a1")
		browsertest.Open(t, ctx, h.URL+"/console/results?state=draft")
		if got := browsertest.Text(t, ctx, fmt.Sprintf(`tr[data-result="%d"]`, culture.ID)); !strings.Contains(got, enterprise.Name) || !strings.Contains(got, "待录入") {
			t.Errorf("the queue's row: %q", got)
		}
		assertChinese(t, ctx)
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-result="%d"] a`, culture.ID))))
		assertRecordShown(t, ctx, v)
		if got := browsertest.Get(t, ctx, chromedp.Value(chromedp.CSS(`#enter-form select[name="code"]`))); got != culture.SuggestedCode || got != server.ResultCodePendingFollowUp {
			t.Errorf("the code offered is %q, suggested %q", got, culture.SuggestedCode)
		}
		browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(`#enter-form textarea[name="summary"]`), "现场发现接纳未成年人上网，已责令改正"))
		browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(`#enter-form select[name="code"]`), server.ResultCodePendingFollowUp))
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#enter-form button`)))
		if got := browsertest.Text(t, ctx, ".flash"); got != "结果已录入，等待复核" {
			t.Errorf("after entry: %q", got)
		}
		var r syncproto.Result
		h.MustDo(t, "GET", fmt.Sprintf("/v1/results/%d", culture.ID), h.Token(t, "admin-a"), nil, http.StatusOK, &r)
		if r.State != syncproto.ResultEntered || r.Code != server.ResultCodePendingFollowUp || r.Summary != "现场发现接纳未成年人上网，已责令改正" ||
			r.EnteredBy == nil || *r.EnteredBy != h.Users["insp-a1"].ID {
			t.Fatalf("the service holds %+v", r)
		}
		if got := browsertest.Text(t, ctx, "#result-state"); got != "待复核" {
			t.Errorf("state shown %q", got)
		}
		if got := browsertest.Text(t, ctx, "#result-code"); got != r.CodeTitle {
			t.Errorf("code shown %q, the service's %q", got, r.CodeTitle)
		}

		// The enterer may not review: the service refuses, the page says why.
		if resp := browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#approve-form button`))); resp.Status != http.StatusForbidden {
			t.Errorf("the enterer's approval: status %d", resp.Status)
		}
		if got := browsertest.Text(t, ctx, "#approve-error"); got != "录入人不能复核自己录入的结果，须由另一人复核" {
			t.Errorf("the enterer's approval says %q", got)
		}
		assertChinese(t, ctx)
		h.MustDo(t, "GET", fmt.Sprintf("/v1/results/%d", culture.ID), h.Token(t, "admin-a"), nil, http.StatusOK, &r)
		if r.State != syncproto.ResultEntered {
			t.Fatalf("after the refused approval the result is %s", r.State)
		}

		// The other inspector of the team reviews beside the joint record
		// and approves.
		ctx = signedInTab(t, b, h, "insp-a2")
		browsertest.Open(t, ctx, resultPath)
		assertRecordShown(t, ctx, v)
		if got := browsertest.Text(t, ctx, "#result-summary"); got != r.Summary {
			t.Errorf("the summary shown %q", got)
		}
		assertChinese(t, ctx)
		// A return without a reason: the form again, with the error by the field.
		if resp := browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#return-form button`))); resp.Status != http.StatusBadRequest {
			t.Errorf("a return without a reason: status %d", resp.Status)
		}
		if got := browsertest.Text(t, ctx, `#return-form .field-error`); got != "请填写退回理由" {
			t.Errorf("a return without a reason says %q", got)
		}
		browsertest.Screenshot(t, ctx, "review")
		assertFits(t, ctx, 820, 1180)
		browsertest.Do(t, ctx, chromedp.EmulateReset())
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#approve-form button`)))
		if got := browsertest.Text(t, ctx, ".flash"); got != "复核通过" {
			t.Errorf("after approval: %q", got)
		}
		h.MustDo(t, "GET", fmt.Sprintf("/v1/results/%d", culture.ID), h.Token(t, "admin-a"), nil, http.StatusOK, &r)
		if r.State != syncproto.ResultApproved || r.ReviewedBy == nil || *r.ReviewedBy != h.Users["insp-a2"].ID {
			t.Fatalf("after approval the service holds %+v", r)
		}
		if got := browsertest.Text(t, ctx, "#result-state"); got != "已通过" {
			t.Errorf("state shown %q", got)
		}

		// The market result goes through the service: entered by one, approved by the other.
		resultStep(t, h, "insp-b1", market.ID, "enter", map[string]any{"code": market.SuggestedCode, "summary": ""})
		resultStep(t, h, "insp-b2", market.ID, "approve", map[string]any{"resolutions": []any{}})

		// The lead coordinator publishes both.
		ctx = signedInTab(t, b, h, "coord-a")
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`nav.menu a[href="/console/publication"]`)))
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/console/campaigns/%d/publication"]`, v.Issued.Campaign.ID))))
		if got := browsertest.Text(t, ctx, "#pending-count"); got != "2 条" {
			t.Errorf("pending %q", got)
		}
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#publish-form button`)))
		var pub server.PublicCampaignResults
		h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/results", v.Issued.Campaign.ID), "", nil, http.StatusOK, &pub)
		if len(pub.Publications) != 1 || len(pub.Results) != 2 {
			t.Fatalf("published: %+v", pub)
		}
		head := pub.Publications[0]
		if got, want := browsertest.Text(t, ctx, ".flash"), fmt.Sprintf("已公示 2 条结果（其中更正 0 条），公示前审计链头为第 %d 条", head.AuditSeq); got != want {
			t.Errorf("after publication: %q, want %q", got, want)
		}
		if got := browsertest.Text(t, ctx, "#publications .audit-head"); got != head.AuditHead {
			t.Errorf("audit head shown %q, published %q", got, head.AuditHead)
		}
		if got := browsertest.Text(t, ctx, "#pending-count"); got != "0 条" {
			t.Errorf("pending after publication %q", got)
		}
		assertChinese(t, ctx)
		browsertest.Screenshot(t, ctx, "publication")
		// The export, downloaded in a session of the coordinator without the browser.
		coord := newClient(t, h)
		coord.login(t, "coord-a")
		exp := coord.get(t, fmt.Sprintf("/console/campaigns/%d/publication-export?format=csv", v.Issued.Campaign.ID))
		if exp.Status != http.StatusOK || !strings.HasPrefix(exp.Header.Get("Content-Type"), "text/csv") ||
			strings.Count(exp.Body, enterprise.CreditCode) != 2 || !strings.Contains(exp.Body, r.CodeTitle) {
			t.Errorf("the export: %d %s\n%s", exp.Status, exp.Header, exp.Body)
		}
		// The public page shows it.
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/campaigns/%d/results"]`, v.Issued.Campaign.ID))))
		if got := browsertest.Text(t, ctx, "table.results tbody"); !strings.Contains(got, enterprise.Name) || !strings.Contains(got, r.CodeTitle) || !strings.Contains(got, "市文化广电旅游局") {
			t.Errorf("the public results: %q", got)
		}
		assertChinese(t, ctx)

		// The follow-up the problem opened: the admin assigns it.
		var tasks struct{ Followups []server.FollowUp }
		h.MustDo(t, "GET", fmt.Sprintf("/v1/followups?campaign_id=%d", v.Issued.Campaign.ID), h.Token(t, "admin-a"), nil, http.StatusOK, &tasks)
		if len(tasks.Followups) != 1 {
			t.Fatalf("%d follow-ups", len(tasks.Followups))
		}
		fu := tasks.Followups[0]
		followUpPath := fmt.Sprintf("%s/console/followups/%d", h.URL, fu.ID)
		ctx = signedInTab(t, b, h, "admin-a")
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`nav.menu a[href="/console/followups"]`)))
		if got := browsertest.Text(t, ctx, fmt.Sprintf(`tr[data-followup="%d"]`, fu.ID)); !strings.Contains(got, enterprise.Name) || !strings.Contains(got, "待处理") || !strings.Contains(got, "未指派") {
			t.Errorf("the follow-up's row: %q", got)
		}
		assertChinese(t, ctx)
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-followup="%d"] a`, fu.ID))))
		if got := browsertest.Text(t, ctx, "ul.findings"); !strings.Contains(got, "接纳未成年人上网") {
			t.Errorf("findings: %q", got)
		}
		browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(`#assign-form select`), fmt.Sprint(h.Users["insp-a1"].ID)))
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#assign-form button`)))
		if got := browsertest.Text(t, ctx, ".flash"); got != "已指派承办人" {
			t.Errorf("after assignment: %q", got)
		}

		// The assignee starts it and logs an action with an evidence image;
		// a file that is not an image is refused with the reason.
		ctx = signedInTab(t, b, h, "insp-a1")
		browsertest.Open(t, ctx, followUpPath)
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#start-form button`)))
		if got := browsertest.Text(t, ctx, "#followup-state"); got != "处理中" {
			t.Errorf("after start: %q", got)
		}
		dir := t.TempDir()
		bad := filepath.Join(dir, "not-an-image.png")
		if err := os.WriteFile(bad, []byte("这不是图片"), 0o600); err != nil {
			t.Fatal(err)
		}
		browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(`#note-form textarea[name="text"]`), "已复查，门口张贴未成年人禁入标志"),
			chromedp.SetUploadFiles(chromedp.CSS(`#note-form input[type="file"]`), []string{bad}))
		req, _ := http.NewRequest("POST", fmt.Sprintf("%s/v1/followups/%d/evidence", h.URL, fu.ID), strings.NewReader("这不是图片"))
		req.Header.Set("Content-Type", "image/png")
		req.Header.Set("Authorization", "Bearer "+h.Token(t, "insp-a1"))
		apiStatus := h.Send(t, req).Status
		if resp := browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#note-form button`))); resp.Status != int64(apiStatus) || apiStatus < 400 {
			t.Errorf("a file that is not an image: status %d, the API's %d", resp.Status, apiStatus)
		}
		if got := browsertest.Text(t, ctx, "#evidence-error"); !strings.HasPrefix(got, "not-an-image.png：") {
			t.Errorf("a file that is not an image says %q", got)
		}
		if got := browsertest.Get(t, ctx, chromedp.Value(chromedp.CSS(`#note-form textarea[name="text"]`))); got != "已复查，门口张贴未成年人禁入标志" {
			t.Errorf("the text was not kept: %q", got)
		}
		good := writeTestImage(t, dir, "after", 200)
		browsertest.Do(t, ctx, chromedp.SetUploadFiles(chromedp.CSS(`#note-form input[type="file"]`), []string{good}))
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#note-form button`)))
		if got := browsertest.Text(t, ctx, ".flash"); got != "处理情况已记录" {
			t.Errorf("after the note: %q", got)
		}
		if !browsertest.Get(t, ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const i = document.querySelector('#followup-log img[src$="/%s"]'); return !!i && i.complete && i.naturalWidth === 48 })()`, fileSHA(t, good)))) {
			t.Error("the evidence image is not shown")
		}
		browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(`#request-form textarea`), "整改完毕，申请办结"))
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#request-form button`)))
		if got := browsertest.Text(t, ctx, "#followup-state"); got != "待确认办结" {
			t.Errorf("after the request: %q", got)
		}

		// Another admin of the department closes it.
		ctx = signedInTab(t, b, h, "admin-a2")
		browsertest.Open(t, ctx, followUpPath)
		browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(`#close-form textarea`), "整改到位"))
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`#close-form button`)))
		if got := browsertest.Text(t, ctx, "#followup-state"); got != "已办结" {
			t.Errorf("after closing: %q", got)
		}
		log := browsertest.Text(t, ctx, "#followup-log")
		for _, want := range []string{"指派", "开始处理", "已复查，门口张贴未成年人禁入标志", "申请办结", "整改到位"} {
			if !strings.Contains(log, want) {
				t.Errorf("the log lacks %q: %q", want, log)
			}
		}
		assertChinese(t, ctx)
		browsertest.Screenshot(t, ctx, "followup")
		var done server.FollowUp
		h.MustDo(t, "GET", fmt.Sprintf("/v1/followups/%d", fu.ID), h.Token(t, "admin-a"), nil, http.StatusOK, &done)
		if done.State != server.FollowUpStateClosed || done.ClosedBy == nil || *done.ClosedBy != h.Users["admin-a2"].ID ||
			len(done.Actions) != 5 || len(done.Actions[2].Evidence) != 1 || done.Actions[2].Evidence[0] != fileSHA(t, good) {
			t.Errorf("the service holds %+v", done)
		}

		// The enterprise's record shows the approved results.
		browsertest.Open(t, ctx, fmt.Sprintf("%s/console/enterprises/%d/inspections", h.URL, v.Packet.EnterpriseID))
		if got := browsertest.Text(t, ctx, "#inspections tbody"); !strings.Contains(got, r.CodeTitle) || !strings.Contains(got, "已办结") {
			t.Errorf("the enterprise's record: %q", got)
		}
		assertChinese(t, ctx)
	})
}

// assertRecordShown checks the review page shows v's joint record: the
// culture section's non-compliant answer with its note and photo, and the
// representative's signature, each image loaded.
func assertRecordShown(t *testing.T, ctx context.Context, v *visited) {
	t.Helper()
	culture := browsertest.Text(t, ctx, `section.sealed[data-department="culture"]`)
	if !strings.Contains(culture, "不符合") || !strings.Contains(culture, "接纳未成年人上网") {
		t.Errorf("the culture section shows %q", culture)
	}
	if got := browsertest.Text(t, ctx, "section.close .outcome"); got != "法定代表人签字盖章" {
		t.Errorf("the close shows %q", got)
	}
	if got := browsertest.Text(t, ctx, "ul.signatures"); !strings.Contains(got, "法定代表人：赵法人") {
		t.Errorf("the signatures show %q", got)
	}
	for _, sha := range []string{v.Photo, v.Signature, v.Stamp} {
		js := fmt.Sprintf(`(() => { const i = document.querySelector('img[src="/console/attachments/%s"]'); return !!i && i.complete && i.naturalWidth === 48 })()`, sha)
		if !browsertest.Get(t, ctx, chromedp.Evaluate[bool](js)) {
			t.Errorf("image %s is not shown", sha)
		}
	}
}

// signedInTab is a new tab (each has its own browsertest.Timeout) signed in
// as username.
func signedInTab(t *testing.T, b *browsertest.Browser, h *apptest.Harness, username string) context.Context {
	t.Helper()
	ctx := b.Tab(t)
	browsertest.Open(t, ctx, h.URL+"/console/") // the tabs share cookies: sign the last user out
	if browsertest.Get(t, ctx, chromedp.Evaluate[bool](`!!document.querySelector('form[action="/console/logout"]')`)) {
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`form[action="/console/logout"] button`)))
	}
	if st := signIn(t, ctx, username, apptest.Password); st != http.StatusOK {
		t.Fatalf("sign in as %s: status %d", username, st)
	}
	return ctx
}
