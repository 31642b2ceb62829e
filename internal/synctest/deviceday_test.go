package synctest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	sdk "github.com/spotcheck/spotcheck/client-sdk"
	"github.com/spotcheck/spotcheck/internal/faultnet"
	"github.com/spotcheck/spotcheck/internal/faultnet/devicedaybench"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

var (
	dayDialect = flag.String("deviceday.dialect", "sqlite", "BenchmarkDeviceDay: the server's database, sqlite or postgres")
	daySeed    = flag.Uint64("deviceday.seed", 1, "BenchmarkDeviceDay: seed of the payload and of the drop times")
	dayClean   = flag.Bool("deviceday.clean", false, "BenchmarkDeviceDay: also sync the same day over the link without drops, as the baseline for re-sent bytes")
	dayDrop    = flag.Duration("deviceday.drop-every", 2*time.Minute, "BenchmarkDeviceDay: mean interval (±25%) between link drops; 0 for none")
	dayUp      = flag.Float64("deviceday.up-mbit", 1, "BenchmarkDeviceDay: uplink rate in Mbit/s")
	dayTrace   = flag.Bool("deviceday.trace", false, "BenchmarkDeviceDay: print the sync's timeline (drops, requests, the SDK's retries) to stderr")
)

// timeline prints what happened when during the measured sync: drops,
// requests and their outcome, the SDK's own debug log.
type timeline struct {
	mu    sync.Mutex
	start time.Time
	on    atomic.Bool
}

func (tl *timeline) begin() {
	if tl != nil {
		tl.mu.Lock()
		tl.start = time.Now()
		tl.mu.Unlock()
		tl.on.Store(true)
	}
}

func (tl *timeline) end() {
	if tl != nil {
		tl.on.Store(false)
	}
}

