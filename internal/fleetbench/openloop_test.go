package fleetbench

import (
	"bufio"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/internal/serverproc"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
)

var (
	flagWindow     = flag.Duration("fleet.window", 2*time.Minute, "BenchmarkFleetOpenLoop: the evening syncs arrive over this window")
	flagArrivals   = flag.String("fleet.arrivals", "uniform", "BenchmarkFleetOpenLoop: arrival times, uniform (each device at a uniformly random time in the window) or poisson (exponential gaps, mean window/devices)")
	flagSeed       = flag.Uint64("fleet.seed", 1, "BenchmarkFleetOpenLoop: seed of the arrival times")
	flagPerf       = flag.String("fleet.perf", "", "BenchmarkFleetOpenLoop: record the server process with `perf record -g` during the window into this file (read it with perf report -i FILE)")
	flagOpenSample = flag.Duration("fleet.openloop-sample", 500*time.Millisecond, "BenchmarkFleetOpenLoop: the least interval between samples of the server's pool (its /metrics) and pg_stat_activity")
	flagServer     = flag.String("fleet.server", "", "BenchmarkFleetOpenLoop: the spotcheck binary to run; empty: go build ./server/cmd/spotcheck into a temporary directory")
)

// stageArrivals is the open-loop run's measured window.
const stageArrivals = "evening arrivals"

// arrivalOffsets draws when each of n devices starts its evening sync,
// counted from the window's start: uniform draws n independent times in the
// window (a Poisson process conditioned on n arrivals in it); poisson draws
// exponential gaps of mean window/n, so the last arrivals may fall a little
// after the window. Offsets are in device order, not sorted.
func arrivalOffsets(n int, window time.Duration, kind string, seed uint64) ([]time.Duration, error) {
	r := rand.New(rand.NewPCG(seed, 0xa221))
	out := make([]time.Duration, n)
	switch kind {
	case "uniform":
		for i := range out {
			out[i] = time.Duration(r.Int64N(int64(window)))
		}
	case "poisson":
		mean := float64(window) / float64(n)
		var t float64
		order := r.Perm(n) // which device comes k-th
		for _, i := range order {
			t += r.ExpFloat64() * mean
			out[i] = time.Duration(t)
		}
	default:
		return nil, fmt.Errorf("arrivals %q: want uniform or poisson", kind)
	}
	return out, nil
}

// openLoopResult is what the measured window saw besides the requests.
type openLoopResult struct {
	window, arrivals string
	wall             time.Duration   // first arrival's planned time to the last sync's end
	took             []time.Duration // each device's sync, from its planned arrival to the end
	lag              []time.Duration // how late each sync started after its planned arrival
	maxConcurrent    int64           // devices syncing at once, at most
}

// prepareEvening is the open-loop run's setup, not measured: every device's
// morning sync (all at once) and its day's field work offline.
func (f *fleet) prepareEvening(ctx context.Context) {
	f.tb.Helper()
	f.stage(ctx, stageMorning, func(ctx context.Context, d *device) error { return f.sync(ctx, d, stageMorning) })
	f.stage(ctx, stageField, func(ctx context.Context, d *device) error { return f.fieldWork(ctx, d) })
}

// openLoop is the measured window: device i starts its evening sync at
// offsets[i] after the start, however the earlier ones are doing (open loop:
// a slow server does not slow the arrivals), and the window ends when the
// last sync is done. An access token that expired since enrolment is
// answered 401 and refreshed, at most once per device.
func (f *fleet) openLoop(ctx context.Context, offsets []time.Duration, window time.Duration, arrivals string) openLoopResult {
	f.tb.Helper()
	f.rec.setStage(stageArrivals)
	f.expected401 = len(f.devices)
	before := poolStats(f.pool)
	res := openLoopResult{window: window.String(), arrivals: arrivals, took: make([]time.Duration, len(f.devices)), lag: make([]time.Duration, len(f.devices))}
	errs := make([]error, len(f.devices))
	var running atomic.Int64
	var peak atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for i, d := range f.devices {
		planned := start.Add(offsets[i])
		wg.Go(func() {
			select {
			case <-time.After(time.Until(planned)):
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			res.lag[i] = time.Since(planned)
			n := running.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			errs[i] = f.sync(ctx, d, stageArrivals)
			running.Add(-1)
			res.took[i] = time.Since(planned)
		})
	}
	wg.Wait()
	res.wall = time.Since(start.Add(slices.Min(offsets)))
	res.maxConcurrent = peak.Load()
	f.stages = append(f.stages, stageResult{name: stageArrivals, wall: time.Since(start), requests: f.rec.requests(stageArrivals),
		perDev: distOf(res.took), pool: poolStats(f.pool).since(before)})
	var failed []string
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", f.devices[i].username, err))
		}
	}
	if len(failed) > 0 {
		f.tb.Fatalf("%s: %d of %d devices failed; first: %s", stageArrivals, len(failed), len(f.devices), failed[0])
	}
	return res
}

