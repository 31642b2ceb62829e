package synctest

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	sdk "github.com/spotcheck/spotcheck/client-sdk"
	"github.com/spotcheck/spotcheck/internal/faultnet/devicedaybench"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
	"github.com/spotcheck/spotcheck/syncproto"
)

var dayItems = flag.Int("deviceday.items", 60, "BenchmarkDeviceDayLoopback: check items answered per packet (60 gives about 1,260 mutations)")

var dayCPUProfile = flag.String("deviceday.cpuprofile", "", "BenchmarkDeviceDayLoopback: write a CPU profile of each evening sync (device and server) to FILE.DIALECT.N")

var eveningRuns atomic.Int32

// profileEvening runs sync under the CPU profile if -deviceday.cpuprofile is set.
func profileEvening(tb testing.TB, sync func() error) func() error {
	if *dayCPUProfile == "" {
		return sync
	}
	return func() error {
		dialect := tb.Name()[strings.LastIndex(tb.Name(), "/")+1:]
		f, err := os.Create(fmt.Sprintf("%s.%s.%d", *dayCPUProfile, dialect, eveningRuns.Add(1)))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
		return sync()
	}
}

// wireCounter counts what a device's transport puts on and takes off the
// wire (TCP payload: headers and bodies as sent, compressed or not) and its
// requests by kind.
type wireCounter struct {
	next     http.RoundTripper
	up, down atomic.Int64
	mu       sync.Mutex
	kinds    map[string]int
	bodies   map[string]*atomic.Int64 // answer body bytes as received, by kind
}

func newWireCounter() *wireCounter {
	w := &wireCounter{kinds: map[string]int{}, bodies: map[string]*atomic.Int64{}}
	d := &net.Dialer{}
	w.next = &http.Transport{
		MaxIdleConnsPerHost: 16,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countedConn{Conn: c, w: w}, nil
		},
	}
	return w
}

type countedConn struct {
	net.Conn
	w *wireCounter
}

func (c *countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.w.down.Add(int64(n))
	return n, err
}

func (c *countedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.w.up.Add(int64(n))
	return n, err
}

// requestKind names a sync request for the counts.
func requestKind(r *http.Request) string {
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, syncproto.PathUploads):
		return "upload " + r.Method
	case p == syncproto.PathAttachmentsBatch:
		return "upload batch"
	case p == syncproto.PathAttachmentsMissing:
		return "missing"
	case p == syncproto.PathPush:
		return "push"
	case p == syncproto.PathPull:
		return "pull"
	default:
		return "other " + r.Method + " " + p
	}
}

func (w *wireCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	kind := requestKind(r)
	w.mu.Lock()
	w.kinds[kind]++
	n := w.bodies[kind]
	if n == nil {
		n = &atomic.Int64{}
		w.bodies[kind] = n
	}
	w.mu.Unlock()
	resp, err := w.next.RoundTrip(r)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: n}
	}
	return resp, err
}

// loopbackPhase is one sync's figures.
type loopbackPhase struct {
	wall     time.Duration
	cpu      time.Duration // this process's: device and server
	dbCPU    time.Duration // PostgreSQL's backends for the database
	up, down int64
	kinds    map[string]int
	bodies   map[string]int64
}

func (p loopbackPhase) requests() (all, uploads int) {
	for k, n := range p.kinds {
		all += n
		if strings.HasPrefix(k, "upload ") {
			uploads += n
		}
	}
	return all, uploads
}

func (p loopbackPhase) String() string {
	all, uploads := p.requests()
	var kinds []string
	for _, k := range []string{"upload POST", "upload PATCH", "upload HEAD", "missing", "push", "pull"} {
		if n := p.kinds[k]; n > 0 {
			kinds = append(kinds, fmt.Sprintf("%s %d (answers %.1f KB)", k, n, float64(p.bodies[k])/1e3))
		}
	}
	for k, n := range p.kinds {
		if strings.HasPrefix(k, "other ") {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		}
	}
	return fmt.Sprintf("%v (CPU %v, database %v), %d requests (%d uploads, %d others: %s), %.2f MB up, %.1f KB down",
		p.wall.Round(time.Millisecond), p.cpu.Round(time.Millisecond), p.dbCPU.Round(time.Millisecond), all, uploads, all-uploads, strings.Join(kinds, ", "), float64(p.up)/1e6, float64(p.down)/1e3)
}

// measure runs sync and returns its figures.
func (w *wireCounter) measure(tb testing.TB, db *store.DB, sync func() error) loopbackPhase {
	tb.Helper()
	db0 := databaseCPU(tb, db)
	w.mu.Lock()
	w.kinds = map[string]int{}
	w.bodies = map[string]*atomic.Int64{}
	w.mu.Unlock()
	up0, down0 := w.up.Load(), w.down.Load()
	start, cpu0 := time.Now(), processCPU()
	if err := sync(); err != nil {
		tb.Fatal(err)
	}
	p := loopbackPhase{wall: time.Since(start), cpu: processCPU() - cpu0, up: w.up.Load() - up0, down: w.down.Load() - down0}
	p.dbCPU = databaseCPU(tb, db) - db0
	w.mu.Lock()
	p.kinds = w.kinds
	p.bodies = map[string]int64{}
	for k, n := range w.bodies {
		p.bodies[k] = n.Load()
	}
	w.mu.Unlock()
	return p
}

