package store_test

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// A campaign's progress follows a packet from issue through the visit (the
// device's time), the sync (the server's), the seal, entry and review; the
// other packets stay issued; staff of a department not taking part, and
// inspectors, get nothing.
func TestCampaignProgress(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		h := apptest.New(t, db)
		is := h.IssueCampaign(t, apptest.CampaignSpec{Cafes: 4, TargetsPerTeam: 2})
		issuedAt := h.Now()
		svc := h.App.Campaigns.(server.CampaignProgressService)
		root := as(h.Users["root"])

		got, err := svc.FindCampaignProgress(as(h.Users["coord-a"]), is.Campaign.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 {
			t.Fatalf("%d packets in the progress, want 4", len(got))
		}
		for i, pp := range got {
			if !pp.IssuedAt.Equal(issuedAt) || pp.VisitedAt != nil || pp.SyncedAt != nil || pp.SectionsSealed != 0 || len(pp.Results) != 0 {
				t.Errorf("packet %s before field work: %+v", pp.PacketID, pp)
			}
			if pp.EnterpriseName == "" || i > 0 && got[i-1].TeamNumber > pp.TeamNumber {
				t.Errorf("packet %d: name %q, team %d after team %d", i, pp.EnterpriseName, pp.TeamNumber, got[i-1].TeamNumber)
			}
		}

		// insp-a1 visits a packet on the first day and syncs the next.
		p := is.PacketsOf("insp-a1")[0]
		ctx, dev, key := fieldDevice(t, h, "insp-a1")
		inspector := *h.Users["insp-a1"].InspectorID
		visited := h.Now().Add(2 * time.Hour).Truncate(time.Second)
		seal := sealCulture(t, dev, inspector, key, p, syncproto.Mutation{Seq: 1, ID: "seal", PacketID: p.ID, DeviceTime: visited})
		rec := syncproto.CloseRecord{
			PacketID: p.ID, DeviceID: dev, InspectorID: inspector,
			Close:  syncproto.CloseMutation{Outcome: syncproto.OutcomeNotLocatable, Note: "登记住所无人"},
			Covers: []syncproto.SectionRef{{Department: "culture", Version: 1, Hash: seal.Seal.Hash}}, Attachments: []string{}, ClosedAt: visited,
		}
		hash, err := syncproto.CanonicalHash(&rec)
		if err != nil {
			t.Fatal(err)
		}
		closeM := syncproto.Mutation{Seq: 2, ID: "close", Kind: syncproto.KindSealClose, PacketID: p.ID, DeviceTime: visited,
			SealClose: &syncproto.SealCloseMutation{Record: rec, Hash: hash, Signature: ed25519.Sign(key, syncproto.CloseSealMessage(hash))}}
		h.Advance(24 * time.Hour)
		synced := h.Now()
		r, err := h.App.Sync.Push(ctx, &syncproto.PushRequest{DeviceID: dev, Mutations: []syncproto.Mutation{seal, closeM}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range r.Results {
			if res.Status != syncproto.StatusApplied {
				t.Fatalf("push: mutation %d %s %s", res.Seq, res.Status, res.Message)
			}
		}

		// Entered by insp-a1 an hour later, approved by the culture admin.
		results, err := h.App.Results.FindResults(root, server.ResultFilter{PacketID: &p.ID})
		if err != nil || len(results) != 1 {
			t.Fatalf("results of the packet: %v %v", results, err)
		}
		h.Advance(time.Hour)
		entered := h.Now()
		if _, err := h.App.Results.EnterResult(ctx, results[0].ID, server.ResultEntry{Code: server.ResultCodeNotLocatable}); err != nil {
			t.Fatal(err)
		}
		h.Advance(time.Hour)
		approved := h.Now()
		if _, err := h.App.Results.ApproveResult(as(h.Users["admin-a"]), results[0].ID, nil); err != nil {
			t.Fatal(err)
		}

		got, err = svc.FindCampaignProgress(as(h.Users["admin-b"]), is.Campaign.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 {
			t.Fatalf("%d packets in the progress, want 4", len(got))
		}
		for _, pp := range got {
			if pp.PacketID != p.ID {
				if pp.VisitedAt != nil || pp.SectionsSealed != 0 || len(pp.Results) != 0 {
					t.Errorf("packet %s, not visited: %+v", pp.PacketID, pp)
				}
				continue
			}
			if pp.VisitedAt == nil || !pp.VisitedAt.Equal(visited) {
				t.Errorf("visited at %v, want the device's %v", pp.VisitedAt, visited)
			}
			if pp.SyncedAt == nil || !pp.SyncedAt.Equal(synced) {
				t.Errorf("synced at %v, want the server's %v", pp.SyncedAt, synced)
			}
			if pp.SectionsSealed != 1 {
				t.Errorf("%d sections sealed, want 1", pp.SectionsSealed)
			}
			if len(pp.Results) != 1 {
				t.Fatalf("results %+v", pp.Results)
			}
			res := pp.Results[0]
			if res.DepartmentID != h.DeptA.ID || res.State != syncproto.ResultApproved ||
				res.EnteredAt == nil || !res.EnteredAt.Equal(entered) || res.ApprovedAt == nil || !res.ApprovedAt.Equal(approved) {
				t.Errorf("result progress %+v, want entered %v approved %v", res, entered, approved)
			}
		}

		// Staff of a department that does not take part, and inspectors,
		// get nothing.
		other := &server.Department{Code: "health", Name: "市卫生健康委员会"}
		if err := h.App.Departments.CreateDepartment(root, other); err != nil {
			t.Fatal(err)
		}
		outsider := h.AddUser(t, &server.User{Username: "admin-c", Role: server.RoleDepartmentAdmin, DepartmentID: &other.ID})
		for _, u := range []*server.User{outsider, h.Users["insp-a1"]} {
			if _, err := svc.FindCampaignProgress(as(u), is.Campaign.ID); server.ErrorCode(err) != server.ENOTFOUND {
				t.Errorf("%s: %v, want ENOTFOUND", u.Username, err)
			}
		}
	})
}