// kindDists are the measured window's latencies by request kind.
func (f *fleet) kindDists(stage string) map[string]dist {
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	out := map[string]dist{}
	var nonUpload []time.Duration
	for k, l := range f.rec.lat {
		if k.stage != stage {
			continue
		}
		out[k.kind] = distOf(l)
		if !strings.HasPrefix(k.kind, "upload-") {
			nonUpload = append(nonUpload, l...)
		}
	}
	out[kindNonUpload] = distOf(nonUpload)
	return out
}

// kindNonUpload is every request kind but the uploads': the goal's figure.
const kindNonUpload = "non-upload (all but upload-*)"

// openLoopReport writes the measured window's figures as markdown.
func (f *fleet) openLoopReport(res openLoopResult, smp *sampler, header string) string {
	var b strings.Builder
	b.WriteString(header)
	kd := f.kindDists(stageArrivals)
	var st stageResult
	for _, s := range f.stages {
		if s.name == stageArrivals {
			st = s
		}
	}
	lag := distOf(res.lag)
	fmt.Fprintf(&b, "\n%d evening syncs arriving %s over %s: %d requests in %s (first arrival to last sync done), at most %d devices syncing at once; start later than planned: p99 %s, max %s. Pool waits: %d (%s in all).\n",
		len(f.devices), res.arrivals, res.window, st.requests, fmtDur(res.wall), res.maxConcurrent, fmtDur(lag.P99), fmtDur(lag.Max), st.pool.Waits, fmtDur(st.pool.Wait))
	b.WriteString("\n| request | n | p50 | p90 | p99 | max | KiB up | KiB down |\n|---|---|---|---|---|---|---|---|\n")
	f.rec.mu.Lock()
	for _, kind := range kindOrder {
		k := key{stageArrivals, kind}
		d, ok := kd[kind]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %.0f | %.0f |\n", kind, d.N, fmtDur(d.P50), fmtDur(d.P90), fmtDur(d.P99), fmtDur(d.Max),
			float64(f.rec.up[k])/1024, float64(f.rec.down[k])/1024)
	}
	f.rec.mu.Unlock()
	d := kd[kindNonUpload]
	fmt.Fprintf(&b, "| **%s** | %d | **%s** | %s | **%s** | %s | | |\n", kindNonUpload, d.N, fmtDur(d.P50), fmtDur(d.P90), fmtDur(d.P99), fmtDur(d.Max))
	sd := distOf(res.took)
	fmt.Fprintf(&b, "| *one device's evening sync, from its arrival* | %d | %s | %s | %s | %s | | |\n", sd.N, fmtDur(sd.P50), fmtDur(sd.P90), fmtDur(sd.P99), fmtDur(sd.Max))
	s := f.summary()
	b.WriteString("\n")
	f.failureTable(&b)
	fmt.Fprintf(&b, "\nErrors (failed attempts and given-up Syncs, not counting 401s for an access token that expired since enrolment): **%d**. Those 401s: %d (each refreshed and retried).\n",
		s.errors, s.unauthorized)
	if smp != nil {
		b.WriteString("\n")
		smp.table(&b)
	}
	return b.String()
}

