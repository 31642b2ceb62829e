package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
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
		strat := drawStratified(t, h, 1, true)
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
		// The tickets were computed with progress shown, every one of them.
		if got := browsertest.Get(t, ctx, chromedp.Evaluate[[]float64](`(p => [p.value, p.max, p.hidden ? 1 : 0])(document.getElementById("verify-progress"))`)); got[0] != float64(len(m.Population)) || got[1] != got[0] || got[2] != 1 {
			t.Errorf("progress after the verification (value, max, hidden): %v, population %d", got, len(m.Population))
		}
		if hasStep(steps, "检查组一致") {
			t.Errorf("teams checked before the team draw: %q", steps)
		}
		assertChinese(t, ctx)
		browsertest.Screenshot(t, ctx, "public-draw")
		assertFits(t, ctx, 820, 1180)
		browsertest.Do(t, ctx, chromedp.EmulateReset())

		// The script's arithmetic is server/draw's, and so are its verdicts on
		// records of every manifest version, faithful or altered.
		crossCheck(t, ctx)
		crossCheckRecords(t, ctx)

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

		// Before the draw: the manifest, its digest and the times, and the
		// page says the rest comes after the draw.
		committed := drawStratified(t, h, 2, false)
		steps = verifyInPage(t, ctx, h.URL, committed, "ok")
		if len(steps) != 4 || !hasStep(steps, "清单摘要一致") || !hasStep(steps, "清单格式规范") || !hasStep(steps, "时间顺序一致") || !hasStep(steps, "尚未摇号") {
			t.Errorf("before the draw: %q", steps)
		}
		if got := browsertest.Text(t, ctx, "#verify-status"); got != "核验通过：清单摘要一致；尚未摇号。" {
			t.Errorf("before the draw: status %q", got)
		}

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
// rest, and (if draws) draws it and replaces a target of stratum A and one of
// the default stratum. n keeps its cafés and check items apart from
// another call's.
func drawStratified(t *testing.T, h *apptest.Harness, n int, draws bool) int64 {
	t.Helper()
	sys := app.SystemContext(context.Background())
	root := server.NewContextWithUser(context.Background(), h.Users["root"])
	classes := "AAAAAAABBBBBCCCD"
	for i, class := range classes {
		body := fmt.Sprintf("%08d", 70000000+100*n+i)
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
		it := &server.CheckItem{DepartmentID: d.ID, Code: fmt.Sprintf("%s-strata-%d", d.Code, n), Title: "明码标价", LegalBasis: "《价格法》"}
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
	if !draws {
		return c.ID
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

	// Byte order of ids: UTF-16 order differs from it past U+FFFF.
	words := []string{"", "A", "a", "9135", "文化", "＃", "\U00020000", "\U00020000a", "\uffff", "\ue000", "编号"}
	for _, x := range words {
		for _, y := range words {
			var got int
			eval(fmt.Sprintf("Math.sign(spotcheckVerify.cmpBytes(%s, %s))", js(x), js(y)), &got)
			if want := strings.Compare(x, y); got != want {
				t.Errorf("cmpBytes(%q, %q): browser %d, Go %d", x, y, got, want)
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

// buildRecord makes a faithful record of a campaign from server/draw's
// functions, with a manifest of the given version (1: recusals in the
// clear; 2: salted commitments; 3: and materials), two replacements and
// the teams and matches with the recusals applied.
func buildRecord(t *testing.T, version int) *draw.Record {
	t.Helper()
	m := &draw.Manifest{
		Version: version, CampaignID: int64(40 + version), Name: "分层联合抽查", WindowStart: "2026-12-01", WindowEnd: "2026-12-06", Lead: "culture",
		Departments: []draw.ManifestDepartment{{Code: "culture", CheckItems: []string{"WH-01@2"}}, {Code: "market", CheckItems: []string{"SC-01@1"}}},
		Category:    "internet_cafe", Status: "active", ExclusionMonths: 6,
		Ratios:                  map[string]draw.Ratio{"A": draw.MustRatio("0.07"), "B": draw.MustRatio("0.15"), "": draw.MustRatio("0.033")},
		InspectorsPerDepartment: 2, TargetsPerTeam: 3,
		Randomness: []string{"双色球第2026140期开奖号码", "深证成指2026-12-01收盘点位"},
		Exclusions: []draw.Exclusion{{CreditCode: "913502030000000999", Reason: "近期已检查"}},
	}
	for i := 0; i < 700; i++ {
		m.Population = append(m.Population, draw.PopulationEntry{CreditCode: fmt.Sprintf("91350203%010d", i), Stratum: []string{"A", "B", ""}[i%3]})
	}
	for _, d := range []string{"culture", "market"} {
		for i := 0; i < 12; i++ {
			m.Inspectors = append(m.Inspectors, draw.RosterEntry{Department: d, Certificate: fmt.Sprintf("%s-%02d", d, i)})
		}
	}
	if version >= draw.ManifestV2 {
		m.SourcesAvailableAt = "2026-11-20T13:30:00Z"
	}
	if version >= draw.ManifestV3 {
		m.Departments[0].Materials = []string{"网络文化经营许可证", "营业执照"}
	}
	values := []string{"03 09 14 21 27 30 + 11", "10432.17"}
	var buf strings.Builder
	recusals := []draw.Recusal{{Certificate: "culture-01", CreditCode: m.Population[3].CreditCode}, {Certificate: "market-02", CreditCode: m.Population[4].CreditCode}}
	switch version {
	case draw.ManifestV1:
		m.Recusals = recusals
	case draw.ManifestV2:
		// None at commit: the one declared later must account for the
		// match it moves.
		recusals = nil
	default:
		for i, r := range recusals {
			m.RecusalCommitments = append(m.RecusalCommitments, draw.RecusalCommitment([32]byte{byte(i + 1)}, r.Certificate, r.CreditCode))
		}
	}
	m.Normalize()
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	digest, _ := m.Digest()
	seed := draw.Seed(digest, values)
	items := make([]draw.Item, len(m.Population))
	for i, p := range m.Population {
		items[i] = draw.Item{ID: p.CreditCode, Stratum: p.Stratum}
	}
	sel, err := draw.Sample(seed, items, func(s string) draw.Ratio { return m.Ratios[s] })
	if err != nil {
		t.Fatal(err)
	}
	rec := &draw.Record{Format: draw.RecordFormatV2, CampaignID: m.CampaignID, Algorithm: draw.AlgorithmID,
		Manifest: buf.String(), ManifestDigest: digest.String(), Randomness: values, Seed: seed.String()}
	if version == draw.ManifestV1 {
		rec.Format = draw.RecordFormatV1
	} else {
		rec.CommittedAt, rec.SourcesAvailableAt, rec.DrawnAt = "2026-11-19T09:00:00Z", m.SourcesAvailableAt, "2026-11-20T14:02:41Z"
	}
	current := map[string]draw.Item{}
	used := map[string]bool{}
	for _, it := range sel {
		rec.Selection = append(rec.Selection, draw.RecordItem{CreditCode: it.ID, Stratum: it.Stratum, Ticket: it.Ticket.String()})
		current[it.ID], used[it.ID] = it, true
	}
	for i, code := range []string{sel[0].ID, sel[1].ID} {
		next, ok := draw.Next(seed, m.Population, current[code].Stratum, used)
		if !ok {
			t.Fatal("stratum exhausted")
		}
		rec.Replacements = append(rec.Replacements, draw.RecordReplacement{Seq: i + 1, Replaced: code, Reason: "已注销",
			Replacement: draw.RecordItem{CreditCode: next.ID, Stratum: next.Stratum, Ticket: next.Ticket.String()}})
		delete(current, code)
		current[next.ID], used[next.ID] = next, true
	}
	var targets []draw.Target
	for _, p := range m.Population {
		if it, ok := current[p.CreditCode]; ok {
			targets = append(targets, draw.Target{CreditCode: it.ID, Stratum: it.Stratum})
		}
	}
	// A recusal declared after commit that moves the first target away
	// from the team the rule without recusals gives it.
	free, err := draw.DrawTeams(seed, m.Inspectors, []string{"culture", "market"}, m.InspectorsPerDepartment, m.TargetsPerTeam, targets, nil)
	if err != nil {
		t.Fatal(err)
	}
	late := draw.Recusal{Certificate: free.Teams[0].Members[0].Certificate, CreditCode: free.Matches[0].CreditCode}
	if version == draw.ManifestV1 {
		rec.LateRecusals = []draw.Recusal{late}
	} else {
		rec.LateRecusalCommitments = []string{draw.RecusalCommitment([32]byte{9}, late.Certificate, late.CreditCode).String()}
	}
	td, err := draw.DrawTeams(seed, m.Inspectors, []string{"culture", "market"}, m.InspectorsPerDepartment, m.TargetsPerTeam, targets, append(recusals, late))
	if err != nil {
		t.Fatal(err)
	}
	if td.Matches[0].Team == free.Matches[0].Team {
		t.Fatal("the late recusal does not move its target")
	}
	for _, tm := range td.Teams {
		rt := draw.RecordTeam{Team: tm.Number}
		for _, mb := range tm.Members {
			rt.Members = append(rt.Members, draw.RecordMember{Department: mb.Department, Certificate: mb.Certificate, Ticket: mb.Ticket.String()})
		}
		rec.Teams = append(rec.Teams, rt)
	}
	for _, mt := range td.Matches {
		rec.Matches = append(rec.Matches, draw.RecordMatch{CreditCode: mt.CreditCode, Team: mt.Team, Ticket: mt.Ticket.String()})
	}
	if err := draw.Verify(rec); err != nil {
		t.Fatalf("v%d: the record built for the cross-check does not verify: %v", version, err)
	}
	return rec
}

// crossCheckRecords runs the page's verifier on records of manifests v1,
// v2 and v3, faithful and altered, and requires it to agree with
// draw.Verify on each: accepted, or refused.
func crossCheckRecords(t *testing.T, ctx context.Context) {
	t.Helper()
	run := func(rec *draw.Record) (ok bool, steps []string, failure string) {
		t.Helper()
		b, _ := json.Marshal(rec)
		var out struct {
			OK      bool     `json:"ok"`
			Steps   []string `json:"steps"`
			Failure string   `json:"failure"`
		}
		v := browsertest.Get(t, ctx, chromedp.Evaluate[string](`(async () => {
			const text = parts => [].concat(parts).map(p => typeof p === "string" ? p : p.code).join("");
			const rec = `+string(b)+`;
			const steps = [];
			try {
				await spotcheckVerify.verifyDraw(new TextEncoder().encode(rec.manifest), rec, rec.manifest_digest,
					(title, parts) => steps.push(text(title) + "：" + text(parts)), null);
				return JSON.stringify({ ok: true, steps });
			} catch (e) {
				return JSON.stringify({ ok: false, steps, failure: e.detail ? text(e.title) + "：" + text(e.detail) : "error: " + e });
			}
		})()`, chromedp.EvalAwaitPromise))
		if err := json.Unmarshal([]byte(v), &out); err != nil {
			t.Fatal(err)
		}
		return out.OK, out.Steps, out.Failure
	}
	for _, version := range []int{draw.ManifestV1, draw.ManifestV2, draw.ManifestV3} {
		rec := buildRecord(t, version)
		ok, steps, failure := run(rec)
		if !ok {
			t.Fatalf("v%d: a faithful record fails in the browser: %s (after %q)", version, failure, steps)
		}
		if want := fmt.Sprintf("清单格式规范：第 %d 版清单，抽取范围 700 户，3 个分层比例，2 个公开随机数来源。", version); !slices.Contains(steps, want) {
			t.Errorf("v%d: no step %q in %q", version, want, steps)
		}
		last := steps[len(steps)-1]
		if !strings.HasPrefix(last, "匹配一致：") {
			t.Errorf("v%d: last step %q", version, last)
		}

		alter := []struct {
			name    string
			refused bool // draw.Verify refuses it (checked below)
			either  bool // whether it does depends on the draw
			fn      func(r *draw.Record)
		}{
			{"Selection", true, false, func(r *draw.Record) { r.Selection[2].CreditCode = r.Replacements[0].Replacement.CreditCode }},
			{"Ticket", true, false, func(r *draw.Record) { r.Selection[1].Ticket = r.Selection[0].Ticket }},
			{"Randomness", true, false, func(r *draw.Record) { r.Randomness[1] = "10432.18" }},
			{"Seed", true, false, func(r *draw.Record) { r.Seed = r.ManifestDigest }},
			{"Digest", true, false, func(r *draw.Record) { r.ManifestDigest = r.Seed }},
			{"Replacement", true, false, func(r *draw.Record) { r.Replacements[1].Replacement = r.Selection[5] }},
			{"ReplacementSeq", true, false, func(r *draw.Record) { r.Replacements[1].Seq = 3 }},
			{"Team", true, false, func(r *draw.Record) { r.Teams[0].Members[0].Certificate = "culture-99" }},
			{"MatchOrder", true, false, func(r *draw.Record) { r.Matches[0], r.Matches[1] = r.Matches[1], r.Matches[0] }},
			{"MatchTeam", version == draw.ManifestV1, version > draw.ManifestV1, func(r *draw.Record) { r.Matches[1].Team = r.Matches[1].Team%len(r.Teams) + 1 }},
			{"MatchTeams", true, false, func(r *draw.Record) {
				for i := range r.Matches {
					r.Matches[i].Team = r.Matches[i].Team%len(r.Teams) + 1
				}
			}},
			{"NonCanonical", true, false, func(r *draw.Record) {
				r.Manifest = strings.Replace(r.Manifest, "ratio\tB\t0.15\n", "ratio\tB\t0.150\n", 1)
				r.ManifestDigest = fmt.Sprintf("%x", sha256.Sum256([]byte(r.Manifest)))
			}},
			{"LatePairsOrCommitments", true, false, func(r *draw.Record) {
				if r.LateRecusals != nil {
					r.LateRecusals, r.LateRecusalCommitments = nil, []string{r.Seed}
				} else {
					r.LateRecusals = []draw.Recusal{{Certificate: "culture-01", CreditCode: r.Selection[0].CreditCode}}
				}
			}},
			{"SpaceInName", true, false, func(r *draw.Record) {
				r.Manifest = strings.Replace(r.Manifest, "name\t分层联合抽查\n", "name\t分层联合抽查\u3000\n", 1)
				r.ManifestDigest = fmt.Sprintf("%x", sha256.Sum256([]byte(r.Manifest)))
			}},
			{"DrawnEarly", version >= draw.ManifestV2, false, func(r *draw.Record) { r.DrawnAt = "2026-11-20T13:29:59Z" }},
			{"MaterialAdded", true, false, func(r *draw.Record) {
				r.Manifest = strings.Replace(r.Manifest, "filter\tcategory", "material\tculture\t1\t营业执照\nfilter\tcategory", 1)
				r.ManifestDigest = fmt.Sprintf("%x", sha256.Sum256([]byte(r.Manifest)))
			}},
		}
		for _, a := range alter {
			var bad draw.Record
			b, _ := json.Marshal(rec)
			json.Unmarshal(b, &bad)
			a.fn(&bad)
			goErr := draw.Verify(&bad)
			if (goErr != nil) != a.refused && !a.either {
				t.Fatalf("v%d %s: draw.Verify says %v", version, a.name, goErr)
			}
			ok, steps, failure := run(&bad)
			if ok == (goErr != nil) {
				t.Errorf("v%d %s: the browser says ok=%v (%s; steps %q), draw.Verify says %v", version, a.name, ok, failure, steps, goErr)
			}
		}
	}
}
