package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/spotcheck/spotcheck/internal/browsertest"
	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/draw"
	"github.com/spotcheck/spotcheck/server/store"
)

// The public page re-computes a draw in the browser (assets/verify.js):
// every step agrees for an honest record, the first disagreement is named
// for a record altered in the database, and the script's seed, tickets,
// counts and selection are those of server/draw.

func TestBrowser_PublicVerifiesDrawInBrowser(t *testing.T) {
	browsertest.Run(t, func(t *testing.T, h *apptest.Harness, b *browsertest.Browser) {
		// A campaign through teams and packets, one stratum; then one with
		// three strata (A, C and the default) and two replacements.
		issued := h.IssueCampaign(t, apptest.CampaignSpec{Name: "全市网吧联合抽查", Cafes: 6, Ratio: "0.5"})
		strat := drawStratified(t, h)
		ctx := b.Tab(t)

		// The teamed campaign: digest, seed, strata, teams and matches agree.
		steps := verifyInPage(t, ctx, h.URL, issued.Campaign.ID, "ok")
		for _, want := range []string{"清单摘要一致", "清单格式规范", "时间顺序一致", "种子一致", "签号计算完成", "分层“全部”抽中名单一致", "抽中名单一致", "替换记录一致", "检查组一致", "匹配一致"} {
			if !hasStep(steps, want) {
				t.Errorf("teamed campaign: no step %q in %q", want, steps)
			}
		}
		for _, s := range steps {
			if !strings.HasPrefix(s, "ok ") {
				t.Errorf("teamed campaign: step %q", s)
			}
		}
		if got := browsertest.Text(t, ctx, "#verify-status"); !strings.Contains(got, fmt.Sprintf("核验通过：%d 项全部一致", len(steps))) {
			t.Errorf("status %q", got)
		}

		// The stratified campaign with replacements: each stratum's count
		// and cut-off, and the replacements.
		var rec draw.Record
		h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/record", strat), "", nil, http.StatusOK, &rec)
		if len(rec.Replacements) != 2 {
			t.Fatalf("%d replacements", len(rec.Replacements))
		}
		steps = verifyInPage(t, ctx, h.URL, strat, "ok")
		m, err := draw.ParseManifest([]byte(rec.Manifest))
		if err != nil {
			t.Fatal(err)
		}
		sizes := m.Strata()
		for _, name := range []string{"", "A", "C"} {
			k := m.Ratios[name].Count(sizes[name])
			var cut string
			for _, it := range rec.Selection {
				if it.Stratum == name {
					cut = it.Ticket // ascending: the last one of the stratum is its cut-off
				}
			}
			label := map[string]string{"": "全部", "A": "A类", "C": "C类"}[name]
			want := fmt.Sprintf("ok 分层“%s”抽中名单一致：范围 %d 户，比例 %s，应抽 ⌈%s × %d⌉ = %d 户，截止签号（第 %d 小）%s…，%d 户与记录一致。",
				label, sizes[name], m.Ratios[name], m.Ratios[name], sizes[name], k, k, cut[:12], k)
			if !hasLine(steps, want) {
				t.Errorf("no step %q in %q", want, steps)
			}
		}
		if !hasLine(steps, "ok 替换记录一致：2 条替换依次取被替换企业所在分层的下一个签号，与记录一致。") ||
			!hasLine(steps, fmt.Sprintf("ok 抽中名单一致：共 %d 户，按签号从小到大排列，与记录逐条一致。", len(rec.Selection))) {
			t.Errorf("steps %q", steps)
		}
		if hasStep(steps, "检查组一致") {
			t.Errorf("teams checked before the team draw: %q", steps)
		}
		assertChinese(t, ctx)
		browsertest.Screenshot(t, ctx, "public-draw")
		assertFits(t, ctx, 820, 1180)
		browsertest.Do(t, ctx, chromedp.EmulateReset())

		// The script's arithmetic is server/draw's.
		crossCheck(t, ctx)

		// A selection altered in the database: the record names an
		// enterprise the manifest and randomness did not draw. The page
		// says which stratum and which place, and stops there.
		var victim draw.RecordItem
		for _, it := range rec.Selection {
			if it.Stratum == "A" {
				victim = it
				break
			}
		}
		chosen := map[string]bool{}
		for _, it := range rec.Selection {
			chosen[it.CreditCode] = true
		}
		for _, rp := range rec.Replacements {
			chosen[rp.Replacement.CreditCode] = true
		}
		var impostor string
		for _, p := range m.Population {
			if p.Stratum == "A" && !chosen[p.CreditCode] {
				impostor = p.CreditCode
				break
			}
		}
		if victim.CreditCode == "" || impostor == "" {
			t.Fatalf("no selection of stratum A to alter (%q) or no unselected member (%q)", victim.CreditCode, impostor)
		}
		err = h.App.DB.WithTx(context.Background(), func(tx *store.Tx) error {
			return tx.Exec("UPDATE draw_selections SET credit_code = ? WHERE campaign_id = ? AND credit_code = ?", impostor, strat, victim.CreditCode).Error
		})
		if err != nil {
			t.Fatal(err)
		}
		steps = verifyInPage(t, ctx, h.URL, strat, "fail")
		last := steps[len(steps)-1]
		if !strings.HasPrefix(last, "fail 分层“A类”抽中名单不一致：") || !strings.Contains(last, "记录为 "+impostor) || !strings.Contains(last, "重新计算为 "+victim.CreditCode) {
			t.Errorf("mismatch step %q", last)
		}
		for _, s := range steps[:len(steps)-1] {
			if !strings.HasPrefix(s, "ok ") {
				t.Errorf("step before the mismatch %q", s)
			}
		}
		if !hasStep(steps, "种子一致") || hasStep(steps, "替换记录一致") {
			t.Errorf("steps around the mismatch: %q", steps)
		}
		if got := browsertest.Text(t, ctx, "#verify-status"); !strings.Contains(got, fmt.Sprintf("第 %d 项不一致", len(steps))) {
			t.Errorf("status %q", got)
		}
		assertChinese(t, ctx)

		// Without WebCrypto (plain http on another host) the page says so and
		// points to the command.
		browsertest.Do(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => {
			Object.defineProperty(window, "isSecureContext", { value: false });
			const s = document.createElement("script");
			s.src = document.querySelector('script[src*="verify.js"]').src + "&again";
			document.body.appendChild(s);
		})()`))
		got := browsertest.Get(t, ctx, chromedp.Poll[string](`document.querySelector("#verify-status.verify-unavailable") && document.querySelector("#verify-status").textContent`))
		if !strings.Contains(got, "无法在本页核验") || !strings.Contains(got, "命令行工具") {
			t.Errorf("without WebCrypto: %q", got)
		}
		if !browsertest.Get(t, ctx, chromedp.Evaluate[bool](`document.getElementById("verify-start").disabled`)) {
			t.Error("the button is enabled without WebCrypto")
		}
	})
}

// verifyInPage opens the campaign's page, clicks the button, waits for the
// verdict (want: "ok" or "fail") and returns the steps shown, each as
// "ok TEXT" or "fail TEXT".
func verifyInPage(t *testing.T, ctx context.Context, base string, id int64, want string) []string {
	t.Helper()
	browsertest.Open(t, ctx, fmt.Sprintf("%s/campaigns/%d", base, id))
	browsertest.Do(t, ctx, chromedp.WaitVisible(chromedp.CSS("#verify-start")))
	if got := browsertest.Text(t, ctx, "#verify-start"); got != "在浏览器中核验" {
		t.Fatalf("button %q", got)
	}
	browsertest.Do(t, ctx, chromedp.Click(chromedp.CSS("#verify-start")))
	got := browsertest.Get(t, ctx, chromedp.Poll[string](`document.getElementById("verify-browser").dataset.result`))
	steps := browsertest.Get(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#verify-steps li")].map(li => li.className + " " + li.textContent)`))
	if got != want {
		t.Fatalf("campaign %d: verdict %q, want %q; steps %q", id, got, want, steps)
	}
	return steps
}

