package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/demo"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// TestLoadDemo loads the demo on each dialect: directories, accounts, a
// campaign drawn through to issued packets, and one joint visit done from
// two devices with its culture result waiting for review, which the culture
// admin can approve; a second start loads nothing again.
func TestLoadDemo(t *testing.T) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			cfg := app.Config{DataDir: t.TempDir()}
			if dialect == store.Postgres {
				cfg.DatabaseURL = storetest.NewDSN(t, dialect) // skips without SPOTCHECK_TEST_POSTGRES_DSN
			}
			testLoadDemo(t, cfg)
		})
	}
}

func testLoadDemo(t *testing.T, cfg app.Config) {
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var out bytes.Buffer
	env := &Env{Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &out}
	if err := loadDemo(ctx, a, env); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "packets issued") || !strings.Contains(out.String(), "team 1 (") {
		t.Fatalf("demo output lacks the teams:\n%s", out.String())
	}
	sys := app.SystemContext(ctx)
	_, n, err := a.Enterprises.FindEnterprises(sys, server.EnterpriseFilter{})
	if err != nil || n != 1000 {
		t.Fatalf("%d enterprises, %v", n, err)
	}
	accounts, _, err := a.Users.FindUsers(sys, server.UserFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	as := func(username string) context.Context {
		i := slices.IndexFunc(accounts, func(u *server.User) bool { return u.Username == username })
		if i < 0 {
			t.Fatalf("no account %s", username)
		}
		return server.NewContextWithUser(sys, accounts[i])
	}

	// The seeded visit: exactly one result awaits review, the culture one.
	admin := as("culture-admin")
	waiting, err := a.Results.FindResults(admin, server.ResultFilter{State: ptr(syncproto.ResultEntered)})
	if err != nil || len(waiting) != 1 {
		t.Fatalf("results awaiting review: %+v, %v", waiting, err)
	}
	r := waiting[0]
	if r.Department != demo.CultureCode || r.Code != server.ResultCodePendingFollowUp || r.EnteredBy == nil || len(r.Flags) != 0 {
		t.Fatalf("the waiting result: %+v", r)
	}
	if len(r.Findings) == 0 {
		t.Errorf("the waiting result has no findings: %+v", r)
	}
	packets, err := a.Campaigns.FindPackets(as("coordinator"), r.CampaignID)
	if err != nil {
		t.Fatal(err)
	}
	pk := packets[slices.IndexFunc(packets, func(p *server.Packet) bool { return p.ID == r.PacketID })]
	if pk.TeamNumber == 1 {
		t.Errorf("the seeded visit is on team 1, the one the README's field walk takes")
	}
	enterer, err := a.Users.FindUserByID(sys, *r.EnteredBy)
	if err != nil || enterer.InspectorID == nil ||
		!slices.ContainsFunc(pk.Content.Team, func(m syncproto.PacketMember) bool {
			return m.InspectorID == *enterer.InspectorID && m.Department == demo.CultureCode
		}) {
		t.Fatalf("the result was entered by %+v (%v), not a culture inspector of team %d", enterer, err, pk.TeamNumber)
	}
	for _, want := range []string{"待复核的结果", "a result awaiting review", pk.ID, r.CreditCode, enterer.Username, "culture-admin"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}

	// Its joint record: both departments' sections sealed, one signed close
	// covering them with the representative's signature and the stamp, no flag.
	jr, err := a.Sync.FindJointRecord(admin, pk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !jr.Complete || len(jr.Flags) != 0 || len(jr.Sections) != 2 || len(jr.Closes) != 1 {
		t.Fatalf("the joint record: complete %v, flags %+v, %d sections, %d closes", jr.Complete, jr.Flags, len(jr.Sections), len(jr.Closes))
	}
	for _, s := range jr.Sections {
		if s.Current == nil || len(s.Current.Flags) != 0 || len(s.CoveredBy) != 1 {
			t.Errorf("section %s: %+v", s.Department, s)
		}
	}
	cl := jr.Closes[0].Record.Close
	if cl.Outcome != syncproto.OutcomeSigned || len(cl.Signatures) != 1 || cl.Signatures[0].Role != syncproto.SignerRepresentative || cl.Stamp == nil {
		t.Fatalf("the close: %+v", cl)
	}
	for _, ref := range []syncproto.AttachmentRef{cl.Signatures[0].Image, *cl.Stamp} {
		_, rc, err := a.Blobs.OpenBlob(sys, ref.SHA256)
		if err != nil {
			t.Fatalf("attachment %s is not in the blob store: %v", ref.SHA256, err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if int64(len(b)) != ref.Size || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("attachment %s: %d bytes, want a %d-byte PNG", ref.SHA256, len(b), ref.Size)
		}
	}
	all, err := a.Results.FindResults(as("coordinator"), server.ResultFilter{CampaignID: &r.CampaignID})
	if err != nil || len(all) != 2 || all[0].PacketID != pk.ID || all[1].PacketID != pk.ID {
		t.Fatalf("the campaign's results: %+v, %v", all, err)
	}

	// A second start loads nothing and still names the waiting result.
	out.Reset()
	if err := loadDemo(ctx, a, env); err != nil {
		t.Fatal(err)
	}
	if _, n2, _ := a.Enterprises.FindEnterprises(sys, server.EnterpriseFilter{}); n2 != n {
		t.Fatalf("second start loaded again: %d enterprises", n2)
	}
	if !strings.Contains(out.String(), demo.CampaignName) || !strings.Contains(out.String(), pk.ID) {
		t.Fatalf("second start does not show the demo campaign and its waiting result:\n%s", out.String())
	}

	// The enterer may not approve; the culture admin does.
	if _, err := a.Results.ApproveResult(server.NewContextWithUser(sys, enterer), r.ID, nil); server.ErrorCode(err) != server.EFORBIDDEN {
		t.Fatalf("the enterer's approval: %v", err)
	}
	ok, err := a.Results.ApproveResult(admin, r.ID, nil)
	if err != nil || ok.State != syncproto.ResultApproved {
		t.Fatalf("culture-admin's approval: %+v, %v", ok, err)
	}
}