// loopbackDay is one device-day on loopback against the real server: the
// morning pull, the day's work offline (items answers a packet), the
// evening sync and a no-op sync, each measured; then the server is checked
// against the device's intent.
func loopbackDay(tb testing.TB, db *store.DB, spec devicedaybench.Spec, items int) (morning, evening, noop loopbackPhase, mutations int) {
	tb.Helper()
	ctx := context.Background()
	h := apptest.New(tb, db)
	w := &world{h: h, db: db, dept: h.DeptA.Code}
	for i := range items {
		w.items = append(w.items, fmt.Sprintf("item-%02d", i+1))
	}
	is := h.IssueCampaign(tb, apptest.CampaignSpec{
		Cafes: 2 * spec.Packets, Ratio: "0.5", TargetsPerTeam: spec.Packets,
		Items: map[string][]string{h.DeptA.Code: w.items, h.DeptB.Code: {"prices"}},
	})
	username := is.MembersOf(is.Packets[0].ID, h.DeptA)[0]
	wc := newWireCounter()
	dir := tb.TempDir()
	c, err := sdk.Open(dir, sdk.Config{HTTPClient: &http.Client{Transport: wc, Timeout: 60 * time.Second}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	if err := c.Enrol(ctx, h.URL, username, apptest.Password, "车载平板"); err != nil {
		tb.Fatal(err)
	}
	morning = wc.measure(tb, db, func() error { return c.Sync(ctx) })
	local, err := gorm.Open(sqlite.Open("file:"+filepath.Join(dir, "field.db")+"?mode=ro&_busy_timeout=10000"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		tb.Fatal(err)
	}
	if sq, err := local.DB(); err == nil {
		tb.Cleanup(func() { sq.Close() })
	}
	d := &device{t: tb, w: w, c: c, dir: dir, local: local, id: c.DeviceID(), intent: map[uint64]intent{}}
	payload := dayWork(tb, c, d, w, is, spec)
	evening = wc.measure(tb, db, profileEvening(tb, func() error { return c.Sync(ctx) }))
	noop = wc.measure(tb, db, func() error { return c.Sync(ctx) })
	d.verify()
	verifyBlobs(tb, db, h.App.Blobs)
	hashes := make([]string, 0, len(payload.Items))
	for _, it := range payload.Items {
		hashes = append(hashes, it.SHA256)
	}
	var blobs int64
	serverQuery(tb, db, &blobs, `SELECT COUNT(*) FROM blobs WHERE sha256 IN ?`, hashes)
	if blobs != int64(len(hashes)) {
		lose(tb, "%d of the day's %d attachments on the server", blobs, len(hashes))
	}
	return morning, evening, noop, len(d.intent)
}

// BenchmarkDeviceDayLoopback is one device-day (20 packets, 40 signatures
// of ~30 KB, 100 photos of ~300 KB, -deviceday.items answers a packet)
// synced on loopback against the real server, on each dialect: requests by
// kind, bytes on the wire up and down, and time of the evening sync.
//
//	SPOTCHECK_TEST_POSTGRES_DSN=… go test ./internal/synctest -run '^$' -bench DeviceDayLoopback -benchtime 3x
func BenchmarkDeviceDayLoopback(b *testing.B) {
	spec := daySpec()
	for _, dialect := range storetest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			var wall, cpu, dbCPU time.Duration
			for i := range b.N {
				db := storetest.MustOpenDB(b, dialect)
				morning, evening, noop, mutations := loopbackDay(b, db, spec, *dayItems)
				wall += evening.wall
				cpu += evening.cpu
				dbCPU += evening.dbCPU
				all, uploads := evening.requests()
				mAll, _ := morning.requests()
				b.ReportMetric(float64(all), "evening-requests")
				b.ReportMetric(float64(all-uploads+mAll), "day-non-upload-requests")
				b.ReportMetric(float64(evening.up)/1e6, "evening-MB-up")
				b.ReportMetric(float64(evening.down)/1e3, "evening-KB-down")
				fmt.Printf("%s run %d: %d mutations\n  morning: %s\n  evening: %s\n  no-op:   %s\n", dialect, i+1, mutations, morning, evening, noop)
			}
			b.ReportMetric(wall.Seconds()/float64(b.N), "evening-s")
			b.ReportMetric(cpu.Seconds()/float64(b.N), "evening-cpu-s")
			if dialect == store.Postgres {
				b.ReportMetric(dbCPU.Seconds()/float64(b.N), "evening-db-cpu-s")
			}
		})
	}
}
