package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/spotcheck/spotcheck/internal/browsertest"
	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/server/draw"
	"github.com/spotcheck/spotcheck/syncproto"
)

// Campaign screens: the lead coordinator takes a new campaign from draft to
// issued packets in the browser, the department admins confirming (and
// replacing a target) in the browser too; no API call but to check what
// the pages show.

// switchUser signs the browser out and in again as username, in a new tab
// (each tab's work is bounded by browsertest.Timeout, so a long walk takes
// a tab per part).
func switchUser(t *testing.T, b *browsertest.Browser, h *apptest.Harness, username string) context.Context {
	t.Helper()
	ctx := b.Tab(t)
	browsertest.Open(t, ctx, h.URL+"/console/")
	if browsertest.Get(t, ctx, chromedp.Evaluate[bool](`document.querySelector('form[action="/console/logout"]') !== null`)) {
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`form[action="/console/logout"] button`)))
	}
	browsertest.Open(t, ctx, h.URL+"/console/login")
	if st := signIn(t, ctx, username, apptest.Password); st != http.StatusOK {
		t.Fatalf("sign in as %s: status %d", username, st)
	}
	return ctx
}

// setValue sets a form field's value, as typed.
func setValue(t *testing.T, ctx context.Context, name, value string) {
	t.Helper()
	browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(fmt.Sprintf(`[name=%q]`, name)), value))
}

// submit sends the form sel by its submit button and returns the status.
func submit(t *testing.T, ctx context.Context, sel string) int64 {
	t.Helper()
	return browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(sel+` button[type="submit"]`))).Status
}

// texts are the texts of every element matching sel.
func texts(t *testing.T, ctx context.Context, sel string) []string {
	t.Helper()
	return browsertest.Get(t, ctx, chromedp.Evaluate[[]string](fmt.Sprintf(`[...document.querySelectorAll(%q)].map(e => e.textContent.trim())`, sel)))
}