func hasStep(steps []string, title string) bool {
	for _, s := range steps {
		if _, text, _ := strings.Cut(s, " "); strings.HasPrefix(text, title+"：") {
			return true
		}
	}
	return false
}

func hasLine(steps []string, line string) bool {
	for _, s := range steps {
		if s == line {
			return true
		}
	}
	return false
}

// drawStratified commits and draws a campaign over cafés of risk classes A,
// B and C, with ratios for A and C of their own and the default for the
// rest, and replaces a target of stratum A and one of the default stratum.
func drawStratified(t *testing.T, h *apptest.Harness) int64 {
	t.Helper()
	sys := app.SystemContext(context.Background())
	root := server.NewContextWithUser(context.Background(), h.Users["root"])
	classes := "AAAAAAABBBBBCCCD"
	for i, class := range classes {
		body := fmt.Sprintf("%08d", 70000000+i)
		first17 := "91350206" + body + string(server.OrgCodeCheckChar(body))
		e := &server.Enterprise{
			CreditCode: first17 + string(server.CreditCodeCheckChar(first17)), Name: fmt.Sprintf("分层网咖%02d", i),
			Category: server.CategoryInternetCafe, District: "思明区", Address: "厦门市思明区",
			LegalRepresentative: "赵六", Status: server.EnterpriseActive, RiskClass: server.RiskClass(string(class)),
		}
		if err := h.App.Enterprises.CreateEnterprise(sys, e); err != nil {
			t.Fatal(err)
		}
	}
	var items []int64
	for _, d := range []*server.Department{h.DeptA, h.DeptB} {
		it := &server.CheckItem{DepartmentID: d.ID, Code: d.Code + "-strata", Title: "明码标价", LegalBasis: "《价格法》"}
		if err := h.App.CheckItems.CreateCheckItem(sys, it); err != nil {
			t.Fatal(err)
		}
		items = append(items, it.ID)
	}
	now := h.Now().In(time.FixedZone("CST", 8*3600))
	c := &server.Campaign{
		Name: "分层抽查", LeadDepartmentID: h.DeptA.ID, DepartmentIDs: []int64{h.DeptA.ID, h.DeptB.ID},
		WindowStart: server.DateOf(now), WindowEnd: server.DateOf(now.AddDate(0, 0, 5)),
		Category: server.CategoryInternetCafe, Ratio: server.RatioTable{Default: "0.25", ByClass: map[string]string{"A": "0.34", "C": "1"}},
		InspectorsPerDepartment: 1, TargetsPerTeam: 2, CheckItemIDs: items,
		RandomnessSources:  []string{"中国福利彩票双色球开奖号码", "深圳证券交易所成份股价指数收盘值"},
		SourcesAvailableAt: h.SourcesAvailableAt(),
	}
	svc := h.App.Campaigns
	if err := svc.CreateCampaign(root, c); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CommitCampaign(root, c.ID); err != nil {
		t.Fatal(err)
	}
	h.Advance(time.Second)
	if _, err := svc.Draw(root, c.ID, []string{"03 09 14 22 27 33 + 11", "10234.56"}); err != nil {
		t.Fatal(err)
	}
	var rec draw.Record
	h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/record", c.ID), "", nil, http.StatusOK, &rec)
	for _, stratum := range []string{"A", ""} {
		for _, it := range rec.Selection {
			if it.Stratum == stratum {
				if _, err := svc.ReplaceTarget(root, c.ID, it.CreditCode, "已注销"); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
	}
	return c.ID
}

// crossCheck evaluates the page's verifier functions on vectors from
// server/draw: seeds (the RFC 3797 example's published numbers among the
// values), tickets, exact counts, and whole selections over random strata
// and ratios.
func crossCheck(t *testing.T, ctx context.Context) {
	t.Helper()
	eval := func(expr string, out any) {
		t.Helper()
		v := browsertest.Get(t, ctx, chromedp.Evaluate[string](`(async () => JSON.stringify(await (`+expr+`)))()`, chromedp.EvalAwaitPromise))
		if err := json.Unmarshal([]byte(v), out); err != nil {
			t.Fatalf("%s: %v (%s)", expr, err, v)
		}
	}
	js := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}

	// Seeds and tickets.
	r := rand.New(rand.NewPCG(12, 1))
	valueSets := [][]string{
		{"9319", "2 5 8 10 12", "9 18 26 34 41 45"}, // RFC 3797 §6's sources
		{"9319./2.5.8.10.12./9.18.26.34.41.45./"},   // and its key
		{"双色球 2026137期：02 11 17 24 28 31 + 05"},
		{"", "x"},
	}
	for i := 0; i < 3; i++ {
		valueSets = append(valueSets, []string{fmt.Sprint(r.IntN(1e6)), fmt.Sprintf("%d.%02d", r.IntN(20000), r.IntN(100))})
	}
	for i, values := range valueSets {
		digest := draw.Hash(sha256.Sum256([]byte(fmt.Sprintf("manifest %d", i))))
		want := draw.Seed(digest, values)
		var got string
		eval(fmt.Sprintf("spotcheckVerify.seed(%q, %s)", digest, js(values)), &got)
		if got != want.String() {
			t.Errorf("seed of %q: browser %s, server/draw %s", values, got, want)
		}
		for _, tc := range [][2]string{{"", "91350200000000001X"}, {"A", "913502030000000003"}, {"match/文化", "编号-01"}, {"culture", "CULTURE-0001"}} {
			var tk string
			eval(fmt.Sprintf("spotcheckVerify.ticket(%q, %q, %q)", want, tc[0], tc[1]), &tk)
			if w := draw.Ticket(want, tc[0], tc[1]).String(); tk != w {
				t.Errorf("ticket %q/%q: browser %s, server/draw %s", tc[0], tc[1], tk, w)
			}
		}
	}

	// Exact counts: 0.07 × 100 is 7, not 8.
	ratios := []string{"0", "1", "0.07", "0.15", "0.033", "0.5", "0.999", "0.1", "0.0000000000000000000000000000000000001"}
	for _, ratio := range ratios {
		for _, n := range []int{0, 1, 7, 100, 999, 12345, 1000003} {
			var got int
			eval(fmt.Sprintf("spotcheckVerify.count(%q, %d)", ratio, n), &got)
			if want := draw.MustRatio(ratio).Count(n); got != want {
				t.Errorf("count(%s, %d): browser %d, server/draw %d", ratio, n, got, want)
			}
		}
	}

	// Whole selections over random strata and ratios.
	type jsItem struct {
		ID      string `json:"id"`
		Stratum string `json:"stratum"`
		Ticket  string `json:"ticket,omitempty"`
	}
	for trial := 0; trial < 8; trial++ {
		seed := draw.Seed(draw.Hash(sha256.Sum256([]byte(fmt.Sprint("trial", trial)))), []string{fmt.Sprint(r.IntN(1e6))})
		names := []string{"", "A", "B", "文化/C", "D"}[:1+r.IntN(5)]
		ratio := map[string]string{}
		for _, s := range names {
			ratio[s] = ratios[r.IntN(len(ratios)-1)]
		}
		n := 1 + r.IntN(3000)
		items := make([]draw.Item, 0, n)
		list := make([]jsItem, 0, n)
		seen := map[string]bool{}
		for len(items) < n {
			id := fmt.Sprintf("9135%014d", r.IntN(1e9))
			if trial%3 == 2 {
				id = fmt.Sprintf("编号%d", r.IntN(1e9)) // not ASCII: byte order matters
			}
			if seen[id] {
				continue
			}
			seen[id] = true
			s := names[r.IntN(len(names))]
			items = append(items, draw.Item{ID: id, Stratum: s})
			list = append(list, jsItem{ID: id, Stratum: s})
		}
		want, err := draw.Sample(seed, items, func(s string) draw.Ratio { return draw.MustRatio(ratio[s]) })
		if err != nil {
			t.Fatal(err)
		}
		var got []jsItem
		eval(fmt.Sprintf("spotcheckVerify.sample(%q, %s, %s)", seed, js(list), js(ratio)), &got)
		if len(got) != len(want) {
			t.Fatalf("trial %d (%d items, ratios %v): browser selects %d, server/draw %d", trial, n, ratio, len(got), len(want))
		}
		for i := range want {
			if got[i].ID != want[i].ID || got[i].Stratum != want[i].Stratum || got[i].Ticket != want[i].Ticket.String() {
				t.Fatalf("trial %d, position %d: browser %+v, server/draw %s/%s/%s", trial, i, got[i], want[i].ID, want[i].Stratum, want[i].Ticket)
			}
		}
	}
}