// BenchmarkFleetOpenLoop: an evening's arrivals, open loop. -fleet.devices
// devices (setup, not timed: enrolment, the morning sync, the field work)
// then start their evening syncs at random times over -fleet.window, each
// when its time comes. The server is a separate process: the built
// spotcheck binary serving the benchmark's fresh database, which this
// process seeds (accounts, a campaign with its packets) through apptest's
// in-process app beforehand and checks afterwards.
//
//	SPOTCHECK_TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	  go test ./internal/fleetbench -run '^$' -bench FleetOpenLoop -benchtime 1x -timeout 60m -fleet.window 2m
func BenchmarkFleetOpenLoop(b *testing.B) {
	opt := options{
		Devices: *flagDevices, Packets: *flagPackets, Items: *flagItems, Photos: *flagPhotos, PhotoKB: *flagPhotoKB,
		EnrolWorkers: *flagEnrol, Timeout: 50*time.Minute + *flagWindow,
	}
	offsets, err := arrivalOffsets(opt.Devices, *flagWindow, *flagArrivals, *flagSeed)
	if err != nil {
		b.Fatal(err)
	}
	raiseFileLimit()
	bin := *flagServer
	if bin == "" {
		bin = buildServer(b)
	}
	for range b.N {
		b.StopTimer()
		ctx, cancel := context.WithTimeout(context.Background(), opt.Timeout)
		setupStart := time.Now()
		dataDir := b.TempDir()
		db, dsn := openDataDB(b, *flagDialect, dataDir)
		h := apptest.New(b, db)
		// The server process runs on the real clock: the harness's moves
		// to it, so the campaign's visit window is today.
		if now := time.Now(); now.After(h.Now()) {
			h.Advance(now.Sub(h.Now()))
		}
		srv := startServer(b, bin, *flagDialect, dsn, dataDir, *flagPool)
		opt.URL = srv.url
		f := newFleet(ctx, b, h, opt)
		f.pool = srv
		f.prepareEvening(ctx)
		setup := time.Since(setupStart)
		pgDSN := ""
		if *flagDialect == store.Postgres {
			pgDSN = dsn
		}
		// Each sample scrapes the server's /metrics: at the in-process
		// benchmark's 50 ms that took a fifth of the server's CPU.
		smp := startSampler(b, f, pgDSN, max(*flagSample, *flagOpenSample))
		loadBefore, cpuBefore, srvBefore := loadAvg(), readCPU(), srv.cpu()
		var pgBefore map[int]time.Duration
		if pgDSN != "" {
			pgBefore = backendCPU(b, pgDSN)
		}

		stopPerf := startPerf(b, *flagPerf, srv.Cmd.Process.Pid)
		b.StartTimer()
		res := f.openLoop(ctx, offsets, *flagWindow, *flagArrivals)
		b.StopTimer()

		stopPerf()
		smp.finish()
		loadAfter, cpu, srvCPU := loadAvg(), readCPU().since(cpuBefore, "the devices"), srv.cpu()-srvBefore
		pgCPU := "not measured (SQLite)"
		if pgDSN != "" {
			pgCPU = fmt.Sprintf("%.1f core-seconds", backendCPUSince(pgBefore, backendCPU(b, pgDSN)).Seconds())
		}
		lost, dup := f.verify(ctx)
		cancel()

		kd := f.kindDists(stageArrivals)
		b.ReportMetric(ms(kd[kindNonUpload].P50), "nonupload-p50-ms")
		b.ReportMetric(ms(kd[kindNonUpload].P99), "nonupload-p99-ms")
		b.ReportMetric(ms(kd[kindPush].P99), "push-p99-ms")
		b.ReportMetric(ms(kd[kindPull].P99), "pull-p99-ms")
		b.ReportMetric(float64(f.summary().errors), "errors")

		var hdr strings.Builder
		fmt.Fprintf(&hdr, "\nOpen loop: %d devices, %s server database (spotcheck serve, pid %d, a separate process; pool of %d connections); %d packets issued, each device seals %d (%d items per department, %d photo(s) of %d KiB per packet, a signature and a stamp). Arrivals %s over %s, seed %d.\n",
			opt.Devices, *flagDialect, srv.Cmd.Process.Pid, srv.Stats().MaxOpenConnections, f.packets, opt.Packets, opt.Items, opt.Photos, opt.PhotoKB, *flagArrivals, *flagWindow, *flagSeed)
		fmt.Fprintf(&hdr, "Machine: %d CPUs, %s, %s. Load average before the window: %s; after: %s.\n",
			runtime.NumCPU(), runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH, loadBefore, loadAfter)
		fmt.Fprintf(&hdr, "CPU during the window: %s. Of the latter, the server process %.1f core-seconds and the PostgreSQL backends of its database %s.\n", cpu, srvCPU.Seconds(), pgCPU)
		fmt.Fprintf(&hdr, "Setup (not timed: seeding, enrolment, morning sync, field work): %s. Verified: %d lost, %d duplicated.\n", fmtDur(setup), lost, dup)
		fmt.Fprint(os.Stdout, f.openLoopReport(res, smp, hdr.String()))
	}
}

