package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/draw"
)

// campaignCafes creates n active internet cafés with valid credit codes.
func campaignCafes(t *testing.T, h *apptest.Harness, n int) {
	t.Helper()
	ctx := app.SystemContext(context.Background())
	for i := range n {
		body := fmt.Sprintf("%08d", 60000000+i)
		first17 := "91350203" + body + string(server.OrgCodeCheckChar(body))
		e := &server.Enterprise{
			CreditCode: first17 + string(server.CreditCodeCheckChar(first17)), Name: fmt.Sprintf("星空网吧%02d号店", i+1),
			Category: server.CategoryInternetCafe, District: "思明区", Address: fmt.Sprintf("厦门市思明区湖滨南路%d号", i+1),
			LegalRepresentative: "李四", Status: server.EnterpriseActive,
		}
		if err := h.App.Enterprises.CreateEnterprise(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCampaignFieldwork_EndToEnd runs a whole joint campaign through the HTTP
// API: check items, draft, commit, draw, confirmation with one replacement, a
// recusal declared before the team draw, teams, packets, grouping reports
// and a filing; then re-verifies the public record.
func TestCampaignFieldwork_EndToEnd(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		campaignCafes(t, h, 60)
		// Two more inspectors per department, for teams of 2 + 2.
		people := map[string]*server.Inspector{}
		for k, v := range h.Inspectors {
			people[k] = v
		}
		for _, d := range []*server.Department{h.DeptA, h.DeptB} {
			for i := 3; i <= 4; i++ {
				in := &server.Inspector{
					DepartmentID: d.ID, Name: fmt.Sprintf("增援%s%d", d.Code, i), CertificateNumber: fmt.Sprintf("%s-%04d", strings.ToUpper(d.Code), i),
					CertificateValidFrom: server.Date{Year: 2024, Month: 1, Day: 1}, CertificateValidUntil: server.Date{Year: 2028, Month: 12, Day: 31},
					Phone: fmt.Sprintf("1380000%d%03d", d.ID, i), Status: server.InspectorActive,
				}
				if err := h.App.Inspectors.CreateInspector(app.SystemContext(context.Background()), in); err != nil {
					t.Fatal(err)
				}
				people[in.CertificateNumber] = in
			}
		}
		tok := map[string]string{}
		for _, u := range []string{"root", "admin-a", "admin-b", "coord-a", "coord-b", "insp-a1", "insp-a2", "insp-b1"} {
			tok[u] = h.Token(t, u)
		}

		// Check items for both departments.
		var items []int64
		for _, it := range []struct{ who, code, title string }{
			{"admin-a", "WH-01", "是否落实实名登记上网"}, {"admin-a", "WH-02", "是否接纳未成年人"},
			{"admin-b", "SC-01", "营业执照是否公示"},
		} {
			var out struct {
				ID int64 `json:"id"`
			}
			h.MustDo(t, "POST", "/v1/check-items", tok[it.who], api.CreateCheckItemRequest{Code: it.code, Title: it.title, LegalBasis: "《互联网上网服务营业场所管理条例》"}, http.StatusCreated, &out)
			items = append(items, out.ID)
		}

		// Draft, commit, draw.
		var camp api.Campaign
		h.MustDo(t, "POST", "/v1/campaigns", tok["coord-a"], api.CreateCampaignRequest{
			Name: "2026年冬季网吧联合抽查", LeadDepartmentID: h.DeptA.ID, DepartmentIDs: []int64{h.DeptA.ID, h.DeptB.ID},
			WindowStart: server.Date{Year: 2026, Month: 11, Day: 9}, WindowEnd: server.Date{Year: 2026, Month: 11, Day: 16},
			Category: server.CategoryInternetCafe, Ratio: server.RatioTable{Default: "0.15"},
			InspectorsPerDepartment: 2, TargetsPerTeam: 5, CheckItemIDs: items,
			RandomnessSources:  []string{"中国福利彩票双色球第2026130期开奖号码", "深证成指2026-11-03收盘点位"},
			SourcesAvailableAt: h.SourcesAvailableAt(),
		}, http.StatusCreated, &camp)
		base := fmt.Sprintf("/v1/campaigns/%d", camp.ID)
		h.MustDo(t, "POST", base+"/commit", tok["coord-a"], nil, http.StatusOK, nil)
		h.Advance(time.Second) // the sources are public
		h.MustDo(t, "POST", base+"/draw", tok["coord-a"], api.DrawRequest{Randomness: []string{"03 08 15 21 27 33 + 09", "11234.56"}}, http.StatusOK, nil)
		var sels api.List[api.Selection]
		h.MustDo(t, "GET", base+"/selections", tok["coord-a"], nil, http.StatusOK, &sels)
		if len(sels.Items) != 9 { // ceil(0.15 × 60)
			t.Fatalf("%d selected, want 9", len(sels.Items))
		}

		// Confirmation: A confirms; B replaces one target, then confirms.
		var conf api.ConfirmationList
		h.MustDo(t, "GET", base+"/confirmations", tok["admin-b"], nil, http.StatusOK, &conf)
		if conf.ConfirmDeadline == nil || len(conf.Items) != 2 || conf.Items[0].ConfirmedAt != nil || conf.Items[0].Overdue {
			t.Fatalf("confirmations before: %+v", conf)
		}
		h.MustDo(t, "POST", base+"/confirm", tok["admin-a"], nil, http.StatusOK, nil)
		if r := h.Do(t, "POST", base+"/teams", tok["coord-a"], nil); r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "market") {
			t.Fatalf("teams before B confirmed: %d %s", r.Status, r.Body)
		}
		gone := sels.Items[3].CreditCode
		var rp api.Replacement
		h.MustDo(t, "POST", base+"/replacements", tok["admin-b"], api.ReplaceTargetRequest{CreditCode: gone, Reason: "已注销 (deregistered)"}, http.StatusCreated, &rp)
		if rp.Seq != 1 || rp.ReplacedCode != gone || rp.ReplacementCode == "" || slices.ContainsFunc(sels.Items, func(s api.Selection) bool { return s.CreditCode == rp.ReplacementCode }) {
			t.Fatalf("replacement %+v", rp)
		}
		// A confirmed the old targets: the replacement re-opened its confirmation.
		h.MustDo(t, "GET", base+"/confirmations", tok["coord-a"], nil, http.StatusOK, &conf)
		if len(conf.Reopenings) != 1 || conf.Reopenings[0].DepartmentCode != "culture" || conf.Reopenings[0].ReplacementSeq != 1 ||
			conf.Reopenings[0].ReopenedBy != h.Users["admin-b"].ID || conf.Items[0].ConfirmedAt != nil {
			t.Fatalf("confirmations after the replacement: %+v", conf)
		}
		h.MustDo(t, "POST", base+"/confirm", tok["admin-b"], nil, http.StatusOK, nil)
		if r := h.Do(t, "POST", base+"/teams", tok["coord-a"], nil); r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "culture") {
			t.Fatalf("teams before A confirmed again: %d %s", r.Status, r.Body)
		}
		h.MustDo(t, "POST", base+"/confirm", tok["admin-a"], nil, http.StatusOK, nil)
		h.MustDo(t, "GET", base+"/confirmations", tok["coord-a"], nil, http.StatusOK, &conf)
		for _, c := range conf.Items {
			if c.ConfirmedAt == nil || c.Overdue {
				t.Fatalf("confirmation %+v", c)
			}
		}

		// insp-a1 declares a conflict with a current target before the team draw.
		recused := sels.Items[0].CreditCode
		var decl api.Declaration
		h.MustDo(t, "POST", "/v1/declarations", tok["insp-a1"], api.CreateDeclarationRequest{
			InspectorID: *h.Users["insp-a1"].InspectorID, CreditCode: recused, Reason: "其配偶为该网吧股东",
		}, http.StatusCreated, &decl)
		// It counts once their department admin approves it.
		h.MustDo(t, "POST", fmt.Sprintf("/v1/declarations/%d/approve", decl.ID), tok["admin-a"], api.DeclarationReasonRequest{}, http.StatusOK, nil)

		// Teams.
		var teams api.List[api.Team]
		h.MustDo(t, "POST", base+"/teams", tok["coord-a"], nil, http.StatusCreated, &teams)
		if len(teams.Items) != 2 {
			t.Fatalf("%d teams, want 2", len(teams.Items))
		}
		targets := 0
		for _, tm := range teams.Items {
			targets += len(tm.Targets)
			if len(tm.Members) != 4 {
				t.Fatalf("team %d has %d members", tm.Number, len(tm.Members))
			}
			for _, m := range tm.Members {
				if m.CertificateNumber == h.Inspectors["insp-a1"].CertificateNumber && slices.Contains(tm.Targets, recused) {
					t.Fatalf("insp-a1 matched to %s, from which they are recused", recused)
				}
				if m.Phone == "" {
					t.Fatalf("lead coordinator sees no phone for %s", m.Name)
				}
			}
		}
		if targets != 9 {
			t.Fatalf("%d targets matched, want 9", targets)
		}
		var seenByB api.List[api.Team] // fresh: phone is omitted when hidden
		h.MustDo(t, "GET", base+"/teams", tok["admin-b"], nil, http.StatusOK, &seenByB)
		for _, tm := range seenByB.Items {
			for _, m := range tm.Members {
				if (m.Phone != "") != (m.DepartmentID == h.DeptB.ID) {
					t.Fatalf("admin-b sees phone %q of a %s member", m.Phone, m.Department)
				}
			}
		}

		// Packets: idempotent; a team member reads theirs, others get 404.
		var ps, again api.List[api.Packet]
		h.MustDo(t, "POST", base+"/packets", tok["coord-a"], nil, http.StatusOK, &ps)
		h.MustDo(t, "POST", base+"/packets", tok["coord-a"], nil, http.StatusOK, &again)
		if len(ps.Items) != 9 || len(again.Items) != 9 || ps.Items[0].ID != again.Items[0].ID {
			t.Fatalf("packets %d then %d", len(ps.Items), len(again.Items))
		}
		p := ps.Items[0]
		if len(p.Content.Sections) != 2 || len(p.Content.Sections[0].Items) != 2 || len(p.Content.Sections[1].Items) != 1 ||
			len(p.Content.Team) != 4 || p.Content.Enterprise.Address == "" {
			t.Fatalf("packet %+v", p)
		}
		inTeam := map[int64]bool{}
		for _, m := range p.Content.Team {
			inTeam[m.InspectorID] = true
		}
		for _, u := range []string{"insp-a1", "insp-a2", "insp-b1"} {
			want := http.StatusNotFound
			if inTeam[*h.Users[u].InspectorID] {
				want = http.StatusOK
			}
			h.MustDo(t, "GET", "/v1/packets/"+p.ID, tok[u], nil, want, nil)
		}
		h.MustDo(t, "GET", base+"/packets", tok["admin-b"], nil, http.StatusOK, nil)

		// Grouping reports.
		report := func(who, query string, want int) []byte {
			t.Helper()
			return h.MustDo(t, "GET", base+"/grouping-report"+query, tok[who], nil, want, nil).Body
		}
		own := report("admin-a", fmt.Sprintf("?format=csv&department_id=%d", h.DeptA.ID), http.StatusOK)
		if !bytes.HasPrefix(own, []byte("\ufeff")) {
			t.Fatal("CSV has no byte-order mark")
		}
		rows, err := csv.NewReader(bytes.NewReader(own[3:])).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 10 || rows[0][0] != "部门" {
			t.Fatalf("admin-a CSV has %d rows: %q", len(rows), rows)
		}
		for _, row := range rows[1:] {
			if row[0] != h.DeptA.Name || row[7] == "" {
				t.Fatalf("admin-a CSV row %q", row)
			}
		}
		for name, in := range people {
			if in.DepartmentID == h.DeptB.ID && (bytes.Contains(own, []byte(in.Phone)) || bytes.Contains(own, []byte(in.Name))) {
				t.Fatalf("admin-a report shows department B's %s", name)
			}
		}
		if !bytes.Equal(report("admin-a", "", http.StatusOK), own) {
			t.Fatal("admin-a's default report differs from their department's")
		}
		report("admin-a", fmt.Sprintf("?department_id=%d", h.DeptB.ID), http.StatusNotFound)
		report("coord-b", "", http.StatusNotFound)
		report("insp-a1", "", http.StatusForbidden)
		all := report("coord-a", "?format=csv", http.StatusOK)
		if !bytes.Contains(all, []byte(h.Inspectors["insp-b1"].Phone)) && !bytes.Contains(all, []byte(people["MARKET-0003"].Phone)) {
			t.Fatal("lead coordinator's report lacks department B's phones")
		}
		xl := report("coord-a", "?format=xlsx", http.StatusOK)
		f, err := excelize.OpenReader(bytes.NewReader(xl))
		if err != nil {
			t.Fatal(err)
		}
		if got := f.GetSheetList(); !slices.Equal(got, []string{"culture", "market"}) {
			t.Fatalf("sheets %v", got)
		}
		xrows, err := f.GetRows("market")
		if err != nil || len(xrows) != 10 || xrows[1][0] != h.DeptB.Name {
			t.Fatalf("market sheet %q %v", xrows, err)
		}
		f.Close()
		xa := report("admin-a", "?format=xlsx", http.StatusOK)
		if f, err = excelize.OpenReader(bytes.NewReader(xa)); err != nil || !slices.Equal(f.GetSheetList(), []string{"culture"}) {
			t.Fatalf("admin-a workbook: %v", err)
		}

		// The PDF holds every row of the CSV, and a department's own PDF
		// none of another department's people.
		allRows, err := csv.NewReader(bytes.NewReader(all[3:])).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		r := h.MustDo(t, "GET", base+"/grouping-report?format=pdf", tok["coord-a"], nil, http.StatusOK, nil)
		if r.Header.Get("Content-Type") != "application/pdf" || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("grouping PDF headers %v", r.Header)
		}
		ptxt := pdfText(t, r.Body)
		pdfHas(t, ptxt, "分组情况报告", camp.Name, h.DeptA.Name, h.DeptB.Name)
		for _, row := range allRows[1:] {
			pdfHas(t, ptxt, row[2], row[3])
			for _, cell := range row[5:8] { // one person a line in the PDF
				pdfHas(t, ptxt, strings.Split(cell, "、")...)
			}
		}
		atxt := pdfText(t, report("admin-a", "?format=pdf", http.StatusOK))
		for name, in := range people {
			if in.DepartmentID == h.DeptB.ID && strings.Contains(strings.Join(strings.Fields(atxt), ""), in.Phone) {
				t.Fatalf("admin-a's PDF shows department B's %s", name)
			}
		}
		report("coord-a", "?format=doc", http.StatusBadRequest)

		// Filing records the hash of the department's CSV.
		var fl api.GroupingFiling
		h.MustDo(t, "POST", base+"/grouping-report/filing", tok["admin-a"], nil, http.StatusCreated, &fl)
		sum := sha256.Sum256(own)
		if fl.DepartmentID != h.DeptA.ID || fl.ReportSHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("filing %+v", fl)
		}
		h.MustDo(t, "POST", base+"/grouping-report/filing", tok["admin-a"], map[string]int64{"department_id": h.DeptB.ID}, http.StatusNotFound, nil)
		h.MustDo(t, "POST", base+"/grouping-report/filing", tok["root"], nil, http.StatusBadRequest, nil)
		h.MustDo(t, "POST", base+"/grouping-report/filing", tok["root"], map[string]int64{"department_id": h.DeptB.ID}, http.StatusCreated, nil)
		var fls api.List[api.GroupingFiling]
		h.MustDo(t, "GET", base+"/grouping-report/filings", tok["coord-a"], nil, http.StatusOK, &fls)
		if len(fls.Items) != 2 {
			t.Fatalf("%d filings", len(fls.Items))
		}

		// The public record re-verifies, names an altered selection, and holds no personal data.
		pub := h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/record", camp.ID), "", nil, http.StatusOK, nil).Body
		for name, in := range people {
			if bytes.Contains(pub, []byte(in.Phone)) || bytes.Contains(pub, []byte(in.Name)) {
				t.Fatalf("public record shows %s's phone or name", name)
			}
		}
		var rec draw.Record
		if err := json.Unmarshal(pub, &rec); err != nil {
			t.Fatal(err)
		}
		if err := draw.Verify(&rec); err != nil {
			t.Fatalf("verify: %v", err)
		}
		if len(rec.Replacements) != 1 || len(rec.LateRecusalCommitments) != 1 || len(rec.Teams) != 2 || len(rec.Matches) != 9 {
			t.Fatalf("record: %d replacements, %d late recusal commitments, %d teams, %d matches",
				len(rec.Replacements), len(rec.LateRecusalCommitments), len(rec.Teams), len(rec.Matches))
		}
		// The recusal is public as a commitment only; the times are public.
		if len(rec.LateRecusals) != 0 || bytes.Contains(pub, []byte(`"late_recusals"`)) {
			t.Fatalf("the public record names recusal pairs: %+v", rec.LateRecusals)
		}
		if rec.CommittedAt == "" || rec.SourcesAvailableAt == "" || rec.DrawnAt == "" || rec.CommittedAt >= rec.SourcesAvailableAt || rec.DrawnAt < rec.SourcesAvailableAt {
			t.Fatalf("record times: committed %q, sources %q, drawn %q", rec.CommittedAt, rec.SourcesAvailableAt, rec.DrawnAt)
		}
		// An auditor (the lead coordinator) opens the commitments; others may not.
		h.MustDo(t, "GET", base+"/recusal-openings", tok["admin-a"], nil, http.StatusForbidden, nil)
		h.MustDo(t, "GET", base+"/recusal-openings", tok["coord-b"], nil, http.StatusNotFound, nil)
		var op api.RecusalOpenings
		h.MustDo(t, "GET", base+"/recusal-openings", tok["coord-a"], nil, http.StatusOK, &op)
		if len(op.Openings) != 1 || !op.Openings[0].Late || op.Openings[0].CreditCode != recused ||
			op.Openings[0].Certificate != h.Inspectors["insp-a1"].CertificateNumber {
			t.Fatalf("openings %+v", op)
		}
		openings := []draw.RecusalOpening{{Certificate: op.Openings[0].Certificate, CreditCode: op.Openings[0].CreditCode, Salt: op.Openings[0].Salt, Late: true}}
		if v, err := draw.VerifyOpenings(&rec, openings); err != nil || !v.RecusalsKnown {
			t.Fatalf("verify with the openings: %+v %v", v, err)
		}
		rec.Selection[4].CreditCode = rp.ReplacementCode
		var dis *draw.Disagreement
		if err := draw.Verify(&rec); !errors.As(err, &dis) || dis.Where != "selection[4]" {
			t.Fatalf("altered record: %v", err)
		}
	})
}

