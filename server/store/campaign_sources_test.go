package store_test

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/server/draw"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

// TestCampaignService_SourcesAvailableAt: a draft names the earliest time its
// randomness can be known; the commit must come before it and freezes it in
// the manifest; a draw before it is refused with too_early and changes
// nothing. Standing declarations reach the manifest as salted commitments
// whose openings the store keeps.
func TestCampaignService_SourcesAvailableAt(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDirFixture(t, db)
		svc := store.NewCampaignService(db, calendar.China())
		e := f.mustCreateEnterprise(t, fixtureEnterprise(fieldworkCode(999901), "星际网咖"))
		f.mustCreateEnterprise(t, fixtureEnterprise(fieldworkCode(999902), "银河网咖"))
		if err := f.declarations.CreateDeclaration(as(f.adminA), &server.Declaration{
			InspectorID: f.inspA1.ID, EnterpriseID: e.ID, Reason: "亲属经营",
		}); err != nil {
			t.Fatal(err)
		}
		draft := func() *server.Campaign {
			return &server.Campaign{
				Name: "来源时间", LeadDepartmentID: f.deptA.ID, DepartmentIDs: []int64{f.deptA.ID, f.deptB.ID},
				WindowStart: server.Date{Year: 2026, Month: 12, Day: 1}, WindowEnd: server.Date{Year: 2026, Month: 12, Day: 6},
				Category: server.CategoryInternetCafe, Ratio: server.RatioTable{Default: "1"},
				InspectorsPerDepartment: 1, TargetsPerTeam: 2, RandomnessSources: []string{"双色球第2026140期"},
			}
		}

		c := draft()
		wantErrorCode(t, svc.CreateCampaign(as(f.root), c), server.EINVALID) // none named
		after := storetest.Now.Add(90 * time.Minute)
		c.SourcesAvailableAt = &after
		if err := svc.CreateCampaign(as(f.root), c); err != nil {
			t.Fatal(err)
		}

		// Sources known already: the commit is refused.
		past := draft()
		at := storetest.Now
		past.SourcesAvailableAt = &at
		if err := svc.CreateCampaign(as(f.root), past); err != nil {
			t.Fatal(err)
		}
		_, err := svc.CommitCampaign(as(f.root), past.ID)
		wantErrorCode(t, err, server.EINVALID)

		committed, err := svc.CommitCampaign(as(f.root), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		manifest, m := publishedManifest(t, db, c.ID)
		if m.Version != draw.ManifestV3 || m.SourcesAvailableAt != "2026-11-02T11:00:00Z" || len(m.Recusals) != 0 || len(m.RecusalCommitments) != 1 {
			t.Fatalf("manifest: version %d, sources %q, %d pairs, %d commitments", m.Version, m.SourcesAvailableAt, len(m.Recusals), len(m.RecusalCommitments))
		}
		if strings.Contains(manifest, f.inspA1.CertificateNumber+"\t"+e.CreditCode) {
			t.Fatal("the manifest names the recusal pair")
		}
		openings, err := svc.FindRecusalOpenings(as(f.coordA), c.ID)
		if err != nil || len(openings) != 1 || openings[0].Late {
			t.Fatalf("openings %+v %v", openings, err)
		}
		var salt [32]byte
		if _, err := hex.Decode(salt[:], []byte(openings[0].Salt)); err != nil {
			t.Fatal(err)
		}
		if openings[0].Certificate != f.inspA1.CertificateNumber || openings[0].CreditCode != e.CreditCode ||
			draw.RecusalCommitment(salt, openings[0].Certificate, openings[0].CreditCode) != m.RecusalCommitments[0] {
			t.Fatalf("opening %+v does not open the commitment", openings[0])
		}
		_, err = svc.FindRecusalOpenings(as(f.adminA), c.ID)
		wantErrorCode(t, err, server.ENOTFOUND)
		_, err = svc.FindRecusalOpenings(as(f.coordB), c.ID)
		wantErrorCode(t, err, server.ENOTFOUND)

		// A draw before the sources can be known is refused and changes nothing.
		_, err = svc.Draw(as(f.root), c.ID, []string{"03 08 15 21 27 33 + 09"})
		wantErrorCode(t, err, server.ETOOEARLY)
		got, err := svc.FindCampaignByID(as(f.root), c.ID)
		if err != nil || got.Status != server.CampaignCommitted || got.Seed != "" || got.DrawnAt != nil {
			t.Fatalf("after a refused draw: %+v %v", got, err)
		}
		old := db.Now
		db.Now = func() time.Time { return after }
		defer func() { db.Now = old }()
		drawn, err := svc.Draw(as(f.root), c.ID, []string{"03 08 15 21 27 33 + 09"})
		if err != nil || drawn.Status != server.CampaignDrawn || !drawn.CommittedAt.Equal(*committed.CommittedAt) {
			t.Fatalf("draw at the time: %+v %v", drawn, err)
		}
	})
}
