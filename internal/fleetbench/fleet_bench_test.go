package fleetbench

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

var (
	flagDevices = flag.Int("fleet.devices", 500, "BenchmarkFleet: devices (inspectors), even, at least 4")
	flagDialect = flag.String("fleet.dialect", store.Postgres, "BenchmarkFleet: the server's database, postgres or sqlite")
	flagPackets = flag.Int("fleet.packets", 2, "BenchmarkFleet: packets each device works on and seals")
	flagItems   = flag.Int("fleet.items", 3, "BenchmarkFleet: check items per department")
	flagPhotos  = flag.Int("fleet.photos", 1, "BenchmarkFleet: photos per packet")
	flagPhotoKB = flag.Int("fleet.photo-kb", 40, "BenchmarkFleet: size of a photo in KiB")
	flagDay     = flag.Duration("fleet.day", 9*time.Hour, "BenchmarkFleet: server clock moved between the morning and the evening sync (over 10m expires every access token)")
	flagPool    = flag.Int("fleet.pool", 0, "BenchmarkFleet: resize the server's connection pool to this many connections (0 keeps the server's own setting)")
	flagEnrol   = flag.Int("fleet.enrol-workers", 4, "BenchmarkFleet: devices enrolled at once during setup")
	flagSample  = flag.Duration("fleet.sample", 50*time.Millisecond, "BenchmarkFleet: how often the pool and pg_stat_activity are sampled")
	flagProfile = flag.String("fleet.profile", "", "BenchmarkFleet: write CPU, mutex and block profiles of the measured phase alone into this directory (do not combine with -cpuprofile)")
)

// BenchmarkFleet: -fleet.devices devices against one server (see the package
// doc and docs/benchmarks.md). The timer covers the measured phase only:
// morning sync, field work, evening sync, second sync, all devices at once.
//
//	SPOTCHECK_TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	  go test ./internal/fleetbench -run '^$' -bench Fleet -benchtime 1x -timeout 60m -fleet.devices 500
func BenchmarkFleet(b *testing.B) {
	opt := options{
		Devices: *flagDevices, Packets: *flagPackets, Items: *flagItems, Photos: *flagPhotos, PhotoKB: *flagPhotoKB,
		Day: *flagDay, EnrolWorkers: *flagEnrol, Timeout: 50 * time.Minute,
	}
	for range b.N {
		b.StopTimer()
		ctx, cancel := context.WithTimeout(context.Background(), opt.Timeout)
		setupStart := time.Now()
		db, dsn := openDB(b, *flagDialect)
		h := apptest.New(b, db)
		f := newFleet(ctx, b, h, opt)
		if *flagPool > 0 {
			h.App.DB.SetMaxConns(*flagPool)
		}
		setup := time.Since(setupStart)
		pgDSN := ""
		if *flagDialect == store.Postgres {
			pgDSN = dsn
		}
		smp := startSampler(b, f, pgDSN, *flagSample)
		loadBefore, cpuBefore := loadAvg(), readCPU()

		stopProfiles := startProfiles(b, *flagProfile)
		b.StartTimer()
		f.run(ctx)
		b.StopTimer()
		stopProfiles()

		smp.finish()
		loadAfter, cpu := loadAvg(), readCPU().since(cpuBefore, "server and devices")
		lost, dup := f.verify(ctx)
		cancel()

		s := f.summary()
		b.ReportMetric(ms(s.push.P50), "push-p50-ms")
		b.ReportMetric(ms(s.push.P99), "push-p99-ms")
		b.ReportMetric(ms(s.pull.P50), "pull-p50-ms")
		b.ReportMetric(ms(s.pull.P99), "pull-p99-ms")
		b.ReportMetric(float64(s.errors), "errors")
		b.ReportMetric(float64(s.requests)/s.netWall.Seconds(), "req/s")
		b.ReportMetric(f.phase.Seconds(), "phase-s")

		var hdr strings.Builder
		fmt.Fprintf(&hdr, "\n%d devices, %s server database; %d packets issued, each device seals %d (%d items per department, %d photo(s) of %d KiB per packet, a signature and a stamp).\n",
			opt.Devices, *flagDialect, f.packets, opt.Packets, opt.Items, opt.Photos, opt.PhotoKB)
		fmt.Fprintf(&hdr, "Machine: %d CPUs (GOMAXPROCS %d), %s, %s; server and devices in this one process. Load average before the phase: %s; after: %s.\n",
			runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH, loadBefore, loadAfter)
		fmt.Fprintf(&hdr, "CPU during the phase: %s.\n", cpu)
		fmt.Fprintf(&hdr, "Server pool: at most %d open connections. Setup (not timed): %s. Verified: %d lost, %d duplicated.\n", f.pool.Stats().MaxOpenConnections, fmtDur(setup), lost, dup)
		// Printed rather than logged so the tables can be pasted as they are.
		fmt.Fprint(os.Stdout, f.report(smp, hdr.String()))
	}
}

// openDB opens a fresh, migrated database and returns it with its DSN.
func openDB(tb testing.TB, dialect string) (*store.DB, string) {
	tb.Helper()
	dsn := storetest.NewDSN(tb, dialect)
	db, err := store.Open(dialect, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() }) // before NewDSN's drop of the database
	if err := db.Migrate(context.Background(), slog.New(slog.DiscardHandler)); err != nil {
		tb.Fatal(err)
	}
	return db, dsn
}

// startProfiles profiles the measured phase alone: CPU, and mutex and block
// events from its start (setup hashes a password per login and would
// otherwise fill the CPU profile). It returns the function that writes them.
func startProfiles(tb testing.TB, dir string) func() {
	tb.Helper()
	if dir == "" {
		return func() {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	cpu, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		tb.Fatal(err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		tb.Fatalf("CPU profile (is -cpuprofile set too?): %v", err)
	}
	runtime.SetMutexProfileFraction(5)
	runtime.SetBlockProfileRate(int(100 * time.Microsecond))
	return func() {
		pprof.StopCPUProfile()
		cpu.Close()
		for _, name := range []string{"mutex", "block"} {
			f, err := os.Create(filepath.Join(dir, name+".pprof"))
			if err != nil {
				tb.Fatal(err)
			}
			if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
				tb.Fatal(err)
			}
			f.Close()
		}
		runtime.SetMutexProfileFraction(0)
		runtime.SetBlockProfileRate(0)
		tb.Logf("profiles of the measured phase in %s", dir)
	}
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