func TestBrowser_CampaignDraftToPackets(t *testing.T) {
	browsertest.Run(t, func(t *testing.T, h *apptest.Harness, b *browsertest.Browser) {
		for i := range 6 {
			h.AddCafe(t, fmt.Sprintf("星际网咖%02d", i))
		}
		sys := server.NewContextWithUser(context.Background(), h.Users["root"])
		marketItem := &server.CheckItem{DepartmentID: h.DeptB.ID, Code: "SC-01", Title: "营业执照公示", LegalBasis: "《企业信息公示暂行条例》"}
		if err := h.App.CheckItems.CreateCheckItem(sys, marketItem); err != nil {
			t.Fatal(err)
		}
		// The culture admin keeps the catalogue: an item, then its second
		// version, which retires the first.
		ctx := switchUser(t, b, h, "admin-a")
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`nav.menu a[href="/console/check-items"]`)))
		setValue(t, ctx, "code", "WH-01")
		setValue(t, ctx, "title", "网络文化经营许可证")
		setValue(t, ctx, "legal_basis", "《互联网上网服务营业场所管理条例》")
		if st := submit(t, ctx, "#check-item-form"); st != http.StatusOK {
			t.Fatalf("add a check item: status %d", st)
		}
		setValue(t, ctx, "code", "WH-01")
		setValue(t, ctx, "title", "网络文化经营许可证在有效期内并悬挂")
		submit(t, ctx, "#check-item-form")
		if got := browsertest.Text(t, ctx, ".flash"); got != "已保存检查事项 WH-01 第2版" {
			t.Errorf("second version: flash %q", got)
		}
		rows := texts(t, ctx, `section[data-department="culture"] tr[data-code="WH-01"]`)
		if len(rows) != 2 || !strings.Contains(rows[0], "已停用") && !strings.Contains(rows[1], "已停用") {
			t.Errorf("culture catalogue rows: %q", rows)
		}
		// A bad code: the service's error next to the field, the title kept.
		setValue(t, ctx, "code", "-bad")
		setValue(t, ctx, "title", "错误编码的事项")
		if st := submit(t, ctx, "#check-item-form"); st != http.StatusBadRequest {
			t.Errorf("bad code: status %d", st)
		}
		if got := browsertest.Text(t, ctx, `#check-item-form .field-error`); !strings.HasPrefix(got, "事项编码须为") {
			t.Errorf("bad code: field error %q", got)
		}
		if got := browsertest.Get(t, ctx, chromedp.Value(chromedp.CSS(`[name="title"]`))); got != "错误编码的事项" {
			t.Errorf("title not kept: %q", got)
		}
		assertChinese(t, ctx)
		browsertest.Screenshot(t, ctx, "check-items")
		items, err := h.App.CheckItems.FindCheckItems(sys, &h.DeptA.ID, false)
		if err != nil || len(items) != 1 || items[0].Version != 2 {
			t.Fatalf("culture's current items: %v %v", items, err)
		}

		// The coordinator drafts a campaign. The form comes filled in:
		// today's window, 15%, every department and current item, sources
		// a few minutes from now.
		ctx = switchUser(t, b, h, "coord-a")
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`nav.menu a[href="/console/campaigns"]`)))
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`a[href="/console/campaigns/new"]`)))
		now := h.Now().In(calendar.Shanghai())
		for field, want := range map[string]string{
			"window_start":  server.DateOf(now).String(),
			"window_end":    server.DateOf(now.AddDate(0, 0, 5)).String(),
			"ratio_default": "0.15",
			"category":      server.CategoryInternetCafe,
		} {
			if got := browsertest.Get(t, ctx, chromedp.Value(chromedp.CSS(fmt.Sprintf(`[name=%q]`, field)))); got != want {
				t.Errorf("default %s = %q, want %q", field, got, want)
			}
		}
		sourcesAt := browsertest.Get(t, ctx, chromedp.Value(chromedp.CSS(`[name="sources_available_at"]`)))
		at, err := time.ParseInLocation("2006-01-02T15:04", sourcesAt, calendar.Shanghai())
		if err != nil || !at.After(h.Now()) || at.After(h.Now().Add(10*time.Minute)) {
			t.Fatalf("default sources_available_at %q (now %s): %v", sourcesAt, now, err)
		}
		checked := browsertest.Get(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('input[name="check_item_ids"]:checked')].map(e => e.value)`))
		if want := []string{fmt.Sprint(items[0].ID), fmt.Sprint(marketItem.ID)}; !sameSet(checked, want) {
			t.Errorf("check items ticked %v, want %v", checked, want)
		}
		assertChinese(t, ctx)
		setValue(t, ctx, "name", "全市网吧第二轮联合抽查")
		setValue(t, ctx, "ratio_default", "0.5")
		setValue(t, ctx, "inspectors_per_department", "1")
		setValue(t, ctx, "targets_per_team", "2")
		setValue(t, ctx, "randomness_sources", "中国福利彩票双色球第2026128期开奖号码")
		browsertest.Screenshot(t, ctx, "campaign-form")
		assertFits(t, ctx, 820, 1180)
		browsertest.Do(t, ctx, chromedp.EmulateReset())
		setValue(t, ctx, "ratio_default", "0.5x")
		// A ratio that is not a decimal: the service's error on the ratio,
		// everything typed kept.
		if st := submit(t, ctx, "form.campaign-form"); st != http.StatusBadRequest {
			t.Errorf("bad ratio: status %d", st)
		}
		if got := browsertest.Text(t, ctx, `fieldset:has([name="ratio_default"]) .field-error`); !strings.HasPrefix(got, "抽查比例无效") {
			t.Errorf("bad ratio: field error %q", got)
		}
		if got := browsertest.Get(t, ctx, chromedp.Value(chromedp.CSS(`[name="name"]`))); got != "全市网吧第二轮联合抽查" {
			t.Errorf("name not kept: %q", got)
		}
		assertChinese(t, ctx)
		setValue(t, ctx, "ratio_default", "0.5")
		if st := submit(t, ctx, "form.campaign-form"); st != http.StatusOK {
			t.Fatalf("save the draft: status %d: %s", st, browsertest.Text(t, ctx, "main"))
		}
		if got := browsertest.Text(t, ctx, "#campaign-status"); got != "草稿" {
			t.Fatalf("after saving: status %q", got)
		}
		var id int64
		loc := browsertest.Get(t, ctx, chromedp.Location())
		if _, err := fmt.Sscanf(strings.TrimPrefix(loc, h.URL), "/console/campaigns/%d", &id); err != nil {
			t.Fatalf("after saving at %s", loc)
		}
		cp, err := h.App.Campaigns.FindCampaignByID(sys, id)
		if err != nil {
			t.Fatal(err)
		}
		if cp.Ratio.Default != "0.5" || cp.InspectorsPerDepartment != 1 || cp.TargetsPerTeam != 2 || len(cp.DepartmentIDs) != 2 ||
			cp.SourcesAvailableAt == nil || !cp.SourcesAvailableAt.Equal(at) || len(cp.CheckItemIDs) != 2 {
			t.Errorf("the draft saved: %+v", cp)
		}
		assertChinese(t, ctx)

		// Edit the draft: the form comes back with its values.
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/console/campaigns/%d/edit"]`, id))))
		if got := browsertest.Get(t, ctx, chromedp.Value(chromedp.CSS(`[name="ratio_default"]`))); got != "0.5" {
			t.Errorf("edit form: ratio %q", got)
		}
		if got := browsertest.Get(t, ctx, chromedp.Value(chromedp.CSS(`[name="sources_available_at"]`))); got != sourcesAt {
			t.Errorf("edit form: sources_available_at %q, want %q", got, sourcesAt)
		}
		setValue(t, ctx, "name", "全市网吧第二轮双随机联合抽查")
		setValue(t, ctx, "ratio_B", "0.5")
		if st := submit(t, ctx, "form.campaign-form"); st != http.StatusOK {
			t.Fatalf("edit the draft: status %d: %s", st, browsertest.Text(t, ctx, "main"))
		}
		if got := browsertest.Text(t, ctx, "h1"); got != "全市网吧第二轮双随机联合抽查" {
			t.Errorf("after editing: %q", got)
		}
		if cp, err = h.App.Campaigns.FindCampaignByID(sys, id); err != nil || cp.Ratio.ByClass["B"] != "0.5" || cp.Ratio.Default != "0.5" {
			t.Errorf("edited ratio table: %+v %v", cp.Ratio, err)
		}
		assertChinese(t, ctx)

		// Commit, after a page that says what it freezes.
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS("#commit-link")))
		if got := browsertest.Text(t, ctx, "section.warning"); !strings.Contains(got, "不能修改") {
			t.Errorf("commit page: %q", got)
		}
		assertChinese(t, ctx)
		submit(t, ctx, "#commit-form")
		if got := browsertest.Text(t, ctx, "#campaign-status"); got != "已提交（待摇号）" {
			t.Fatalf("after commit: status %q", got)
		}
		// Before the sources are known: when it can be drawn, no form.
		if got := browsertest.Text(t, ctx, "#drawable-at"); !strings.Contains(got, at.Format("2006-01-02 15:04")) {
			t.Errorf("drawable at: %q", got)
		}
		browsertest.Open(t, ctx, fmt.Sprintf("%s/console/campaigns/%d/draw", h.URL, id))
		if n := browsertest.Get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#draw-form").length`)); n != 0 {
			t.Errorf("a draw form before the sources are known")
		}
		assertChinese(t, ctx)

		// The sources are public: the coordinator enters the value and draws.
		h.Advance(at.Sub(h.Now()) + time.Second)
		ctx = b.Tab(t)
		browsertest.Open(t, ctx, fmt.Sprintf("%s/console/campaigns/%d", h.URL, id))
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS("#draw-link")))
		setValue(t, ctx, "randomness_0", "03 08 15 22 27 31 + 09")
		submit(t, ctx, "#draw-form")
		var rec draw.Record
		h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/record", id), "", nil, http.StatusOK, &rec)
		if got := browsertest.Text(t, ctx, "#manifest-digest"); got != rec.ManifestDigest || len(got) != 64 {
			t.Errorf("digest on the page %q, record %q", got, rec.ManifestDigest)
		}
		if got := browsertest.Text(t, ctx, "#seed"); got != rec.Seed || len(got) != 64 {
			t.Errorf("seed on the page %q, record %q", got, rec.Seed)
		}
		if got := texts(t, ctx, "code.randomness"); !slices.Equal(got, []string{"03 08 15 22 27 31 + 09"}) || !slices.Equal(rec.Randomness, got) {
			t.Errorf("randomness on the page %q, record %q", got, rec.Randomness)
		}
		if err := draw.Verify(&rec); err != nil {
			t.Fatalf("the record does not verify: %v", err)
		}
		// Each stratum's size and cut-off: the highest ticket drawn.
		if got, want := texts(t, ctx, "table.strata .stratum-size"), []string{fmt.Sprint(len(rec.Selection))}; !slices.Equal(got, want) || len(rec.Selection) != 3 {
			t.Errorf("stratum sizes %q, want %q (of 6 at 0.5)", got, want)
		}
		cutoff := ""
		for _, it := range rec.Selection {
			cutoff = max(cutoff, it.Ticket)
		}
		if got := texts(t, ctx, "table.strata .cutoff"); !slices.Equal(got, []string{cutoff}) {
			t.Errorf("cut-off %q, want %q", got, cutoff)
		}
		var codes []string
		for _, it := range rec.Selection {
			codes = append(codes, it.CreditCode)
		}
		if got := texts(t, ctx, "table.selection .credit-code"); !slices.Equal(got, codes) {
			t.Errorf("selection on the page %q, record %q", got, codes)
		}
		recordURL := fmt.Sprintf("%s/public/campaigns/%d/record", h.URL, id)
		if got := browsertest.Text(t, ctx, "#verify-command"); got != "spotcheck verify draw "+recordURL {
			t.Errorf("verify command %q", got)
		}
		for sel, want := range map[string]string{"#record-link": recordURL, "#manifest-link": fmt.Sprintf("%s/public/campaigns/%d/manifest", h.URL, id)} {
			if got := browsertest.Get(t, ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).href`, sel))); got != want {
				t.Errorf("%s links to %q, want %q", sel, got, want)
			}
		}
		assertChinese(t, ctx)
		browsertest.Screenshot(t, ctx, "campaign-draw")
		assertFits(t, ctx, 820, 1180)
		browsertest.Do(t, ctx, chromedp.EmulateReset())

		// A late conflict of interest: insp-a1 declares one of the targets.
		conflict := rec.Selection[0].CreditCode
		es, _, err := h.App.Enterprises.FindEnterprises(sys, server.EnterpriseFilter{CreditCode: &conflict})
		if err != nil || len(es) != 1 {
			t.Fatal(err)
		}
		if err := h.App.Declarations.CreateDeclaration(server.NewContextWithUser(context.Background(), h.Users["admin-a"]),
			&server.Declaration{InspectorID: h.Inspectors["insp-a1"].ID, EnterpriseID: es[0].ID, Reason: "亲属经营"}); err != nil {
			t.Fatal(err)
		}

		// The culture admin confirms; the market admin replaces a target,
		// which reopens culture's confirmation, then confirms; culture
		// confirms again.
		ctx = switchUser(t, b, h, "admin-a")
		browsertest.Open(t, ctx, fmt.Sprintf("%s/console/campaigns/%d", h.URL, id))
		if got := browsertest.Text(t, ctx, "#confirm-deadline"); got == "—" || got == "" {
			t.Errorf("no confirmation deadline shown")
		}
		submit(t, ctx, `tr[data-department="culture"] .confirm-form`)
		if got := browsertest.Text(t, ctx, `tr[data-department="culture"]`); !strings.Contains(got, "已确认") {
			t.Errorf("after culture confirms: %q", got)
		}
		if n := browsertest.Get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('tr[data-department="market"] .confirm-form').length`)); n != 0 {
			t.Errorf("culture's admin is offered market's confirmation")
		}
		assertChinese(t, ctx)

		ctx = switchUser(t, b, h, "admin-b")
		browsertest.Open(t, ctx, fmt.Sprintf("%s/console/campaigns/%d", h.URL, id))
		replaced := rec.Selection[2].CreditCode
		// No reason: refused, with the error on the reason.
		browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(`.replace-form select[name="credit_code"]`), replaced))
		if st := submit(t, ctx, ".replace-form"); st != http.StatusBadRequest {
			t.Errorf("a replacement without a reason: status %d", st)
		}
		if got := browsertest.Text(t, ctx, ".replace-form .field-error"); got != "须填写替补理由" {
			t.Errorf("a replacement without a reason says %q", got)
		}
		browsertest.Do(t, ctx, chromedp.SetValue(chromedp.CSS(`.replace-form select[name="credit_code"]`), replaced))
		setValue(t, ctx, "reason", "已注销")
		submit(t, ctx, ".replace-form")
		reps, err := h.App.Campaigns.FindReplacements(sys, id)
		if err != nil || len(reps) != 1 || reps[0].ReplacedCode != replaced {
			t.Fatalf("replacements: %v %v", reps, err)
		}
		if got := browsertest.Text(t, ctx, ".flash"); !strings.HasPrefix(got, "已替补第 1 号") {
			t.Errorf("replacement flash %q", got)
		}
		if got := browsertest.Text(t, ctx, "main"); !strings.Contains(got, reps[0].ReplacementCode) {
			t.Errorf("the replacement %s is not shown", reps[0].ReplacementCode)
		}
		if got := browsertest.Text(t, ctx, `tr[data-department="culture"]`); !strings.Contains(got, "待确认") {
			t.Errorf("culture's confirmation not reopened: %q", got)
		}
		if got := browsertest.Text(t, ctx, "main"); !strings.Contains(got, "因第 1 号替补") {
			t.Errorf("the reopening is not shown")
		}
		submit(t, ctx, `tr[data-department="market"] .confirm-form`)
		assertChinese(t, ctx)
		ctx = switchUser(t, b, h, "admin-a")
		browsertest.Open(t, ctx, fmt.Sprintf("%s/console/campaigns/%d", h.URL, id))
		submit(t, ctx, `tr[data-department="culture"] .confirm-form`)

		// The coordinator draws the teams: members with their certificates,
		// insp-a1 not on the team of the enterprise they declared.
		ctx = switchUser(t, b, h, "coord-a")
		browsertest.Open(t, ctx, fmt.Sprintf("%s/console/campaigns/%d", h.URL, id))
		submit(t, ctx, "#draw-teams")
		if got := browsertest.Text(t, ctx, "h1"); got != "执法人员分组" {
			t.Fatalf("after the team draw: %q", got)
		}
		teams, err := h.App.Campaigns.FindTeams(sys, id)
		if err != nil || len(teams) != 2 {
			t.Fatalf("teams: %d %v", len(teams), err)
		}
		for _, tm := range teams {
			var certs []string
			for _, m := range tm.Members {
				certs = append(certs, m.CertificateNumber)
			}
			if got := texts(t, ctx, fmt.Sprintf("#team-%d .certificate", tm.Number)); !slices.Equal(got, certs) {
				t.Errorf("team %d certificates on the page %q, drawn %q", tm.Number, got, certs)
			}
			targets := texts(t, ctx, fmt.Sprintf("#team-%d .credit-code", tm.Number))
			if !slices.Equal(targets, tm.Targets) {
				t.Errorf("team %d targets on the page %q, drawn %q", tm.Number, targets, tm.Targets)
			}
			if slices.Contains(certs, h.Inspectors["insp-a1"].CertificateNumber) && slices.Contains(targets, conflict) {
				t.Errorf("team %d: insp-a1 is matched to %s, which they declared", tm.Number, conflict)
			}
		}
		assertChinese(t, ctx)
		browsertest.Screenshot(t, ctx, "campaign-teams")

		// Packets: one per current target.
		ctx = b.Tab(t)
		browsertest.Open(t, ctx, fmt.Sprintf("%s/console/campaigns/%d/teams", h.URL, id))
		submit(t, ctx, "#issue-packets")
		if got := browsertest.Text(t, ctx, "h1"); got != "检查表与进度" {
			t.Fatalf("after issuing: %q", got)
		}
		var sel api.List[api.Selection]
		h.MustDo(t, "GET", fmt.Sprintf("/v1/campaigns/%d/selections", id), h.Token(t, "coord-a"), nil, http.StatusOK, &sel)
		var current []string
		for _, s := range sel.Items {
			if !s.Replaced {
				current = append(current, s.CreditCode)
			}
		}
		shown := texts(t, ctx, "table.packets .credit-code")
		if len(current) != 3 || !sameSet(shown, current) {
			t.Errorf("packets shown for %q, current targets %q", shown, current)
		}
		if slices.Contains(shown, replaced) {
			t.Errorf("a packet for the replaced target %s", replaced)
		}
		if got := browsertest.Text(t, ctx, "#total-issued"); got != "3 份" {
			t.Errorf("issued total %q", got)
		}
		if got := texts(t, ctx, "table.days td"); len(got) != 6 || got[0] != server.DateOf(h.Now().In(calendar.Shanghai())).String() || got[1] != "3" {
			t.Errorf("per-day row %q", got)
		}
		if n := browsertest.Get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg.chart rect.bar-issued").length`)); n < 2 {
			t.Errorf("the chart has %d issued bars (legend and a day)", n)
		}
		assertChinese(t, ctx)

		// The next day a culture inspector visits one packet and syncs in
		// the evening; the result is entered and approved: the page counts
		// each on its day.
		packets, err := h.App.Campaigns.FindPackets(sys, id)
		if err != nil {
			t.Fatal(err)
		}
		visitor, pk := "", packets[0]
		for _, name := range []string{"insp-a1", "insp-a2"} {
			for _, m := range pk.Content.Team {
				if m.InspectorID == h.Inspectors[name].ID {
					visitor = name
				}
			}
		}
		h.Advance(24 * time.Hour)
		visited := h.Now().Truncate(time.Second)
		h.Advance(2 * time.Hour) // still that day in Beijing
		fieldVisit(t, h, visitor, pk, visited)
		rs, err := h.App.Results.FindResults(sys, server.ResultFilter{PacketID: &pk.ID})
		if err != nil || len(rs) != 1 {
			t.Fatalf("results of the visited packet: %v %v", rs, err)
		}
		visitorCtx := server.NewContextWithUser(context.Background(), h.Users[visitor])
		if _, err := h.App.Results.EnterResult(visitorCtx, rs[0].ID, server.ResultEntry{Code: server.ResultCodeNotLocatable}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.App.Results.ApproveResult(server.NewContextWithUser(context.Background(), h.Users["admin-a"]), rs[0].ID, nil); err != nil {
			t.Fatal(err)
		}
		ctx = b.Tab(t)
		browsertest.Open(t, ctx, fmt.Sprintf("%s/console/campaigns/%d/packets", h.URL, id))
		for sel, want := range map[string]string{"#total-issued": "3 份", "#total-visited": "1 份", "#total-synced": "1 份", "#total-reviewed": "1 份"} {
			if got := browsertest.Text(t, ctx, sel); got != want {
				t.Errorf("%s = %q, want %q", sel, got, want)
			}
		}
		day1, day2 := server.DateOf(h.Now().Add(-26*time.Hour).In(calendar.Shanghai())).String(), server.DateOf(visited.In(calendar.Shanghai())).String()
		rowsByDay := browsertest.Get(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("table.days tbody tr")].map(r => [...r.cells].map(c => c.textContent.trim()).join(" "))`))
		if want := []string{day1 + " 3 0 0 0 0", day2 + " 0 1 1 1 1"}; !slices.Equal(rowsByDay, want) {
			t.Errorf("per-day rows %q, want %q", rowsByDay, want)
		}
		if got := browsertest.Text(t, ctx, fmt.Sprintf(`tr[data-packet=%q] .packet-state`, pk.ID)); got != "录入复核中" {
			t.Errorf("the visited packet's state %q", got)
		}
		if got := browsertest.Text(t, ctx, fmt.Sprintf(`table.teams-progress tr[data-team="%d"]`, pk.TeamNumber)); !strings.Contains(got, "1 / 4") {
			t.Errorf("team %d progress %q: one of its sections sealed", pk.TeamNumber, got)
		}
		if n := browsertest.Get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg.chart rect.bar-visited[height]:not([height='0'])").length`)); n != 2 {
			t.Errorf("the chart has %d visible visited bars (legend and a day), want 2", n)
		}
		assertChinese(t, ctx)
		browsertest.Screenshot(t, ctx, "campaign-progress")
		assertFits(t, ctx, 820, 1180)
		browsertest.Do(t, ctx, chromedp.EmulateReset())

		// The dashboard and the list show it issued; the culture admin files
		// the grouping report.
		browsertest.Open(t, ctx, h.URL+"/console/campaigns?status=issued")
		if got := browsertest.Text(t, ctx, "table.campaigns"); !strings.Contains(got, "全市网吧第二轮双随机联合抽查") || !strings.Contains(got, "已下发检查表") {
			t.Errorf("issued campaigns: %q", got)
		}
		browsertest.Open(t, ctx, h.URL+"/console/campaigns?status=draft")
		if got := browsertest.Text(t, ctx, "main section"); strings.Contains(got, "全市网吧第二轮双随机联合抽查") {
			t.Errorf("the draft filter lists the issued campaign")
		}
		assertChinese(t, ctx)
		ctx = switchUser(t, b, h, "admin-a")
		browsertest.Open(t, ctx, fmt.Sprintf("%s/console/campaigns/%d/teams", h.URL, id))
		submit(t, ctx, ".file-form")
		filings, err := h.App.Campaigns.FindGroupingFilings(sys, id)
		if err != nil || len(filings) != 1 || filings[0].DepartmentID != h.DeptA.ID {
			t.Fatalf("filings: %v %v", filings, err)
		}
		if got := texts(t, ctx, ".filed"); len(got) != 1 {
			t.Errorf("filed marks %q", got)
		}

		// A draft whose sources' time came before the commit: the commit
		// page says so and offers a later time, a few minutes from now.
		late := &server.Campaign{
			Name: "过时的草稿", LeadDepartmentID: h.DeptA.ID, DepartmentIDs: []int64{h.DeptA.ID},
			WindowStart: server.DateOf(h.Now().In(calendar.Shanghai())), WindowEnd: server.DateOf(h.Now().In(calendar.Shanghai()).AddDate(0, 0, 3)),
			Category: server.CategoryInternetCafe, Ratio: server.RatioTable{Default: "0.5"}, InspectorsPerDepartment: 1, TargetsPerTeam: 1,
			RandomnessSources: []string{"过时的来源"}, SourcesAvailableAt: h.SourcesAvailableAt(),
		}
		if err := h.App.Campaigns.CreateCampaign(server.NewContextWithUser(context.Background(), h.Users["coord-a"]), late); err != nil {
			t.Fatal(err)
		}
		h.Advance(2 * time.Second)
		ctx = switchUser(t, b, h, "coord-a")
		browsertest.Open(t, ctx, fmt.Sprintf("%s/console/campaigns/%d/commit", h.URL, late.ID))
		if got := browsertest.Text(t, ctx, "#sources-passed"); !strings.Contains(got, "已到或不足1分钟") {
			t.Errorf("commit page of a late draft: %q", got)
		}
		assertChinese(t, ctx)
		submit(t, ctx, "#commit-form")
		if got := browsertest.Text(t, ctx, "#campaign-status"); got != "已提交（待摇号）" {
			t.Fatalf("after postponing and committing: %q: %s", got, browsertest.Text(t, ctx, "main"))
		}
		late, err = h.App.Campaigns.FindCampaignByID(sys, late.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := late.SourcesAvailableAt.Sub(h.Now()); d < 3*time.Minute || d > 4*time.Minute {
			t.Errorf("sources moved to %s, %s after now", late.SourcesAvailableAt, d)
		}
		if got := browsertest.Text(t, ctx, "#drawable-at"); !strings.Contains(got, "还需约 4 分钟") && !strings.Contains(got, "还需约 3 分钟") {
			t.Errorf("drawable at: %q", got)
		}
		// The report downloads, with the admin's session.
		csv := browsertest.Get(t, ctx, chromedp.Evaluate[string](fmt.Sprintf(`(() => { const x = new XMLHttpRequest(); x.open("GET", "/console/campaigns/%d/grouping-report?format=csv&department_id=%d", false); x.send(); return x.responseText; })()`, id, h.DeptA.ID)))
		if !strings.Contains(csv, h.Inspectors["insp-a1"].CertificateNumber) && !strings.Contains(csv, h.Inspectors["insp-a2"].CertificateNumber) {
			t.Errorf("grouping report CSV: %q", csv)
		}
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// fieldVisit is username's device sealing the culture section of p (every
// item compliant) and closing the visit as not locatable at visited, pushed
// now.
func fieldVisit(t *testing.T, h *apptest.Harness, username string, p *server.Packet, visited time.Time) {
	t.Helper()
	u := *h.Users[username]
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	dev := &server.Device{Name: "执法终端", PublicKey: pub}
	if err := h.App.Devices.RegisterDevice(server.NewContextWithUser(context.Background(), &u), dev); err != nil {
		t.Fatal(err)
	}
	u.DeviceID = &dev.ID
	ctx := server.NewContextWithUser(context.Background(), &u)
	inspector := *u.InspectorID
	sec := syncproto.SectionRecord{PacketID: p.ID, Department: "culture", Version: 1, DeviceID: dev.ID, InspectorID: inspector,
		Answers: []syncproto.AnswerMutation{}, Certificates: []syncproto.CertificateShown{}, Attachments: []string{}, SealedAt: visited}
	for _, s := range p.Content.Sections {
		if s.Department == sec.Department {
			for _, it := range s.Items {
				sec.Answers = append(sec.Answers, syncproto.AnswerMutation{Department: s.Department, ItemCode: it.Code, ItemVersion: it.Version, Result: syncproto.ResultCompliant})
			}
		}
	}
	slices.SortFunc(sec.Answers, func(a, b syncproto.AnswerMutation) int { return strings.Compare(a.ItemCode, b.ItemCode) })
	for _, m := range p.Content.Team {
		if m.Department == sec.Department {
			sec.Certificates = append(sec.Certificates, syncproto.CertificateShown{InspectorID: m.InspectorID, CertificateNumber: m.CertificateNumber})
		}
	}
	slices.SortFunc(sec.Certificates, func(a, b syncproto.CertificateShown) int { return int(a.InspectorID - b.InspectorID) })
	secHash, err := syncproto.CanonicalHash(&sec)
	if err != nil {
		t.Fatal(err)
	}
	cl := syncproto.CloseRecord{
		PacketID: p.ID, DeviceID: dev.ID, InspectorID: inspector,
		Close:  syncproto.CloseMutation{Outcome: syncproto.OutcomeNotLocatable, Note: "登记住所无人"},
		Covers: []syncproto.SectionRef{{Department: "culture", Version: 1, Hash: secHash}}, Attachments: []string{}, ClosedAt: visited,
	}
	clHash, err := syncproto.CanonicalHash(&cl)
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.App.Sync.Push(ctx, &syncproto.PushRequest{DeviceID: dev.ID, Mutations: []syncproto.Mutation{
		{Seq: 1, ID: "seal", Kind: syncproto.KindSeal, PacketID: p.ID, DeviceTime: visited,
			Seal: &syncproto.SealMutation{Section: sec, Hash: secHash, Signature: ed25519.Sign(key, syncproto.SectionSealMessage(secHash))}},
		{Seq: 2, ID: "close", Kind: syncproto.KindSealClose, PacketID: p.ID, DeviceTime: visited,
			SealClose: &syncproto.SealCloseMutation{Record: cl, Hash: clHash, Signature: ed25519.Sign(key, syncproto.CloseSealMessage(clHash))}},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range r.Results {
		if res.Status != syncproto.StatusApplied {
			t.Fatalf("push: mutation %d %s %s", res.Seq, res.Status, res.Message)
		}
	}
}