// TestFleetOpenLoopSmall runs the open-loop code with 10 devices arriving
// over two seconds on both dialects, against the harness's in-process server
// (the benchmark's separate server process needs a build, too slow here):
// nothing lost or applied twice, no request failed, every request kind of an
// evening sync recorded and every device's sync measured.
func TestFleetOpenLoopSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("a fleet of 10 devices; skipped with -short")
	}
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		f := newFleet(ctx, t, h, options{Devices: 10, Packets: 1, Items: 2, Photos: 1, PhotoKB: 8, Timeout: 2 * time.Minute})
		f.prepareEvening(ctx)
		offsets, err := arrivalOffsets(10, 2*time.Second, "poisson", 7)
		if err != nil {
			t.Fatal(err)
		}
		res := f.openLoop(ctx, offsets, 2*time.Second, "poisson")
		f.verify(ctx) // fails the test on anything lost or duplicated
		kd := f.kindDists(stageArrivals)
		var missing []string
		// The 8 KB photos go in batch uploads (small files always do), so
		// neither a tus creation nor a PATCH is expected.
		for _, k := range []string{kindMissing, kindUploadBatch, kindPush, kindPull} {
			if kd[k].N == 0 {
				missing = append(missing, k)
			}
		}
		s := f.summary()
		if len(missing) > 0 || s.errors != 0 || s.unauthorized != 0 || distOf(res.took).N != 10 || slices.Contains(res.took, 0) {
			t.Errorf("kinds not recorded %v, errors %d, 401s %d, sync durations %v:\n%s", missing, s.errors, s.unauthorized, res.took, f.openLoopReport(res, nil, ""))
		} else if testing.Verbose() {
			t.Log(f.openLoopReport(res, nil, ""))
		}
	})
}

func TestArrivalOffsets(t *testing.T) {
	for _, kind := range []string{"uniform", "poisson"} {
		a, err := arrivalOffsets(500, 10*time.Minute, kind, 1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := arrivalOffsets(500, 10*time.Minute, kind, 1)
		if !slices.Equal(a, b) {
			t.Errorf("%s: the same seed drew different times", kind)
		}
		s := slices.Sorted(slices.Values(a))
		// Loose bounds: these fail only if the draw is broken, e.g. every
		// device at once or the window's scale wrong.
		if s[0] < 0 || s[249] < 3*time.Minute || s[249] > 7*time.Minute || s[499] > 15*time.Minute {
			t.Errorf("%s: first %v, median %v, last %v over a 10 min window", kind, s[0], s[249], s[499])
		}
	}
	if _, err := arrivalOffsets(5, time.Second, "burst", 1); err == nil {
		t.Error("an unknown kind of arrivals was accepted")
	}
}

// openDataDB opens a fresh, migrated database the server process can be
// pointed at: on SQLite spotcheck.db in dataDir, as `spotcheck serve
// --data-dir` expects; on PostgreSQL a new database.
func openDataDB(tb testing.TB, dialect, dataDir string) (*store.DB, string) {
	tb.Helper()
	if dialect != store.SQLite {
		return openDB(tb, dialect)
	}
	dsn := filepath.Join(dataDir, "spotcheck.db")
	db, err := store.Open(store.SQLite, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background(), slog.New(slog.DiscardHandler)); err != nil {
		tb.Fatal(err)
	}
	return db, dsn
}

// buildServer builds the spotcheck binary into a temporary directory.
func buildServer(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "spotcheck")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/spotcheck/spotcheck/server/cmd/spotcheck").CombinedOutput()
	if err != nil {
		tb.Fatalf("build the server: %v\n%s", err, out)
	}
	return bin
}