func (tl *timeline) logf(format string, args ...any) {
	if tl == nil || !tl.on.Load() {
		return
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	fmt.Fprintf(os.Stderr, "%8.3fs %s\n", time.Since(tl.start).Seconds(), fmt.Sprintf(format, args...))
}

// Write takes the SDK's log lines (one per call).
func (tl *timeline) Write(p []byte) (int, error) {
	tl.logf("sdk: %s", strings.TrimSpace(string(p)))
	return len(p), nil
}

func (tl *timeline) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(tl, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
}

// dayFigures is one device-day run: the link's figures and the device's own
// count of request-body bytes it had to send again.
type dayFigures struct {
	devicedaybench.Result
	Resent      int64 // body bytes sent more than once
	Attachments int   // files uploaded
	Mutations   int   // mutations queued by the day's work
	Chunk       int   // the SDK's upload chunk
}

// ResentPerDrop is Resent over the drops of the day's sync.
func (f dayFigures) ResentPerDrop() int64 {
	if f.Sync.Drops == 0 {
		return 0
	}
	return f.Resent / int64(f.Sync.Drops)
}

// runDeviceDay issues a campaign with spec.Packets packets for one
// department-A inspector, enrols a device through a link shaped by cfg, does
// the day's work offline (certificates, answers with spec.Photos photos,
// spec.Signatures signatures across signed and refused visits, a seal per
// packet), measures the evening sync and checks the server against the
// device's intent.
func runDeviceDay(tb testing.TB, db *store.DB, spec devicedaybench.Spec, cfg devicedaybench.Config, sdkCfg sdk.Config) dayFigures {
	tb.Helper()
	ctx := context.Background()
	var tl *timeline
	if *dayTrace {
		tl = &timeline{}
		sdkCfg.Logger = tl.logger()
		cfg.OnDrop = func() { tl.logf("---- link drop ----") }
	}
	h := apptest.New(tb, db)
	w := &world{h: h, db: db, dept: h.DeptA.Code, items: linkDayItems()}
	is := h.IssueCampaign(tb, apptest.CampaignSpec{
		Cafes: 2 * spec.Packets, Ratio: "0.5", TargetsPerTeam: spec.Packets,
		Items: map[string][]string{h.DeptA.Code: w.items, h.DeptB.Code: {"prices"}},
	})
	if len(is.Packets) != spec.Packets {
		tb.Fatalf("%d packets issued, want %d", len(is.Packets), spec.Packets)
	}
	username := is.MembersOf(is.Packets[0].ID, h.DeptA)[0]
	if mine := is.PacketsOf(username); len(mine) != spec.Packets {
		tb.Fatalf("%s holds %d packets, want %d", username, len(mine), spec.Packets)
	}

	bench, err := devicedaybench.Start(h.App.API.Addr().String(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { bench.Close() })
	env := bench.Env()
	body := &bodyCounter{next: env.Client.Transport, tl: tl}
	sdkCfg.HTTPClient = &http.Client{Transport: body, Timeout: 60 * time.Second}
	dir := tb.TempDir()
	c, err := sdk.Open(dir, sdkCfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	if err := c.Enrol(ctx, env.BaseURL, username, apptest.Password, "车载平板"); err != nil {
		tb.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil { // the morning's pull, in the office
		tb.Fatal(err)
	}
	local, err := gorm.Open(sqlite.Open("file:"+filepath.Join(dir, "field.db")+"?mode=ro&_busy_timeout=10000"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		tb.Fatal(err)
	}
	if sq, err := local.DB(); err == nil {
		tb.Cleanup(func() { sq.Close() })
	}
	d := &device{t: tb, w: w, c: c, dir: dir, local: local, id: c.DeviceID(), intent: map[uint64]intent{}}

	payload := dayWork(tb, c, d, w, is, spec)
	var queued int64
	if err := local.Raw(`SELECT COALESCE(SUM(LENGTH(CAST(body AS BLOB))), 0) FROM outbox`).Scan(&queued).Error; err != nil {
		tb.Fatal(err)
	}
	attachmentBytes := payload.Bytes()

	// The evening sync from the vehicle.
	body.reset()
	tl.begin()
	res, err := bench.Measure(ctx, attachmentBytes+queued, func(ctx context.Context, _ devicedaybench.Env) error {
		err := c.Sync(ctx)
		if errors.Is(err, sdk.ErrRejected) {
			rs, _ := c.Rejections(context.Background())
			tb.Fatalf("the server rejected the day's work: %+v", rs)
		}
		return err
	})
	tl.end()
	if err != nil {
		tb.Fatal(err)
	}
	d.verify()
	verifyBlobs(tb, db, h.App.Blobs)
	var sealed, closed, blobs int64
	serverQuery(tb, db, &sealed, `SELECT COUNT(*) FROM section_seals WHERE device_id = ?`, d.id)
	serverQuery(tb, db, &closed, `SELECT COUNT(*) FROM visit_closes WHERE device_id = ?`, d.id)
	if sealed != int64(spec.Packets) || closed != int64(spec.Packets) {
		lose(tb, "%d sealed sections and %d closes on the server, want %d of each", sealed, closed, spec.Packets)
	}
	hashes := make([]string, 0, len(payload.Items))
	for _, it := range payload.Items {
		hashes = append(hashes, it.SHA256)
	}
	serverQuery(tb, db, &blobs, `SELECT COUNT(*) FROM blobs WHERE sha256 IN ?`, hashes)
	if blobs != int64(len(hashes)) {
		lose(tb, "%d of the day's %d attachments on the server", blobs, len(hashes))
	}
	chunk := sdkCfg.ChunkSize
	if chunk == 0 {
		chunk = 512 << 10 // the SDK's default
	}
	return dayFigures{Result: res, Resent: body.resent(attachmentBytes), Attachments: len(hashes), Mutations: len(d.intent), Chunk: chunk}
}

// bodyCounter counts the request-body bytes the transport read: upload
// bodies (PATCH, and a creation's first chunk) in total, and every other
// body of a request that failed before an answer came, since the SDK sends
// that body again.
type bodyCounter struct {
	next        http.RoundTripper
	patch, lost atomic.Int64
	tl          *timeline
}

func (b *bodyCounter) reset() { b.patch.Store(0); b.lost.Store(0) }

// resent is what the device sent beyond one copy of each attachment (whose
// bytes total attachments) and one successful copy of every other body.
func (b *bodyCounter) resent(attachments int64) int64 {
	return max(b.patch.Load()-attachments, 0) + b.lost.Load()
}

func (b *bodyCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	var n atomic.Int64
	if r.Body != nil && r.Body != http.NoBody {
		r2 := r.Clone(r.Context())
		r2.Body = &countingBody{ReadCloser: r.Body, n: &n}
		if r.GetBody != nil {
			get := r.GetBody
			r2.GetBody = func() (io.ReadCloser, error) {
				rc, err := get()
				if err != nil {
					return nil, err
				}
				return &countingBody{ReadCloser: rc, n: &n}, nil
			}
		}
		r = r2
	}
	b.tl.logf("→ %s %s %s", r.Method, shortPath(r.URL.Path), r.Header.Get("Upload-Offset"))
	resp, err := b.next.RoundTrip(r)
	if err != nil {
		b.tl.logf("✗ %s %s after %d B: %v", r.Method, shortPath(r.URL.Path), n.Load(), err)
	} else {
		b.tl.logf("← %s %s %d offset %s (%d B sent)", r.Method, shortPath(r.URL.Path), resp.StatusCode, resp.Header.Get("Upload-Offset"), n.Load())
	}
	switch {
	case isUploadBody(r):
		b.patch.Add(n.Load())
	case err != nil:
		b.lost.Add(n.Load())
	}
	return resp, err
}

// shortPath keeps an upload's path readable in the timeline.
func shortPath(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 && len(p)-i > 9 {
		return p[:i+9]
	}
	return p
}

// A scaled-down device-day on both dialects in every run: the full path of
// BenchmarkDeviceDay (payload, link drops, figures) over a fast link that
// drops every ~0.4 s, with its invariants asserted.
func TestDeviceDayScaled(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		link := faultnet.Link{UpBytesPerSecond: 1_000_000, RTT: 20 * time.Millisecond, CutEvery: 400 * time.Millisecond, Mode: faultnet.CutReset}
		spec := devicedaybench.Spec{Packets: 3, Signatures: 6, SignatureBytes: 8_000, Photos: 12, PhotoBytes: 90_000}
		f := runDeviceDay(t, db, spec, devicedaybench.Config{Link: link, Seed: 3},
			sdk.Config{ChunkSize: 64 << 10, MaxAttempts: 6, BackoffBase: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
		fault(f.Sync.Drops)
		t.Logf("%s resent %d B (%d per drop)", f.Markdown(), f.Resent, f.ResentPerDrop())
		if f.Sync.Drops == 0 {
			t.Fatalf("the link never dropped: %+v", f.Sync)
		}
		if f.NoOp.RoundTrips != 1 || f.NoOp.UpWire > 2_000 {
			t.Errorf("no-op sync: %d round trips, %d bytes up; want 1 round trip", f.NoOp.RoundTrips, f.NoOp.UpWire)
		}
		if f.Sync.UpWire < f.PayloadBytes/2 {
			t.Errorf("only %d bytes on the wire for a %d-byte day", f.Sync.UpWire, f.PayloadBytes)
		}
		// A drop costs what was in flight: at most a chunk, two when a cut
		// request's tail was still being written on the server as the
		// device asked for the offset (see docs/benchmarks.md).
		if per := f.ResentPerDrop(); per > 2*int64(f.Chunk) {
			t.Errorf("%d bytes re-sent per drop, over two %d-byte chunks", per, f.Chunk)
		}
	})
}

// BenchmarkDeviceDay is issue 4's device-day: 20 packets, 40 signatures of
// ~30 KB and 100 photos of ~300 KB synced over 1 Mbit/s up, 150 ms RTT, the
// link dropping every ~2 minutes. One iteration takes over four minutes.
// The flags change the drop interval, the rate and the day's size, and
// print the sync's timeline.
//
//	go test ./internal/synctest -run '^$' -bench DeviceDay -benchtime 1x -timeout 30m [-deviceday.clean] [-deviceday.drop-every 30s]
func BenchmarkDeviceDay(b *testing.B) {
	spec := daySpec()
	vehicle := devicedaybench.VehicleLink()
	vehicle.UpBytesPerSecond = int64(*dayUp * 1e6 / 8)
	vehicle.CutEvery = *dayDrop
	for range b.N {
		run := func(link faultnet.Link) dayFigures {
			db := storetest.MustOpenDB(b, *dayDialect)
			return runDeviceDay(b, db, spec, devicedaybench.Config{Link: link, Seed: *daySeed}, sdk.Config{})
		}
		f := run(vehicle)
		b.ReportMetric(f.WallRatio(), "wall/ideal")
		b.ReportMetric(f.WireRatio(), "wire/payload")
		b.ReportMetric(float64(f.Sync.RoundTrips), "round-trips")
		b.ReportMetric(float64(f.NoOp.RoundTrips), "noop-round-trips")
		b.ReportMetric(float64(f.ResentPerDrop()), "resent-B/drop")
		fmt.Println("| payload | link | wall | ideal | wall/ideal | up on wire | wire/payload | conns | drops | attempts | round trips | no-op round trips |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
		fmt.Println(f.Markdown())
		fmt.Printf("%d attachments, %d mutations (%d KB of JSON), chunk %d B; re-sent %d B in all, %d B per drop; up lost in flight %d B (%d B per drop); down %d B; no-op: %d round trip(s), %d B up, %d B down, %v\n",
			f.Attachments, f.Mutations, (f.PayloadBytes-int64(payloadAttachmentBytes(spec)))/1000, f.Chunk, f.Resent, f.ResentPerDrop(),
			f.Sync.UpLost, perDrop(f.Sync.UpLost, f.Sync.Drops), f.Sync.DownWire, f.NoOp.RoundTrips, f.NoOp.UpWire, f.NoOp.DownWire, f.NoOp.Wall.Round(time.Millisecond))
		if f.Sync.Drops > 0 {
			// Above the ideal, per drop: an upper bound of a drop's cost
			// (the clean run below gives the link's own share).
			fmt.Printf("per drop: %.2f s above the ideal\n", (f.Sync.Wall-f.Ideal).Seconds()/float64(f.Sync.Drops))
		}
		if *dayClean {
			clean := vehicle
			clean.CutEvery = 0
			c := run(clean)
			fmt.Println(c.Markdown())
			fmt.Printf("against this clean run: %d B more on the wire per drop, %.2f s more per drop\n", f.Result.ResentPerDrop(c.Result),
				(f.Sync.Wall-c.Sync.Wall).Seconds()/float64(max(f.Sync.Drops, 1)))
		}
	}
}

func perDrop(n int64, drops int) int64 {
	if drops == 0 {
		return 0
	}
	return n / int64(drops)
}

func payloadAttachmentBytes(s devicedaybench.Spec) int {
	p := devicedaybench.Generate(*daySeed, devicedaybench.Spec{Signatures: s.Signatures, SignatureBytes: s.SignatureBytes, Photos: s.Photos, PhotoBytes: s.PhotoBytes})
	return int(p.Bytes())
}