// TestCampaignFieldwork_OtherDepartment checks department A's staff meet
// nothing but 403 or 404 on a campaign only department B takes part in.
func TestCampaignFieldwork_OtherDepartment(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		w := &walk{h: h}
		path := w.drawnCampaign(t, "b")
		pkt := w.packet(t, "b")
		for _, who := range []string{"admin-a", "coord-a", "insp-a1"} {
			tk := h.Token(t, who)
			for _, rt := range []struct {
				method, path string
				body         any
			}{
				{"POST", path + "/confirm", nil}, {"GET", path + "/confirmations", nil},
				{"POST", path + "/replacements", api.ReplaceTargetRequest{CreditCode: "x", Reason: "x"}},
				{"GET", path + "/replacements", nil}, {"POST", path + "/teams", nil}, {"GET", path + "/teams", nil},
				{"POST", path + "/packets", nil}, {"GET", path + "/packets", nil}, {"GET", pkt, nil},
				{"GET", path + "/grouping-report", nil}, {"POST", path + "/grouping-report/filing", nil},
				{"GET", path + "/grouping-report/filings", nil},
			} {
				r := h.Do(t, rt.method, rt.path, tk, rt.body)
				if r.Status != http.StatusNotFound && r.Status != http.StatusForbidden {
					t.Errorf("%s %s as %s: %d %s", rt.method, rt.path, who, r.Status, r.Body)
				}
				// Admins pass the role gate of every route but these two.
				gated := rt.method == "POST" && (strings.HasSuffix(rt.path, "/teams") || strings.HasSuffix(rt.path, "/packets"))
				if who == "admin-a" && !gated && r.Status != http.StatusNotFound {
					t.Errorf("%s %s as admin-a: %d, want 404", rt.method, rt.path, r.Status)
				}
			}
		}
	})
}
