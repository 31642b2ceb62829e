package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/server/draw"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

// TestCampaignService_DrawReadsInHalves: on PostgreSQL a large population
// is read in two halves of the table on two connections, and with a single
// ratio only the credit codes are read. Whatever the way, the draw selects
// exactly what the reference sampler selects from the published manifest:
// with risk classes as strata and with one default ratio.
func TestCampaignService_DrawReadsInHalves(t *testing.T) {
	defer store.SetParallelReadMin(1)()
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDirFixture(t, db)
		svc := store.NewCampaignService(db, calendar.China())
		const n = 600
		classes := []string{"A", "B", "C", "D"}
		for at := 0; at < n; at += 100 {
			var rows []string
			var args []any
			for i := at; i < at+100; i++ {
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
		after := storetest.Now.Add(90 * time.Minute)
		values := []string{"03 08 15 21 27 33 + 09"}
		for _, ratio := range []server.RatioTable{
			{Default: "0.2", ByClass: map[string]string{"A": "0.5", "B": "0.15"}},
			{Default: "0.3"},
		} {
			c := &server.Campaign{
				Name: "分两半读取", LeadDepartmentID: f.deptA.ID, DepartmentIDs: []int64{f.deptA.ID},
				WindowStart: server.Date{Year: 2026, Month: 12, Day: 1}, WindowEnd: server.Date{Year: 2026, Month: 12, Day: 6},
				Category: server.CategoryInternetCafe, Ratio: ratio, InspectorsPerDepartment: 1, TargetsPerTeam: 2,
				RandomnessSources: []string{"双色球第2026140期"}, SourcesAvailableAt: &after,
			}
			if err := svc.CreateCampaign(as(f.root), c); err != nil {
				t.Fatal(err)
			}
			committed, err := svc.CommitCampaign(as(f.root), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			var manifest strings.Builder
			if err := store.NewPublicRecordService(db).WriteManifest(context.Background(), c.ID, &manifest); err != nil {
				t.Fatal(err)
			}
			m, err := draw.ParseManifest([]byte(manifest.String()))
			if err != nil {
				t.Fatal(err)
			}
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

			// Statistics as a live database has them: the halves are
			// only read when the campaign is most of the table.
			if err := db.ExecForTest("ANALYZE campaign_population"); err != nil {
				t.Fatal(err)
			}
			reads := store.ParallelReads()
			old := db.Now
			db.Now = func() time.Time { return after }
			_, err = svc.Draw(as(f.root), c.ID, values)
			db.Now = old
			if err != nil {
				t.Fatal(err)
			}
			if halves := store.ParallelReads() - reads; halves != map[string]int64{store.Postgres: 1, store.SQLite: 0}[db.Dialect()] {
				t.Errorf("%s, ratios %v: %d reads in halves", db.Dialect(), ratio, halves)
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
