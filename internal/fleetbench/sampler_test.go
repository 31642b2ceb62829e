package fleetbench

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for pg_stat_activity
)

// poolStater is a server's connection pool: the in-process server's
// *store.DB, or a server process's as its /metrics tell (remotePool).
type poolStater interface{ Stats() sql.DBStats }

// poolSnapshot and poolDelta are the pool's wait counters.
type poolSnapshot sql.DBStats

func poolStats(p poolStater) poolSnapshot { return poolSnapshot(p.Stats()) }

type poolDelta struct {
	MaxOpen int
	Waits   int64         // requests for a connection that had to wait
	Wait    time.Duration // their total wait
}

func (s poolSnapshot) since(before poolSnapshot) poolDelta {
	return poolDelta{MaxOpen: s.MaxOpenConnections, Waits: s.WaitCount - before.WaitCount, Wait: s.WaitDuration - before.WaitDuration}
}

// sampler looks at the server every interval during the measured phase: how
// many of the pool's connections are in use, and (on PostgreSQL) what the
// benchmark database's backends are doing, from pg_stat_activity.
type sampler struct {
	rec  *recorder
	pool poolStater
	pg   *sql.DB // nil on SQLite

	mu      sync.Mutex
	byStage map[string]*stageSamples
	stages  []string
	stop    chan struct{}
	done    chan struct{}
}

type stageSamples struct {
	n, inUse, inUseMax int
	pgN                int
	backends           map[string]int // state and wait event → backend-samples
	lockWaits          int            // samples in which a backend waited for the advisory lock
}

// startSampler starts sampling; dsn is the PostgreSQL database's, or "".
func startSampler(tb testing.TB, f *fleet, dsn string, every time.Duration) *sampler {
	tb.Helper()
	s := &sampler{rec: f.rec, pool: f.pool, byStage: map[string]*stageSamples{}, stop: make(chan struct{}), done: make(chan struct{})}
	if dsn != "" {
		pg, err := sql.Open("pgx", dsn)
		if err != nil {
			tb.Fatal(err)
		}
		pg.SetMaxOpenConns(1)
		tb.Cleanup(func() { pg.Close() })
		s.pg = pg
	}
	go s.loop(every)
	return s
}

func (s *sampler) loop(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sample()
		}
	}
}

func (s *sampler) sample() {
	stage := s.rec.currentStage()
	st := s.pool.Stats()
	var rows []string
	if s.pg != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r, err := s.pg.QueryContext(ctx, `SELECT state || ' / ' || COALESCE(wait_event_type || ':' || wait_event, 'running')
			FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`)
		if err == nil {
			for r.Next() {
				var k sql.NullString
				if r.Scan(&k) == nil && k.Valid {
					rows = append(rows, k.String)
				}
			}
			r.Close()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.byStage[stage]
	if ss == nil {
		ss = &stageSamples{backends: map[string]int{}}
		s.byStage[stage] = ss
		s.stages = append(s.stages, stage)
	}
	ss.n++
	ss.inUse += st.InUse
	ss.inUseMax = max(ss.inUseMax, st.InUse)
	if s.pg != nil {
		ss.pgN++
		waiting := false
		for _, k := range rows {
			ss.backends[k]++
			waiting = waiting || strings.HasSuffix(k, "Lock:advisory")
		}
		if waiting {
			ss.lockWaits++
		}
	}
}

func (s *sampler) finish() {
	close(s.stop)
	<-s.done
}

// table writes the samples as markdown.
func (s *sampler) table(b *strings.Builder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b.WriteString("| stage | samples | pool connections in use, mean / max |")
	if s.pg != nil {
		b.WriteString(" samples with a backend waiting for the advisory lock | PostgreSQL backends of the database, mean number by state / wait event |")
	}
	b.WriteString("\n|---|---|---|")
	if s.pg != nil {
		b.WriteString("---|---|")
	}
	b.WriteString("\n")
	for _, name := range s.stages {
		ss := s.byStage[name]
		if ss.n == 0 || name == stageField || name == stageSetup {
			continue
		}
		fmt.Fprintf(b, "| %s | %d | %.1f / %d |", name, ss.n, float64(ss.inUse)/float64(ss.n), ss.inUseMax)
		if s.pg != nil {
			type kv struct {
				k string
				n int
			}
			var kvs []kv
			for k, n := range ss.backends {
				kvs = append(kvs, kv{k, n})
			}
			sort.Slice(kvs, func(i, j int) bool { return kvs[i].n > kvs[j].n || kvs[i].n == kvs[j].n && kvs[i].k < kvs[j].k })
			var parts []string
			for _, e := range kvs {
				if mean := float64(e.n) / float64(ss.pgN); mean >= 0.05 {
					parts = append(parts, fmt.Sprintf("%s %.1f", e.k, mean))
				}
			}
			fmt.Fprintf(b, " %.0f%% | %s |", 100*float64(ss.lockWaits)/float64(max(ss.pgN, 1)), strings.Join(parts, "; "))
		}
		b.WriteString("\n")
	}
}
