package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/server/draw"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

// TestCampaignService_DrawReadsBlocks: the draw reads the population from
// the blocks the commit packed (many here: 7 codes a block, strata
// interleaved, the rows streamed 5 at a time), or, for a campaign committed before blocks existed, from
// blocks it packs first. Either way it selects exactly what the reference
// sampler selects from the published manifest: with risk classes as
// strata and with one default ratio.
func TestCampaignService_DrawReadsBlocks(t *testing.T) {
	defer store.SetBlockCodes(7)()
	defer store.SetPopulationPage(5)()
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDirFixture(t, db)
		svc := store.NewCampaignService(db, calendar.China())
		const n = 600
		insertRiskCafes(t, db, n)
		after := storetest.Now.Add(90 * time.Minute)
		values := []string{"03 08 15 21 27 33 + 09"}
		for _, ratio := range []server.RatioTable{
			{Default: "0.2", ByClass: map[string]string{"A": "0.5", "B": "0.15"}},
			{Default: "0.3"},
		} {
			c := cafeDraft(f, "分块读取", ratio, after)
			if err := svc.CreateCampaign(as(f.root), c); err != nil {
				t.Fatal(err)
			}
			committed, err := svc.CommitCampaign(as(f.root), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			_, m := publishedManifest(t, db, c.ID)
			if len(m.Population) != n || len(m.Ratios) != len(ratio.ByClass)+1 {
				t.Fatalf("manifest: %d population, ratios %v", len(m.Population), m.Ratios)
			}
			items := make([]draw.Item, len(m.Population))
			for i, p := range m.Population {
				items[i] = draw.Item{ID: p.CreditCode, Stratum: p.Stratum}
			}
			digest, err := draw.ParseHash(committed.ManifestDigest)
			if err != nil {
				t.Fatal(err)
			}
			want, err := draw.Sample(draw.Seed(digest, values), items, func(s string) draw.Ratio { return m.Ratios[s] })
			if err != nil {
				t.Fatal(err)
			}

			if blocks := populationBlocks(t, db, c.ID); !slices.Equal(blocks, m.Population) {
				t.Fatalf("ratios %v: the blocks hold %d codes, the manifest %d, or other ones", ratio, len(blocks), len(m.Population))
			}
			if legacy := ratio.ByClass == nil; legacy {
				// As a campaign committed before migration 00017 left it.
				if err := store.ExecRaw(db, "DELETE FROM campaign_population_blocks WHERE campaign_id = ?", c.ID); err != nil {
					t.Fatal(err)
				}
			}
			old := db.Now
			db.Now = func() time.Time { return after }
			_, err = svc.Draw(as(f.root), c.ID, values)
			db.Now = old
			if err != nil {
				t.Fatal(err)
			}
			if blocks := populationBlocks(t, db, c.ID); !slices.Equal(blocks, m.Population) {
				t.Fatalf("ratios %v, after the draw: the blocks hold %d codes, the manifest %d, or other ones", ratio, len(blocks), len(m.Population))
			}
			got, err := svc.FindSelections(as(f.root), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("ratios %v: %d selected, reference %d", ratio, len(got), len(want))
			}
			for i, w := range want {
				if g := got[i]; g.CreditCode != w.ID || g.Stratum != w.Stratum || g.Ticket != w.Ticket.String() || g.Kind != "initial" {
					t.Fatalf("ratios %v, selection %d: %s/%s/%s/%s, reference %s/%s/%s", ratio, i,
						g.CreditCode, g.Stratum, g.Ticket, g.Kind, w.ID, w.Stratum, w.Ticket)
				}
			}
		}
	})
}

// populationBlocks unpacks a campaign's population blocks, sorted like the
// manifest's population.
func populationBlocks(t *testing.T, db *store.DB, id int64) []draw.PopulationEntry {
	t.Helper()
	var rows []struct {
		Stratum string
		N       int
		Codes   []byte
	}
	if err := db.ScanForTest(&rows, "SELECT stratum, n, codes FROM campaign_population_blocks WHERE campaign_id = ? ORDER BY block_no", id); err != nil {
		t.Fatal(err)
	}
	var out []draw.PopulationEntry
	for _, r := range rows {
		codes := strings.Split(strings.TrimSuffix(string(r.Codes), "\n"), "\n")
		if len(codes) != r.N {
			t.Fatalf("a block of %d codes says %d", len(codes), r.N)
		}
		for _, code := range codes {
			out = append(out, draw.PopulationEntry{CreditCode: code, Stratum: r.Stratum})
		}
	}
	slices.SortFunc(out, func(a, b draw.PopulationEntry) int { return strings.Compare(a.CreditCode, b.CreditCode) })
	return out
}