// serverProc is a `spotcheck serve` process; its pool is read from its
// /metrics on a separate loopback address.
type serverProc struct {
	*serverproc.Proc
	url        string
	metricsURL string
}

// startServer runs `bin serve` on the database (dataDir holds its keys and
// uploads, and the SQLite file) on a loopback port, stopped at cleanup.
// pool > 0 sets --db-max-conns.
func startServer(tb testing.TB, bin, dialect, dsn, dataDir string, pool int) *serverProc {
	tb.Helper()
	metricsAddr := freeAddr(tb)
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--metrics-addr", metricsAddr}
	if pool > 0 {
		args = append(args, "--db-max-conns", strconv.Itoa(pool))
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "SPOTCHECK_LOG_LEVEL=error", "SPOTCHECK_DATABASE_URL=", "SPOTCHECK_DEMO=")
	if dialect == store.Postgres {
		cmd.Env = append(cmd.Env, "SPOTCHECK_DATABASE_URL="+dsn)
	}
	cmd.Stderr = os.Stderr
	p, err := serverproc.Start(context.Background(), cmd, 90*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Stop)
	return &serverProc{Proc: p, url: p.URL, metricsURL: "http://" + metricsAddr + "/metrics"}
}

// cpu is the server process's CPU time so far.
func (s *serverProc) cpu() time.Duration { return procCPU(s.Cmd.Process.Pid) }

// procCPU is a process's CPU time so far (user and system), from
// /proc/PID/stat in clock ticks of 1/100 s; 0 where that is not readable.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name in parentheses; utime and stime are
	// the 14th and 15th of the line.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// backendCPU is the CPU time so far of each PostgreSQL backend serving the
// database of dsn (PostgreSQL on this machine), by pid.
func backendCPU(tb testing.TB, dsn string) map[int]time.Duration {
	tb.Helper()
	pg, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer pg.Close()
	rows, err := pg.Query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	out := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			tb.Fatal(err)
		}
		out[pid] = procCPU(pid)
	}
	return out
}

// backendCPUSince is the CPU the backends used between the two readings; a
// backend that ended in between is missed (the pools keep theirs open).
func backendCPUSince(before, after map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, t := range after {
		d += t - before[pid]
	}
	return d
}

// Stats reads the server's pool from its /metrics (the gauges and counters
// of server/api/metrics_db.go); zeros when they cannot be read.
func (s *serverProc) Stats() sql.DBStats {
	var st sql.DBStats
	req, err := http.NewRequest(http.MethodGet, s.metricsURL, nil)
	if err != nil {
		return st
	}
	req.Header.Set("Accept-Encoding", "identity") // gzip would cost the server more than the rest of the scrape
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok || !strings.HasPrefix(name, "spotcheck_db_") {
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			continue
		}
		switch name {
		case "spotcheck_db_connections_max":
			st.MaxOpenConnections = int(x)
		case "spotcheck_db_connections_in_use":
			st.InUse = int(x)
		case "spotcheck_db_connections_idle":
			st.Idle = int(x)
		case "spotcheck_db_connection_waits_total":
			st.WaitCount = int64(x)
		case "spotcheck_db_connection_wait_seconds_total":
			st.WaitDuration = time.Duration(x * float64(time.Second))
		}
	}
	return st
}

// startPerf records pid with perf (call graphs, 499 samples a second) into
// file until the returned function is called; nothing when file is "".
func startPerf(tb testing.TB, file string, pid int) func() {
	tb.Helper()
	if file == "" {
		return func() {}
	}
	cmd := exec.Command("perf", "record", "-F", "499", "-g", "-o", file, "-p", strconv.Itoa(pid))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("perf: %v", err)
	}
	return func() {
		cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			tb.Logf("perf: %v", err)
		}
		tb.Logf("the server's profile of the window is in %s (perf report -i %s)", file, file)
	}
}

// freeAddr is a loopback address with a port free at the moment.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
