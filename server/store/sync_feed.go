package store

import (
	"context"
	"sync"
	"time"
)

// Long polls: a pull with nothing to return may wait for a change (see
// syncproto.PullRequest.WaitSeconds). The change feed tells it when to look
// again.
//
// A waiter registers for its inspector before it reads the log, and is woken
// once a change its inspector's devices may pull has committed. The feed
// finds out by scanning the log: it reads the head and, when that moved, the
// inspectors on the teams of the packets the new changes are about, and wakes
// exactly those; two statements a scan, however many devices wait. A commit
// in this process that wrote to the log kicks a scan at once (WithTx, after
// the commit, never before). Other processes' commits — other server replicas
// on one PostgreSQL, an operator's command on the SQLite file — are found by
// the scan every FeedInterval, so every replica wakes its own waiters within
// about a second without talking to the others. (PostgreSQL LISTEN/NOTIFY
// would make that immediate at the cost of a dedicated connection per
// replica.) The feed scans only while something waits.
//
// Waking more waiters than needed is harmless: a waiter that finds nothing
// new waits again. So whenever the feed is unsure what it missed — the first
// scan after it was idle, a failed statement, a very long stretch of new
// changes — it wakes every waiter.

// FeedInterval is how often the change feed scans for changes committed by
// other processes while pulls wait.
const FeedInterval = time.Second

// feedMaxScan is the longest stretch of the log a scan reads inspectors
// from; beyond it, waking everyone is cheaper.
const feedMaxScan = 5000

// changeFeed wakes the pulls waiting for their inspector's changes.
type changeFeed struct {
	db       *DB
	interval time.Duration
	kick     chan struct{}

	mu      sync.Mutex
	waiting map[int64]*feedWaiters // by inspector
	count   int                    // waiters of every inspector
	running bool                   // the scan loop runs
	mark    int64                  // the log head the last scan read; -1 when not known
}

// feedWaiters are the waiters of one inspector; ch is closed to wake them.
type feedWaiters struct {
	ch chan struct{}
	n  int
}

func newChangeFeed(db *DB) *changeFeed {
	return &changeFeed{db: db, interval: FeedInterval, kick: make(chan struct{}, 1), waiting: map[int64]*feedWaiters{}, mark: -1}
}

// notify asks for a scan now: a change was committed in this process.
func (f *changeFeed) notify() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// watch registers a waiter for the inspector's changes. The channel is closed
// once a change the inspector's devices may pull commits after the call;
// stop unregisters the waiter and must be called when it no longer waits.
func (f *changeFeed) watch(inspectorID int64) (changed <-chan struct{}, stop func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := f.waiting[inspectorID]
	if w == nil {
		w = &feedWaiters{ch: make(chan struct{})}
		f.waiting[inspectorID] = w
	}
	w.n++
	f.count++
	if !f.running {
		f.running, f.mark = true, -1
		go f.run()
	}
	var once sync.Once
	return w.ch, func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.count--
			if w.n--; w.n == 0 && f.waiting[inspectorID] == w {
				delete(f.waiting, inspectorID)
			}
		})
	}
}

// run scans on every kick and tick until nothing waits.
func (f *changeFeed) run() {
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for {
		select {
		case <-f.kick:
		case <-t.C:
		}
		f.scan()
		f.mu.Lock()
		if f.count == 0 {
			f.running = false
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
	}
}

// scan wakes the waiters of the inspectors with changes committed since the
// last scan.
func (f *changeFeed) scan() {
	f.mu.Lock()
	mark := f.mark
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g := f.db.gorm.WithContext(ctx)
	var head []int64
	if err := g.Raw("SELECT COALESCE(MAX(seq), 0) FROM sync_changes").Scan(&head).Error; err != nil || len(head) == 0 {
		f.wakeAll(-1)
		return
	}
	switch {
	case head[0] == mark:
		return
	case mark < 0 || head[0] < mark || head[0]-mark > feedMaxScan:
		f.wakeAll(head[0])
		return
	}
	var inspectors []int64
	if err := g.Raw(`SELECT DISTINCT tm.inspector_id FROM sync_changes sc
		JOIN packets p ON p.id = sc.packet_id
		JOIN team_members tm ON tm.campaign_id = p.campaign_id AND tm.team_no = p.team_no
		WHERE sc.seq > ? AND sc.seq <= ?`, mark, head[0]).Scan(&inspectors).Error; err != nil {
		f.wakeAll(-1)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range inspectors {
		if w := f.waiting[id]; w != nil {
			close(w.ch)
			delete(f.waiting, id)
		}
	}
	f.mark = head[0]
}

// wakeAll wakes every waiter and sets the mark.
func (f *changeFeed) wakeAll(mark int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, w := range f.waiting {
		close(w.ch)
		delete(f.waiting, id)
	}
	f.mark = mark
}

// WatchChanges implements server.SyncService.
func (s *SyncService) WatchChanges(inspectorID int64) (changed <-chan struct{}, stop func()) {
	return s.db.feed.watch(inspectorID)
}
