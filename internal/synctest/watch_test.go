package synctest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/internal/faultnet"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// A device in automatic mode (Watch: long polls while idle, a push at every
// local change) whose link keeps dropping, while a teammate works and syncs.
// Its own answers reach the server once each, and it ends up with the
// teammate's changes without ever calling Sync itself.
func TestFaultWatchUnderDrops(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		watcher := newDevice(t, w, w.users[0], deviceOpts{})
		mate := newDevice(t, w, w.users[1], deviceOpts{})

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		watching := make(chan error, 1)
		go func() { watching <- watcher.c.Watch(ctx, time.Minute) }() // long polls between syncs

		// The watcher's link drops every 50–300 ms, whatever is in flight:
		// a long poll, a push, a pull.
		stopCuts := make(chan struct{})
		cutsDone := make(chan int)
		go func() {
			r := rand.New(rand.NewPCG(7, 11))
			n := 0
			for {
				select {
				case <-stopCuts:
					cutsDone <- n
					return
				case <-time.After(time.Duration(50+r.IntN(250)) * time.Millisecond):
					n += watcher.proxy.CutAll(faultnet.CutReset)
				}
			}
		}()

		items := []string{"minors", "fire"} // the teammate's and the watcher's, apart from conflicts
		for round := range 6 {
			mate.answer(items[0], syncproto.ResultCompliant, fmt.Sprintf("teammate %d", round))
			mate.mustSync()
			watcher.answer(items[1], syncproto.ResultNonCompliant, fmt.Sprintf("watcher %d", round))
			time.Sleep(150 * time.Millisecond)
		}
		// Let it settle with the link still dropping, then steady.
		time.Sleep(time.Second)
		close(stopCuts)
		cuts := <-cutsDone
		fault(cuts)
		if cuts == 0 {
			t.Fatal("the watcher's link never dropped")
		}

		// Without a Sync call, the watcher catches up: its outbox drains and
		// its cursor reaches the head of the server's change log.
		var head int64
		deadline := time.Now().Add(20 * time.Second)
		for {
			serverQuery(t, db, &head, `SELECT COALESCE(MAX(seq), 0) FROM sync_changes`)
			var cursor string
			watcher.local.Raw(`SELECT cursor FROM sync_state WHERE id = 1`).Scan(&cursor)
			at, _ := strconv.ParseInt(cursor, 10, 64)
			if watcher.outboxLen() == 0 && at >= head {
				break
			}
			if time.Now().After(deadline) {
				lose(t, "after the drops the watcher is at cursor %q with %d queued; the server's head is %d", cursor, watcher.outboxLen(), head)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		p, err := watcher.c.Packet(context.Background(), w.packetID)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Answers {
			if a.ItemCode == items[0] && a.Note != "teammate 5" {
				lose(t, "the watcher shows %q for %s, want the teammate's last answer", a.Note, items[0])
			}
		}
		cancel()
		if err := <-watching; !errors.Is(err, context.Canceled) {
			t.Fatalf("Watch ended with %v", err)
		}
		watcher.verify()
		mate.mustSync()
		mate.verify()
		t.Logf("%d connections cut under Watch", cuts)
	})
}
