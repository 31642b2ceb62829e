package store_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/server/draw"
	"github.com/spotcheck/spotcheck/server/report"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

// drawnCampaign is a campaign laid down directly in the state the draw
// leaves it in: committed manifest, seed, initial selection, deadline.
type drawnCampaign struct {
	id        int64
	manifest  *draw.Manifest
	digest    draw.Hash
	seed      draw.Hash
	selection []draw.Item
	codes     map[string]*server.Enterprise
}

var fieldworkCampaigns atomic.Int64

// fieldworkCode returns a valid credit code unique to n.
func fieldworkCode(n int) string {
	body := fmt.Sprintf("%08d", 70000000+n)
	first17 := "91350203" + body + string(server.OrgCodeCheckChar(body))
	return first17 + string(server.CreditCodeCheckChar(first17))
}

// mustDrawnCampaign lays down a campaign of lead with depts taking part, over
// n internet cafés at ratio, with the fixture's inspectors as the roster.
func mustDrawnCampaign(t *testing.T, f *dirFixture, lead *server.Department, depts []*server.Department, n int, ratio string, perDept int) *drawnCampaign {
	t.Helper()
	exec := func(sql string, args ...any) {
		t.Helper()
		if err := f.db.ExecForTest(sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	dc := &drawnCampaign{codes: map[string]*server.Enterprise{}}
	// Explicit ids far above what the sequence hands out.
	id := 1000 + fieldworkCampaigns.Add(1)
	dc.id = id

	m := &draw.Manifest{
		CampaignID: id, Name: "2026年网吧联合抽查", WindowStart: "2026-11-09", WindowEnd: "2026-11-16",
		Lead: lead.Code, Category: server.CategoryInternetCafe, Status: "active",
		Ratios: map[string]draw.Ratio{"": draw.MustRatio(ratio)}, InspectorsPerDepartment: perDept, TargetsPerTeam: 2,
		Randomness: []string{"双色球第2026130期", "深证成指2026-11-03收盘"},
	}
	for _, d := range depts {
		m.Departments = append(m.Departments, draw.ManifestDepartment{Code: d.Code})
	}
	for _, in := range []*server.Inspector{f.inspA1, f.inspA2, f.inspB1} {
		for _, d := range depts {
			if d.ID == in.DepartmentID {
				m.Inspectors = append(m.Inspectors, draw.RosterEntry{Department: d.Code, Certificate: in.CertificateNumber})
			}
		}
	}
	for i := range n {
		e := fixtureEnterprise(fieldworkCode(int(id)*100+i), fmt.Sprintf("第%d网吧", i+1))
		f.mustCreateEnterprise(t, e)
		dc.codes[e.CreditCode] = e
		m.Population = append(m.Population, draw.PopulationEntry{CreditCode: e.CreditCode})
	}
	m.Normalize()
	var full bytes.Buffer
	if err := m.Encode(&full); err != nil {
		t.Fatal(err)
	}
	head := full.String()[:strings.Index(full.String(), "population\t")]
	digest, err := m.Digest()
	if err != nil {
		t.Fatal(err)
	}
	values := []string{"03 08 15 21 27 33 + 09", "11234.56"}
	seed := draw.Seed(digest, values)
	items := make([]draw.Item, len(m.Population))
	for i, p := range m.Population {
		items[i] = draw.Item{ID: p.CreditCode, Stratum: p.Stratum}
	}
	sel, err := draw.Sample(seed, items, func(string) draw.Ratio { return m.Ratios[""] })
	if err != nil {
		t.Fatal(err)
	}
	dc.manifest, dc.digest, dc.seed, dc.selection = m, digest, seed, sel

	now := storetest.Now
	deadline, err := calendar.China().AddWorkingDays(now.In(calendar.Shanghai()), 1)
	if err != nil {
		t.Fatal(err)
	}
	rv, _ := json.Marshal(values)
	rs, _ := json.Marshal(m.Randomness)
	exec(`INSERT INTO campaigns (id, name, status, lead_department_id, window_start, window_end, category, ratio_default,
		inspectors_per_department, targets_per_team, randomness_sources, created_by, created_at, updated_at,
		committed_at, committed_by, manifest_head, manifest_digest, population_size, randomness_values, seed, drawn_at, drawn_by, confirm_deadline)
		VALUES (?, ?, 'drawn', ?, ?, ?, ?, ?, ?, 2, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, m.Name, lead.ID, m.WindowStart, m.WindowEnd, m.Category, ratio, perDept, string(rs), f.root.ID, now, now,
		now, f.root.ID, head, digest.String(), n, string(rv), seed.String(), now, f.root.ID, deadline.UTC())
	for _, d := range depts {
		exec("INSERT INTO campaign_departments (campaign_id, department_id) VALUES (?, ?)", id, d.ID)
		exec(`INSERT INTO check_items (department_id, code, version, title, legal_basis, answer_type, created_at)
			VALUES (?, ?, 1, ?, '', 'compliance', ?)`, d.ID, fmt.Sprintf("%s-%d-01", d.Code, id), "是否亮证经营", now)
		exec(`INSERT INTO campaign_check_items (campaign_id, check_item_id)
			SELECT ?, id FROM check_items WHERE code = ?`, id, fmt.Sprintf("%s-%d-01", d.Code, id))
	}
	for _, p := range m.Population {
		exec("INSERT INTO campaign_population (campaign_id, credit_code, stratum, enterprise_id) VALUES (?, ?, ?, ?)",
			id, p.CreditCode, p.Stratum, dc.codes[p.CreditCode].ID)
	}
	for _, it := range sel {
		exec("INSERT INTO draw_selections (campaign_id, credit_code, stratum, ticket, kind) VALUES (?, ?, ?, ?, 'initial')",
			id, it.ID, it.Stratum, it.Ticket.String())
	}
	return dc
}

func TestCampaignService_Fieldwork(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDirFixture(t, db)
		svc := store.NewCampaignService(db, calendar.China())
		both := []*server.Department{f.deptA, f.deptB}
		dc := mustDrawnCampaign(t, f, f.deptA, both, 40, "0.15", 1)
		if len(dc.selection) != 6 {
			t.Fatalf("selected %d, want 6", len(dc.selection))
		}
		id := dc.id

		t.Run("Confirmations", func(t *testing.T) {
			st, err := svc.FindConfirmationStatus(as(f.coordA), id)
			if err != nil {
				t.Fatal(err)
			}
			if st.ConfirmDeadline == nil || len(st.Confirmations) != 2 || st.Confirmations[0].Overdue {
				t.Fatalf("status %+v", st)
			}
			_, err = svc.ConfirmTargets(as(f.coordA), id)
			wantErrorCode(t, err, server.EFORBIDDEN)
			_, err = svc.ConfirmTargetsFor(as(f.root), id, nil)
			wantErrorCode(t, err, server.EINVALID)
			_, err = svc.ConfirmTargetsFor(as(f.adminA), id, &f.deptB.ID)
			wantErrorCode(t, err, server.ENOTFOUND)
			cf, err := svc.ConfirmTargets(as(f.adminA), id)
			if err != nil || cf.DepartmentID != f.deptA.ID || *cf.ConfirmedBy != f.adminA.ID {
				t.Fatalf("confirm: %+v %v", cf, err)
			}
			again, err := svc.ConfirmTargets(as(f.adminA), id)
			if err != nil || !again.ConfirmedAt.Equal(*cf.ConfirmedAt) {
				t.Fatalf("confirm twice: %+v %v", again, err)
			}
			// Two days on, department B is overdue; A is not.
			old := db.Now
			db.Now = func() time.Time { return storetest.Now.Add(72 * time.Hour) }
			st, err = svc.FindConfirmationStatus(as(f.adminB), id)
			db.Now = old
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range st.Confirmations {
				if c.Overdue != (c.DepartmentID == f.deptB.ID) {
					t.Fatalf("overdue %+v", c)
				}
			}
		})

		t.Run("TeamsBeforeAllConfirmed", func(t *testing.T) {
			_, err := svc.DrawTeams(as(f.coordA), id)
			wantErrorCode(t, err, server.ECONFLICT)
			if !strings.Contains(server.ErrorMessage(err), "market") {
				t.Fatalf("message does not name market: %v", err)
			}
		})

		var replacement *server.Replacement
		t.Run("Replace", func(t *testing.T) {
			gone := dc.selection[2].ID
			_, err := svc.ReplaceTarget(as(f.adminB), id, gone, "")
			wantErrorCode(t, err, server.EINVALID)
			_, err = svc.ReplaceTarget(as(f.adminB), id, fieldworkCode(1), "已注销")
			wantErrorCode(t, err, server.EINVALID)
			_, err = svc.ReplaceTarget(as(f.coordB), id, gone, "已注销")
			wantErrorCode(t, err, server.EFORBIDDEN)
			replacement, err = svc.ReplaceTarget(as(f.adminB), id, gone, "已注销 (deregistered)")
			if err != nil {
				t.Fatal(err)
			}
			used := map[string]bool{}
			for _, it := range dc.selection {
				used[it.ID] = true
			}
			want, _ := draw.Next(dc.seed, dc.manifest.Population, "", used)
			if replacement.Seq != 1 || replacement.ReplacedCode != gone || replacement.ReplacementCode != want.ID ||
				replacement.DepartmentID == nil || *replacement.DepartmentID != f.deptB.ID {
				t.Fatalf("replacement %+v, want %s", replacement, want.ID)
			}
			_, err = svc.ReplaceTarget(as(f.adminB), id, gone, "again")
			wantErrorCode(t, err, server.EINVALID)
			rs, err := svc.FindReplacements(as(f.coordA), id)
			if err != nil || len(rs) != 1 {
				t.Fatalf("replacements %v %v", rs, err)
			}

			// A had confirmed the targets before the replacement: its
			// confirmation is re-opened, with a record, and teams wait for it.
			st, err := svc.FindConfirmationStatus(as(f.coordA), id)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range st.Confirmations {
				if c.ConfirmedAt != nil {
					t.Fatalf("department %d still confirmed after the replacement: %+v", c.DepartmentID, c)
				}
			}
			if len(st.Reopenings) != 1 {
				t.Fatalf("reopenings %+v", st.Reopenings)
			}
			ro := st.Reopenings[0]
			if ro.DepartmentID != f.deptA.ID || ro.ConfirmedBy != f.adminA.ID || ro.ReopenedBy != f.adminB.ID ||
				ro.ReplacementSeq != 1 || !ro.ReopenedAt.Equal(storetest.Now) || !strings.Contains(ro.Reason, "已注销") ||
				!strings.Contains(ro.Reason, gone) {
				t.Fatalf("reopening %+v", ro)
			}
			_, err = svc.DrawTeams(as(f.coordA), id)
			wantErrorCode(t, err, server.ECONFLICT)
			if !strings.Contains(server.ErrorMessage(err), f.deptA.Code) {
				t.Fatalf("message does not name %s: %v", f.deptA.Code, err)
			}
		})

		// insp-a1 declares a conflict with a current target after the commit.
		// It counts once their department admin approves it.
		recused := dc.selection[0].ID
		decl := &server.Declaration{InspectorID: f.inspA1.ID, EnterpriseID: dc.codes[recused].ID, Reason: "亲属经营"}
		if err := f.declarations.CreateDeclaration(as(f.userA1), decl); err != nil {
			t.Fatal(err)
		}
		if _, err := f.declarations.ReviewDeclaration(as(f.adminA), decl.ID, server.DeclarationApproved, ""); err != nil {
			t.Fatal(err)
		}

		var teams []*server.Team
		t.Run("DrawTeams", func(t *testing.T) {
			if _, err := svc.ConfirmTargetsFor(as(f.root), id, &f.deptB.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.ConfirmTargets(as(f.adminA), id); err != nil {
				t.Fatal(err)
			}
			_, err := svc.DrawTeams(as(f.adminA), id)
			wantErrorCode(t, err, server.EFORBIDDEN)
			_, err = svc.DrawTeams(as(f.coordB), id)
			wantErrorCode(t, err, server.EFORBIDDEN)
			teams, err = svc.DrawTeams(as(f.coordA), id)
			if err != nil {
				t.Fatal(err)
			}
			// One B inspector: one team of two (A, B) with all six targets.
			if len(teams) != 1 || len(teams[0].Members) != 2 || len(teams[0].Targets) != 6 {
				t.Fatalf("teams %+v", teams)
			}
			for _, m := range teams[0].Members {
				if m.CertificateNumber == f.inspA1.CertificateNumber {
					t.Fatalf("inspector recused from %s matched to it", recused)
				}
			}
			_, err = svc.DrawTeams(as(f.coordA), id)
			wantErrorCode(t, err, server.ECONFLICT)
			_, err = svc.ReplaceTarget(as(f.adminA), id, teams[0].Targets[0], "too late")
			wantErrorCode(t, err, server.ECONFLICT)
			if !strings.Contains(server.ErrorMessage(err), "已分组") {
				t.Fatalf("replacement after teams: %v", err)
			}
		})

		t.Run("TeamPhones", func(t *testing.T) {
			for _, tc := range []struct {
				u      *server.User
				phones map[int64]bool // by department: phone visible
			}{
				{f.root, map[int64]bool{f.deptA.ID: true, f.deptB.ID: true}},
				{f.coordA, map[int64]bool{f.deptA.ID: true, f.deptB.ID: true}},
				{f.adminA, map[int64]bool{f.deptA.ID: true}},
				{f.adminB, map[int64]bool{f.deptB.ID: true}},
				{f.coordB, map[int64]bool{}},
			} {
				ts, err := svc.FindTeams(as(tc.u), id)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range ts[0].Members {
					if (m.Phone != "") != tc.phones[m.DepartmentID] {
						t.Errorf("%s sees phone %q of a department %d member", tc.u.Username, m.Phone, m.DepartmentID)
					}
				}
			}
			_, err := svc.FindTeams(as(f.userA2), id)
			wantErrorCode(t, err, server.ENOTFOUND)
		})

		t.Run("Packets", func(t *testing.T) {
			_, err := svc.IssuePackets(as(f.adminA), id)
			wantErrorCode(t, err, server.EFORBIDDEN)
			ps, err := svc.IssuePackets(as(f.coordA), id)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 6 {
				t.Fatalf("%d packets", len(ps))
			}
			again, err := svc.IssuePackets(as(f.root), id)
			if err != nil || len(again) != 6 || again[0].ID != ps[0].ID {
				t.Fatalf("second issue: %v", err)
			}
			p := ps[0]
			if len(p.ID) != 32 || p.Content.CampaignName != dc.manifest.Name || len(p.Content.Sections) != 2 ||
				len(p.Content.Sections[0].Items) != 1 || len(p.Content.Team) != 2 || p.Content.Enterprise.Name == "" {
				t.Fatalf("packet %+v", p)
			}
			buf, _ := json.Marshal(p.Content)
			for _, in := range []*server.Inspector{f.inspA1, f.inspA2, f.inspB1} {
				if bytes.Contains(buf, []byte(in.Phone)) {
					t.Fatal("packet carries a phone number")
				}
			}
			// A team member reads it; an inspector outside the team does not.
			member := teams[0].Members[0].InspectorID
			users := map[int64]*server.User{f.inspA1.ID: f.userA1, f.inspA2.ID: f.userA2, f.inspB1.ID: f.userB1}
			if _, err := svc.FindPacketByID(as(users[member]), p.ID); err != nil {
				t.Fatal(err)
			}
			_, err = svc.FindPacketByID(as(f.userA1), p.ID)
			wantErrorCode(t, err, server.ENOTFOUND)
			_, err = svc.FindPacketByID(as(f.coordB), p.ID)
			if err != nil {
				t.Fatal(err)
			}
		})

		t.Run("GroupingReport", func(t *testing.T) {
			rep, err := svc.FindGroupingReport(as(f.adminA), id, nil)
			if err != nil || len(rep.Sections) != 1 || rep.Sections[0].DepartmentID != f.deptA.ID {
				t.Fatalf("admin A report: %+v %v", rep, err)
			}
			_, err = svc.FindGroupingReport(as(f.adminA), id, &f.deptB.ID)
			wantErrorCode(t, err, server.ENOTFOUND)
			_, err = svc.FindGroupingReport(as(f.coordB), id, nil)
			wantErrorCode(t, err, server.ENOTFOUND)
			all, err := svc.FindGroupingReport(as(f.coordA), id, nil)
			if err != nil || len(all.Sections) != 2 {
				t.Fatalf("lead report: %+v %v", all, err)
			}
			var csv bytes.Buffer
			if err := report.WriteGroupingCSV(&csv, all); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(csv.String(), "\ufeff部门") || !strings.Contains(csv.String(), f.inspB1.Phone) {
				t.Fatalf("csv:\n%s", csv.String())
			}
			sum, _ := report.GroupingCSVSHA256(rep)
			fl, err := svc.FileGroupingReport(as(f.adminA), id, sum)
			if err != nil || fl.DepartmentID != f.deptA.ID || fl.ReportSHA256 != sum {
				t.Fatalf("filing %+v %v", fl, err)
			}
			_, err = svc.FileGroupingReport(as(f.adminA), id, "xyz")
			wantErrorCode(t, err, server.EINVALID)
			fs, err := svc.FindGroupingFilings(as(f.coordA), id)
			if err != nil || len(fs) != 1 {
				t.Fatalf("filings %v %v", fs, err)
			}
		})

		t.Run("RecordVerifies", func(t *testing.T) {
			rec := recordOf(t, svc, f, dc, replacement)
			if err := draw.Verify(rec); err != nil {
				t.Fatal(err)
			}
			rec.Matches[0].Team = 2
			if err := draw.Verify(rec); err == nil || !strings.Contains(err.Error(), "matches[0]") {
				t.Fatalf("altered match: %v", err)
			}
		})

		t.Run("OtherDepartmentsCampaignHidden", func(t *testing.T) {
			bOnly := mustDrawnCampaign(t, f, f.deptB, []*server.Department{f.deptB}, 10, "0.2", 1)
			for _, u := range []*server.User{f.adminA, f.coordA, f.userA1} {
				ctx := as(u)
				_, err := svc.FindConfirmationStatus(ctx, bOnly.id)
				wantErrorCode(t, err, server.ENOTFOUND)
				_, err = svc.FindReplacements(ctx, bOnly.id)
				wantErrorCode(t, err, server.ENOTFOUND)
				_, err = svc.FindTeams(ctx, bOnly.id)
				wantErrorCode(t, err, server.ENOTFOUND)
				_, err = svc.FindPackets(ctx, bOnly.id)
				wantErrorCode(t, err, server.ENOTFOUND)
				_, err = svc.FindGroupingReport(ctx, bOnly.id, nil)
				wantErrorCode(t, err, server.ENOTFOUND)
				_, err = svc.FindGroupingFilings(ctx, bOnly.id)
				wantErrorCode(t, err, server.ENOTFOUND)
			}
			_, err := svc.ConfirmTargets(as(f.adminA), bOnly.id)
			wantErrorCode(t, err, server.ENOTFOUND)
			_, err = svc.ReplaceTarget(as(f.coordA), bOnly.id, bOnly.selection[0].ID, "x")
			wantErrorCode(t, err, server.ENOTFOUND)
			_, err = svc.DrawTeams(as(f.coordA), bOnly.id)
			wantErrorCode(t, err, server.ENOTFOUND)
		})
	})
}

// recordOf assembles the public record of dc from what the services return,
// the way the public record endpoint does, for draw.Verify.
func recordOf(t *testing.T, svc *store.CampaignService, f *dirFixture, dc *drawnCampaign, rp *server.Replacement) *draw.Record {
	t.Helper()
	var full bytes.Buffer
	if err := dc.manifest.Encode(&full); err != nil {
		t.Fatal(err)
	}
	rec := &draw.Record{
		Format: draw.RecordFormat, CampaignID: dc.id, Algorithm: draw.AlgorithmID, Manifest: full.String(),
		ManifestDigest: dc.digest.String(), Randomness: []string{"03 08 15 21 27 33 + 09", "11234.56"}, Seed: dc.seed.String(),
		LateRecusals: []draw.Recusal{{Certificate: f.inspA1.CertificateNumber, CreditCode: dc.selection[0].ID}},
	}
	for _, it := range dc.selection {
		rec.Selection = append(rec.Selection, draw.RecordItem{CreditCode: it.ID, Stratum: it.Stratum, Ticket: it.Ticket.String()})
	}
	rec.Replacements = append(rec.Replacements, draw.RecordReplacement{
		Seq: rp.Seq, Replaced: rp.ReplacedCode, Reason: rp.Reason,
		Replacement: draw.RecordItem{CreditCode: rp.ReplacementCode, Ticket: draw.Ticket(dc.seed, "", rp.ReplacementCode).String()},
	})
	teams, err := svc.FindTeams(as(f.root), dc.id)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[int64]string{f.deptA.ID: f.deptA.Code, f.deptB.ID: f.deptB.Code}
	type match struct {
		code string
		team int
	}
	var matches []match
	for _, tm := range teams {
		rt := draw.RecordTeam{Team: tm.Number}
		for _, m := range tm.Members {
			rt.Members = append(rt.Members, draw.RecordMember{Department: codes[m.DepartmentID], Certificate: m.CertificateNumber, Ticket: m.Ticket})
		}
		rec.Teams = append(rec.Teams, rt)
		for _, c := range tm.Targets {
			matches = append(matches, match{c, tm.Number})
		}
	}
	// Targets within a team are in match order; across teams order by ticket.
	items := make([]draw.Item, len(matches))
	team := map[string]int{}
	for i, m := range matches {
		items[i] = draw.Item{ID: m.code, Ticket: draw.Ticket(dc.seed, draw.MatchPrefix, m.code)}
		team[m.code] = m.team
	}
	slices.SortFunc(items, draw.Compare)
	for _, it := range items {
		rec.Matches = append(rec.Matches, draw.RecordMatch{CreditCode: it.ID, Team: team[it.ID], Ticket: it.Ticket.String()})
	}
	return rec
}
