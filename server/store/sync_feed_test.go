package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// woken reports whether ch closes within d.
func woken(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

// The change feed wakes an inspector's waiters once a change for them
// commits: at once when this process commits it, within a scan or two when
// another process (a second server replica on the same database) does; and
// not for another team's changes.
func TestChangeFeed_WakesAcrossProcesses(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			dsn := storetest.NewDSN(t, dialect)
			open := func() *store.DB {
				db, err := store.Open(dialect, dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			}
			here, replica := open(), open()
			if err := here.Migrate(context.Background(), discard); err != nil {
				t.Fatal(err)
			}
			h := apptest.New(t, here)
			replica.Now = h.Now
			is := h.IssueCampaign(t, apptest.CampaignSpec{})
			mine := is.PacketsOf("insp-a1")[0]
			var mate, stranger string
			var theirs *server.Packet
			for _, u := range is.Members[mine.ID] {
				if u != "insp-a1" {
					mate = u
				}
			}
			for _, p := range is.Packets {
				if p.TeamNumber != mine.TeamNumber {
					theirs, stranger = p, is.Members[p.ID][0]
				}
			}
			inspector := *h.Users["insp-a1"].InspectorID
			feed := h.App.Sync // the feed of this process
			type device struct {
				ctx context.Context
				id  int64
			}
			devices := map[string]device{}
			for _, u := range []string{mate, stranger} {
				ctx, id, _ := fieldDevice(t, h, u)
				devices[u] = device{ctx, id}
			}
			seq := map[string]uint64{}
			// answer pushes the next version of the packet's first item as
			// username, through sync (this process's or the replica's).
			answer := func(sync *store.SyncService, username string, p *server.Packet) {
				t.Helper()
				ctx, dev := devices[username].ctx, devices[username].id
				seq[username]++
				// The first item of the section of username's department.
				sec := p.Content.Sections[0]
				for _, s := range p.Content.Sections {
					if d := h.DeptA; *h.Users[username].DepartmentID != d.ID {
						if s.Department == h.DeptB.Code {
							sec = s
						}
					} else if s.Department == d.Code {
						sec = s
					}
				}
				it := sec.Items[0]
				m := syncproto.Mutation{Seq: seq[username], ID: username, Kind: syncproto.KindAnswer, PacketID: p.ID, DeviceTime: storetest.Now,
					Answer: &syncproto.AnswerMutation{Department: sec.Department, ItemCode: it.Code, ItemVersion: it.Version,
						Result: syncproto.ResultCompliant, BaseVersion: int64(seq[username]) - 1}}
				r, err := sync.Push(ctx, &syncproto.PushRequest{DeviceID: dev, Mutations: []syncproto.Mutation{m}}, nil)
				if err != nil || r.Results[0].Status != syncproto.StatusApplied {
					t.Fatalf("push as %s: %+v %v", username, r, err)
				}
			}

			// The first scan after the feed was idle wakes everyone: it
			// cannot know what committed before it looked.
			changed, stop := feed.WatchChanges(inspector)
			if !woken(changed, 3*store.FeedInterval) {
				t.Fatal("the first scan did not wake the waiter")
			}
			stop()

			// A commit here wakes at once.
			changed, stop = feed.WatchChanges(inspector)
			start := time.Now()
			answer(h.App.Sync, mate, mine)
			if !woken(changed, 500*time.Millisecond) {
				t.Fatal("a commit in this process did not wake the waiter")
			}
			t.Logf("woken %s after a commit here", time.Since(start).Round(time.Millisecond))
			stop()

			// Another team's change, committed by the other replica: no wake.
			changed, stop = feed.WatchChanges(inspector)
			defer stop()
			answer(store.NewSyncService(replica), stranger, theirs)
			if woken(changed, 3*store.FeedInterval) {
				t.Fatal("another team's change woke the waiter")
			}
			// insp-a1's teammate's, committed by the other replica: woken by
			// the next scan.
			start = time.Now()
			answer(store.NewSyncService(replica), mate, mine)
			if !woken(changed, 3*store.FeedInterval) {
				t.Fatal("a commit by another replica did not wake the waiter")
			}
			t.Logf("woken %s after a commit by another replica", time.Since(start).Round(time.Millisecond))
		})
	}
}
