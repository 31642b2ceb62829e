package store_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// pullFixture is an issued campaign whose packets, answers (superseded and
// conflicting ones among them) and sealed records one device pulls.
type pullFixture struct {
	h   *apptest.Harness
	ctx context.Context // insp-a1 on its registered device
	dev int64
	// statements counts the SQL statements the database runs.
	statements interface{ Load() int64 }
	packets    []*server.Packet // insp-a1's
}

// fieldDevice registers a device for username and returns a context acting
// through it, with the device's id and key.
func fieldDevice(t testing.TB, h *apptest.Harness, username string) (context.Context, int64, ed25519.PrivateKey) {
	t.Helper()
	u := *h.Users[username]
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	d := &server.Device{Name: "执法终端", PublicKey: pub}
	if err := h.App.Devices.RegisterDevice(as(&u), d); err != nil {
		t.Fatal(err)
	}
	u.DeviceID = &d.ID
	return as(&u), d.ID, priv
}

// newPullFixture issues a campaign whose one team (both inspectors of each
// department) holds packetsPerTeam packets, and gives insp-a1's device, on
// every one of them, an answer; on some a second answer to the same item, an
// answer to another item, a culture teammate's concurrent answer (a
// conflict), or a sealed culture section.
func newPullFixture(t testing.TB, db *store.DB, packetsPerTeam int) *pullFixture {
	t.Helper()
	h := apptest.New(t, db)
	counter := store.CountStatements(db)
	is := h.IssueCampaign(t, apptest.CampaignSpec{
		Cafes: packetsPerTeam, TargetsPerTeam: packetsPerTeam, InspectorsPerDepartment: 2,
		Items: map[string][]string{h.DeptA.Code: {"licence", "minors"}, h.DeptB.Code: {"prices"}},
	})
	f := &pullFixture{h: h, statements: counter, packets: is.PacketsOf("insp-a1")}
	if len(f.packets) != packetsPerTeam {
		t.Fatalf("insp-a1 has %d packets, want %d", len(f.packets), packetsPerTeam)
	}
	var key ed25519.PrivateKey
	f.ctx, f.dev, key = fieldDevice(t, h, "insp-a1")

	item := func(p *server.Packet, dept string, n int) server.PacketItem {
		for _, s := range p.Content.Sections {
			if s.Department == dept {
				return s.Items[n]
			}
		}
		t.Fatalf("packet %s has no section %s", p.ID, dept)
		return server.PacketItem{}
	}
	var seq uint64
	mutation := func(device int64, packetID string) syncproto.Mutation {
		seq++
		return syncproto.Mutation{Seq: seq, ID: fmt.Sprintf("m%d-%d", device, seq), PacketID: packetID,
			DeviceTime: storetest.Now.Add(time.Duration(seq) * time.Second)}
	}
	answer := func(device int64, p *server.Packet, dept string, n int, result string, base int64) syncproto.Mutation {
		it := item(p, dept, n)
		m := mutation(device, p.ID)
		m.Kind, m.Answer = syncproto.KindAnswer, &syncproto.AnswerMutation{
			Department: dept, ItemCode: it.Code, ItemVersion: it.Version, Result: result, BaseVersion: base}
		return m
	}
	var ms []syncproto.Mutation
	culture := h.DeptA.Code
	for i, p := range f.packets {
		ms = append(ms, answer(f.dev, p, culture, 0, syncproto.ResultCompliant, 0))
		switch {
		case i%5 == 1: // the same item again: one object changed twice
			ms = append(ms, answer(f.dev, p, culture, 0, syncproto.ResultNonCompliant, 1))
		case i%5 == 2:
			ms = append(ms, answer(f.dev, p, culture, 1, syncproto.ResultCompliant, 0))
		case i%5 == 3: // sealed: the section comes back, and its second item's answer
			ms = append(ms, sealCulture(t, f.dev, *h.Users["insp-a1"].InspectorID, key, p, mutation(f.dev, p.ID)))
		}
	}
	push := func(ctx context.Context, device int64, ms []syncproto.Mutation) {
		t.Helper()
		for batch := range slices.Chunk(ms, syncproto.MaxMutationsPerPush) {
			r, err := h.App.Sync.Push(ctx, &syncproto.PushRequest{DeviceID: device, Mutations: batch}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, res := range r.Results {
				if res.Status != syncproto.StatusApplied {
					t.Fatalf("push: mutation %d %s %s", res.Seq, res.Status, res.Message)
				}
			}
		}
	}
	push(f.ctx, f.dev, ms)

	// insp-a1's culture teammate answers the first culture item of every
	// fourth unsealed packet offline, without having seen insp-a1's answer:
	// a conflict, both versions kept in the state.
	mateCtx, mateDev, _ := fieldDevice(t, h, "insp-a2")
	seq, ms = 0, nil
	for i, p := range f.packets {
		if i%4 == 0 && i%5 != 3 { // a sealed packet takes no answers
			ms = append(ms, answer(mateDev, p, culture, 0, syncproto.ResultNotApplicable, 0))
		}
	}
	push(mateCtx, mateDev, ms)
	return f
}

// sealCulture is m sealing the culture section of p: every item compliant,
// the certificates of the team's culture members.
func sealCulture(t testing.TB, device, inspector int64, key ed25519.PrivateKey, p *server.Packet, m syncproto.Mutation) syncproto.Mutation {
	t.Helper()
	rec := syncproto.SectionRecord{PacketID: p.ID, Department: "culture", Version: 1, DeviceID: device, InspectorID: inspector,
		Answers: []syncproto.AnswerMutation{}, Certificates: []syncproto.CertificateShown{}, Attachments: []string{}, SealedAt: m.DeviceTime}
	for _, s := range p.Content.Sections {
		if s.Department == rec.Department {
			for _, it := range s.Items {
				rec.Answers = append(rec.Answers, syncproto.AnswerMutation{Department: s.Department, ItemCode: it.Code, ItemVersion: it.Version, Result: syncproto.ResultCompliant})
			}
		}
	}
	slices.SortFunc(rec.Answers, func(a, b syncproto.AnswerMutation) int { return strings.Compare(a.ItemCode, b.ItemCode) })
	for _, tm := range p.Content.Team {
		if tm.Department == rec.Department {
			rec.Certificates = append(rec.Certificates, syncproto.CertificateShown{InspectorID: tm.InspectorID, CertificateNumber: tm.CertificateNumber})
		}
	}
	slices.SortFunc(rec.Certificates, func(a, b syncproto.CertificateShown) int { return int(a.InspectorID - b.InspectorID) })
	hash, err := syncproto.CanonicalHash(&rec)
	if err != nil {
		t.Fatal(err)
	}
	m.Kind, m.Seal = syncproto.KindSeal, &syncproto.SealMutation{Section: rec, Hash: hash, Signature: ed25519.Sign(key, syncproto.SectionSealMessage(hash))}
	return m
}

func (f *pullFixture) pull(t testing.TB, cursor string, limit int) *syncproto.PullResponse {
	t.Helper()
	r, err := f.h.App.Sync.Pull(f.ctx, &syncproto.PullRequest{DeviceID: f.dev, Cursor: cursor, Limit: limit})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// objectKey names the object a change is about.
func objectKey(c syncproto.Change) string { return c.Kind + " " + c.PacketID + " " + c.Key }

// A pull page costs a fixed number of statements however many changes it
// carries, and says the same as pulling the objects one by one: every
// object once, at its latest change, in server order, with its current
// state, whatever the page size.
func TestPull_BoundedStatements(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newPullFixture(t, db, 40)

		const maxStatements = 6 // device, head, changes, and one per kind of object
		for _, limit := range []int{60, 500} {
			before := f.statements.Load()
			r := f.pull(t, "", limit)
			n := f.statements.Load() - before
			t.Logf("page of %d changes (limit %d): %d statements", len(r.Changes), limit, n)
			if len(r.Changes) < 50 {
				t.Fatalf("limit %d: a page of %d changes does not test", limit, len(r.Changes))
			}
			if n > maxStatements {
				t.Errorf("a page of %d changes ran %d statements, want at most %d", len(r.Changes), n, maxStatements)
			}
		}

		whole := f.pull(t, "", 500)
		if whole.More || whole.Reset {
			t.Fatalf("whole pull: more %v reset %v", whole.More, whole.Reset)
		}
		kinds := map[string]int{}
		seen := map[string]bool{}
		conflicts := 0
		for i, c := range whole.Changes {
			kinds[c.Kind]++
			if i > 0 && c.Seq <= whole.Changes[i-1].Seq {
				t.Fatalf("change %d (seq %d) after seq %d", i, c.Seq, whole.Changes[i-1].Seq)
			}
			if seen[objectKey(c)] {
				t.Fatalf("%s twice in one page", objectKey(c))
			}
			seen[objectKey(c)] = true
			switch c.Kind {
			case syncproto.ChangePacket:
				p, err := f.h.App.Campaigns.(server.CampaignFieldworkService).FindPacketByID(f.ctx, c.PacketID)
				if err != nil {
					t.Fatal(err)
				}
				var got syncproto.PacketState
				if err := json.Unmarshal(c.Data, &got); err != nil {
					t.Fatal(err)
				}
				want, _ := json.Marshal(p.Content)
				var gotContent server.PacketContent
				json.Unmarshal(got.Content, &gotContent)
				again, _ := json.Marshal(gotContent)
				if got.ID != p.ID || got.CampaignID != p.CampaignID || got.Version != p.Version || got.TeamNumber != p.TeamNumber || string(again) != string(want) {
					t.Fatalf("packet %s: pulled %s", p.ID, c.Data)
				}
			case syncproto.ChangeAnswer:
				dept, item, _ := strings.Cut(c.Key, "/")
				st, err := f.h.App.Sync.FindAnswerState(f.ctx, c.PacketID, dept, item)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := json.Marshal(st)
				if string(c.Data) != string(want) {
					t.Fatalf("answer %s %s:\npulled %s\nwant   %s", c.PacketID, c.Key, c.Data, want)
				}
				conflicts += len(st.Conflicts)
			case syncproto.ChangeSection:
				var sec syncproto.SealedSection
				if err := json.Unmarshal(c.Data, &sec); err != nil {
					t.Fatal(err)
				}
				if h, _ := syncproto.CanonicalHash(&sec.Section); h != sec.Hash || sec.Section.PacketID != c.PacketID || c.Key != "culture/1" || len(sec.Signature) != 64 {
					t.Fatalf("section %s: pulled %s", c.PacketID, c.Data)
				}
			}
		}
		if kinds[syncproto.ChangePacket] != 40 || kinds[syncproto.ChangeAnswer] != 56 || kinds[syncproto.ChangeSection] != 8 || conflicts != 8 {
			t.Fatalf("whole pull: %v, %d conflicts", kinds, conflicts)
		}

		// Small pages end in the same state, and their cursor steps on.
		for _, limit := range []int{1, 7, 33} {
			last := map[string]string{}
			cursor, pages := "", 0
			for {
				r := f.pull(t, cursor, limit)
				pages++
				if len(r.Changes) > limit {
					t.Fatalf("limit %d: a page of %d", limit, len(r.Changes))
				}
				for _, c := range r.Changes {
					last[objectKey(c)] = string(c.Data)
				}
				if !r.More {
					if r.Cursor != whole.Cursor {
						t.Fatalf("limit %d: final cursor %s, want %s", limit, r.Cursor, whole.Cursor)
					}
					break
				}
				if r.Cursor == cursor {
					t.Fatalf("limit %d: the cursor does not move", limit)
				}
				cursor = r.Cursor
			}
			if len(last) != len(whole.Changes) {
				t.Fatalf("limit %d: %d objects in %d pages, want %d", limit, len(last), pages, len(whole.Changes))
			}
			for _, c := range whole.Changes {
				if last[objectKey(c)] != string(c.Data) {
					t.Fatalf("limit %d: %s ends as %s, want %s", limit, objectKey(c), last[objectKey(c)], c.Data)
				}
			}
		}

		// Nothing new: an empty page at the same cursor; a cursor beyond the
		// log starts again with reset.
		if r := f.pull(t, whole.Cursor, 0); len(r.Changes) != 0 || r.More || r.Cursor != whole.Cursor {
			t.Fatalf("pull at the head: %+v", r)
		}
		if r := f.pull(t, "99999999", 500); !r.Reset || len(r.Changes) != len(whole.Changes) {
			t.Fatalf("cursor beyond the log: reset %v, %d changes", r.Reset, len(r.Changes))
		}
	})
}

// BenchmarkPull times one pull page of every change a device has (100
// packets and their answers and records: 240 changes), on SQLite and,
// with SPOTCHECK_TEST_POSTGRES_DSN set, on PostgreSQL.
//
//	SPOTCHECK_TEST_POSTGRES_DSN=… go test ./server/store -run '^$' -bench Pull
func BenchmarkPull(b *testing.B) {
	for _, dialect := range storetest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			f := newPullFixture(b, storetest.MustOpenDB(b, dialect), 100)
			r := f.pull(b, "", syncproto.MaxPullLimit)
			if r.More {
				b.Fatal("more than one page")
			}
			before := f.statements.Load()
			for b.Loop() {
				f.pull(b, "", syncproto.MaxPullLimit)
			}
			b.ReportMetric(float64(len(r.Changes)), "changes/op")
			b.ReportMetric(float64(f.statements.Load()-before)/float64(b.N), "statements/op")
		})
	}
}