// insertRiskCafes adds n active internet cafés in 思明区, risk classes A to
// D in turn.
func insertRiskCafes(t *testing.T, db *store.DB, n int) {
	t.Helper()
	classes := []string{"A", "B", "C", "D"}
	for at := 0; at < n; at += 100 {
		var rows []string
		var args []any
		for i := at; i < min(at+100, n); i++ {
			rows = append(rows, "(?, ?, ?, '思明区', 'active', ?, ?, ?)")
			args = append(args, fieldworkCode(500000+i), fmt.Sprintf("第%d网吧", i), server.CategoryInternetCafe,
				classes[i%len(classes)], storetest.Now, storetest.Now)
		}
		err := db.ExecForTest("INSERT INTO enterprises (credit_code, name, category, district, status, risk_class, created_at, updated_at) VALUES "+
			strings.Join(rows, ", "), args...)
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestCampaignService_DrawRefusesBadBlocks: blocks that do not hold exactly
// the committed population (a count that does not match its codes, a block
// missing) fail the draw, which then changes nothing.
func TestCampaignService_DrawRefusesBadBlocks(t *testing.T) {
	defer store.SetBlockCodes(50)()
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDirFixture(t, db)
		svc := store.NewCampaignService(db, calendar.China())
		insertRiskCafes(t, db, 200)
		after := storetest.Now.Add(90 * time.Minute)
		c := cafeDraft(f, "坏的分块", server.RatioTable{Default: "0.2", ByClass: map[string]string{"A": "0.5"}}, after)
		if err := svc.CreateCampaign(as(f.root), c); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CommitCampaign(as(f.root), c.ID); err != nil {
			t.Fatal(err)
		}
		draw := func() error {
			old := db.Now
			db.Now = func() time.Time { return after }
			defer func() { db.Now = old }()
			_, err := svc.Draw(as(f.root), c.ID, []string{"03 08 15 21 27 33 + 09"})
			return err
		}
		unchanged := func(what string) {
			t.Helper()
			got, err := svc.FindCampaignByID(as(f.root), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			var selections []struct{ CreditCode string }
			if err := db.ScanForTest(&selections, "SELECT credit_code FROM draw_selections WHERE campaign_id = ?", c.ID); err != nil {
				t.Fatal(err)
			}
			if got.Status != server.CampaignCommitted || len(selections) != 0 {
				t.Errorf("%s: status %s, %d selections after a failed draw", what, got.Status, len(selections))
			}
		}
		for _, tamper := range []struct{ what, do, undo string }{
			{"a count one too high", "UPDATE campaign_population_blocks SET n = n + 1 WHERE campaign_id = ? AND block_no = 1",
				"UPDATE campaign_population_blocks SET n = n - 1 WHERE campaign_id = ? AND block_no = 1"},
			{"a block missing", "DELETE FROM campaign_population_blocks WHERE campaign_id = ? AND block_no = 2", ""},
		} {
			if err := store.ExecRaw(db, tamper.do, c.ID); err != nil {
				t.Fatal(err)
			}
			if err := draw(); err == nil {
				t.Errorf("%s: the draw went through", tamper.what)
			}
			unchanged(tamper.what)
			if tamper.undo != "" {
				if err := store.ExecRaw(db, tamper.undo, c.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// TestDrawSelections_CampaignMustExist: a selection naming no campaign is
// refused, also among rows of one statement that name an existing one.
func TestDrawSelections_CampaignMustExist(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDirFixture(t, db)
		svc := store.NewCampaignService(db, calendar.China())
		after := storetest.Now.Add(90 * time.Minute)
		c := cafeDraft(f, "外键", server.RatioTable{Default: "0.2"}, after)
		if err := svc.CreateCampaign(as(f.root), c); err != nil {
			t.Fatal(err)
		}
		const insert = "INSERT INTO draw_selections (campaign_id, credit_code, stratum, ticket, kind) VALUES "
		for _, stmt := range []struct {
			sql  string
			args []any
		}{
			{insert + "(?, 'X1', '', 'aa', 'initial')", []any{c.ID + 1000}},
			{insert + "(?, 'X1', '', 'aa', 'initial'), (?, 'X2', '', 'bb', 'initial'), (?, 'X3', '', 'cc', 'initial')", []any{c.ID, c.ID + 1000, c.ID}},
		} {
			if err := store.ExecRaw(db, stmt.sql, stmt.args...); err == nil {
				t.Errorf("%s %v went through", stmt.sql, stmt.args)
			}
		}
		var n int64
		if err := db.ScanForTest(&n, "SELECT COUNT(*) FROM draw_selections"); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d selections written", n)
		}
	})
}

// cafeDraft is a draft inspecting the internet cafés of f's department A
// at ratio, its randomness known at after.
func cafeDraft(f *dirFixture, name string, ratio server.RatioTable, after time.Time) *server.Campaign {
	return &server.Campaign{
		Name: name, LeadDepartmentID: f.deptA.ID, DepartmentIDs: []int64{f.deptA.ID},
		WindowStart: server.Date{Year: 2026, Month: 12, Day: 1}, WindowEnd: server.Date{Year: 2026, Month: 12, Day: 6},
		Category: server.CategoryInternetCafe, Ratio: ratio, InspectorsPerDepartment: 1, TargetsPerTeam: 2,
		RandomnessSources: []string{"双色球第2026140期"}, SourcesAvailableAt: &after,
	}
}

// publishedManifest is a committed campaign's manifest as the public record
// serves it, as text and parsed.
func publishedManifest(t *testing.T, db *store.DB, id int64) (string, *draw.Manifest) {
	t.Helper()
	var text strings.Builder
	if err := store.NewPublicRecordService(db).WriteManifest(context.Background(), id, &text); err != nil {
		t.Fatal(err)
	}
	m, err := draw.ParseManifest([]byte(text.String()))
	if err != nil {
		t.Fatal(err)
	}
	return text.String(), m
}
