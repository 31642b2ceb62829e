package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/auth"
	"github.com/spotcheck/spotcheck/server/calendar"
	"github.com/spotcheck/spotcheck/server/draw"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

var (
	drawBenchN  = flag.Int("draw.n", 1_000_000, "population size for BenchmarkDraw")
	drawBenchDB = flag.String("draw.db", "", "BenchmarkDraw: load the population into this PostgreSQL database, keep it and reuse it on later runs")
)

// BenchmarkDraw times CampaignService.Draw at 15% of a synthetic population
// on PostgreSQL, end to end: read the frozen snapshot, rank it, persist the
// selection. Loading the population (COPY) is setup and not timed. It reports
// the wall time, the peak HeapInuse and Sys sampled every 10 ms and, on
// Linux, the peak resident set size of the process during the draw.
//
//	SPOTCHECK_TEST_POSTGRES_DSN=… go test ./server/store -run '^$' -bench Draw -benchtime 1x -draw.n 1000000
func BenchmarkDraw(b *testing.B) {
	if os.Getenv(storetest.PostgresDSNEnv) == "" {
		b.Skipf("set %s to run the draw benchmark on PostgreSQL", storetest.PostgresDSNEnv)
	}
	ctx := context.Background()
	var dsn string
	if *drawBenchDB != "" {
		dsn = keptBenchDSN(b, ctx, *drawBenchDB)
	} else {
		dsn = storetest.NewDSN(b, store.Postgres)
	}
	db, err := store.Open(store.Postgres, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	db.Now = func() time.Time { return storetest.Now }
	if err := db.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		b.Fatal(err)
	}

	n := *drawBenchN
	campaigns := store.NewCampaignService(db, calendar.China())
	root, c, digest := keptBenchCampaign(b, ctx, db, n)
	if c != nil {
		b.Logf("reusing the %d population rows in database %s", n, *drawBenchDB)
	} else {
		root, c, digest = newBenchCampaign(b, ctx, db, dsn, campaigns, n)
	}
	// The commit packs the population into blocks for the draw; the loader
	// bypasses the commit (and a database kept from before blocks has
	// none), so they are packed here, untimed, by the same code.
	start := time.Now()
	if err := store.EnsurePopulationBlocks(ctx, db, c.ID); err != nil {
		b.Fatal(err)
	}
	b.Logf("population blocks ready in %s", time.Since(start).Round(time.Millisecond))
	resetBenchDraw(b, ctx, dsn, c.ID)

	var peakHeap, peakSys atomic.Uint64
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > peakHeap.Load() {
			peakHeap.Store(ms.HeapInuse)
		}
		if ms.Sys > peakSys.Load() {
			peakSys.Store(ms.Sys)
		}
	}
	runtime.GC()
	// Reset the kernel's peak-RSS mark, so that VmHWM afterwards is the
	// draw's own peak rather than the load's (Linux only; best effort).
	rssReset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()

	// CPU time, besides wall time: on a shared machine the wall time
	// varies with the load, the CPU the draw needs much less so.
	mon, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer mon.Close(ctx)
	var total, goCPU, pgCPU time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 { // undo the previous draw: a campaign draws once
			b.StopTimer()
			resetBenchDraw(b, ctx, dsn, c.ID)
			b.StartTimer()
		}
		pg0, cpu0 := backendCPU(b, ctx, mon), processCPU()
		t0 := time.Now()
		got, err := campaigns.Draw(as(root), c.ID, []string{"42"})
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
		goCPU += processCPU() - cpu0
		for pid, t := range backendCPU(b, ctx, mon) {
			pgCPU += t - pg0[pid]
		}
		if got.ManifestDigest != digest {
			b.Fatalf("digest %s, loaded %s", got.ManifestDigest, digest)
		}
	}
	b.StopTimer()
	sample()
	close(done)
	// The peak RSS is read now: checking the result below loads rows of its
	// own, which are not the draw's memory.
	rssKB, rssOK := vmHWM()

	var check struct {
		Selected int64
		MD5      string
	}
	// The MD5 of every selected row lets runs of different builds be
	// compared: the draw must select the same rows with the same tickets.
	if err := db.WithTx(ctx, func(tx *store.Tx) error {
		return tx.Raw(`SELECT COUNT(*) AS selected, md5(string_agg(credit_code || ' ' || stratum || ' ' || ticket || ' ' || kind, ',' ORDER BY credit_code)) AS md5
FROM draw_selections WHERE campaign_id = ?`, c.ID).Scan(&check).Error
	}); err != nil {
		b.Fatal(err)
	}
	b.Logf("selection MD5 %s", check.MD5)
	selected := check.Selected
	if want := draw.MustRatio("0.15").Count(n); selected != int64(want) {
		b.Fatalf("%d selected, want %d", selected, want)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/draw")
	b.ReportMetric(goCPU.Seconds()/float64(b.N), "s-cpu-go/draw")
	b.ReportMetric(pgCPU.Seconds()/float64(b.N), "s-cpu-pg/draw")
	b.ReportMetric(float64(peakHeap.Load())/(1<<20), "MiB-heap-peak")
	b.ReportMetric(float64(peakSys.Load())/(1<<20), "MiB-sys-peak")
	if rssReset && rssOK {
		b.ReportMetric(float64(rssKB)/1024, "MiB-rss-peak")
	}
}

// newBenchCampaign makes a department, an admin and a campaign committed
// with n population rows, and returns the admin, the campaign and its digest.
func newBenchCampaign(b *testing.B, ctx context.Context, db *store.DB, dsn string, campaigns *store.CampaignService, n int) (*server.User, *server.Campaign, string) {
	// A department, an admin and a draft.
	system := as(&server.User{Username: "system", Role: server.RolePlatformAdmin})
	dept := &server.Department{Code: "culture", Name: "文化"}
	if err := store.NewDepartmentService(db).CreateDepartment(system, dept); err != nil {
		b.Fatal(err)
	}
	root := &server.User{Username: "root", Role: server.RolePlatformAdmin}
	if err := store.NewUserService(db, &auth.Argon2id{}).CreateUserUnchecked(ctx, root, "bench-password", false); err != nil {
		b.Fatal(err)
	}
	c := &server.Campaign{
		Name: "bench", LeadDepartmentID: dept.ID, WindowStart: server.Date{Year: 2026, Month: 12, Day: 1},
		WindowEnd: server.Date{Year: 2026, Month: 12, Day: 6}, Category: "bench",
		Ratio: server.RatioTable{Default: "0.15"}, RandomnessSources: []string{"bench source"},
		// Known an hour before the store clock: the benchmark writes the
		// committed state itself and draws at once.
		SourcesAvailableAt: func() *time.Time { t := storetest.Now.Add(-time.Hour); return &t }(),
	}
	if err := campaigns.CreateCampaign(as(root), c); err != nil {
		b.Fatal(err)
	}

	start := time.Now()
	digest := loadBenchPopulation(b, ctx, dsn, c, dept.Code, n)
	b.Logf("loaded %d enterprises and population rows in %s", n, time.Since(start).Round(time.Millisecond))
	return root, c, digest
}

// keptBenchDSN returns the DSN of the named database, created if missing
// and never dropped.
func keptBenchDSN(b *testing.B, ctx context.Context, name string) string {
	base := os.Getenv(storetest.PostgresDSNEnv)
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		b.Fatal(err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			b.Fatal(err)
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// keptBenchCampaign finds the campaign an earlier run loaded into the
// -draw.db database; c is nil if there is none.
func keptBenchCampaign(b *testing.B, ctx context.Context, db *store.DB, n int) (root *server.User, c *server.Campaign, digest string) {
	if *drawBenchDB == "" {
		return nil, nil, ""
	}
	var row struct {
		ID             int64
		ManifestDigest *string
		PopulationSize *int
		RootID         int64
	}
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		return tx.Raw(`SELECT c.id, c.manifest_digest, c.population_size, (SELECT id FROM users WHERE username = 'root') AS root_id
FROM campaigns c WHERE c.name = 'bench' AND c.manifest_digest IS NOT NULL`).Scan(&row).Error
	})
	if err != nil {
		b.Fatal(err)
	}
	if row.ID == 0 {
		return nil, nil, ""
	}
	if row.PopulationSize == nil || *row.PopulationSize != n {
		b.Fatalf("database %s holds a population of another size; use another -draw.db", *drawBenchDB)
	}
	root = &server.User{ID: row.RootID, Username: "root", Role: server.RolePlatformAdmin}
	return root, &server.Campaign{ID: row.ID}, *row.ManifestDigest
}

// loadBenchPopulation COPYs n enterprises and the campaign's population
// (one stratum), then marks the campaign committed with a manifest head and
// the digest of the whole manifest, computed as the rows are generated (the
// codes come out in byte order). It returns the digest.
func loadBenchPopulation(b *testing.B, ctx context.Context, dsn string, c *server.Campaign, deptCode string, n int) string {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	code := func(i int) string {
		body := fmt.Sprintf("%08d", i)
		first17 := "91" + fmt.Sprintf("%06d", 350203+i/100_000_000) + body + string(server.OrgCodeCheckChar(body))
		return first17 + string(server.CreditCodeCheckChar(first17))
	}
	now := time.Now().UTC()
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"enterprises"},
		[]string{"id", "credit_code", "name", "category", "district", "status", "risk_class", "created_at", "updated_at"},
		pgx.CopyFromFunc(func() func() ([]any, error) {
			i := 0
			return func() ([]any, error) {
				if i == n {
					return nil, nil
				}
				i++
				return []any{int64(i), code(i), "网吧", "bench", "思明区", "active", "", now, now}, nil
			}
		}()))
	if err != nil {
		b.Fatal(err)
	}

	m := &draw.Manifest{
		CampaignID: c.ID, Name: c.Name, WindowStart: c.WindowStart.String(), WindowEnd: c.WindowEnd.String(),
		Lead: deptCode, Departments: []draw.ManifestDepartment{{Code: deptCode}}, Category: c.Category,
		Status: "active", Ratios: map[string]draw.Ratio{"": draw.MustRatio("0.15")},
		InspectorsPerDepartment: 2, TargetsPerTeam: 1, Randomness: c.RandomnessSources,
	}
	var head strings.Builder
	if err := m.Encode(&head); err != nil {
		b.Fatal(err)
	}
	h := sha256.New()
	h.Write([]byte(head.String()))
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"campaign_population"},
		[]string{"campaign_id", "credit_code", "stratum", "enterprise_id"},
		pgx.CopyFromFunc(func() func() ([]any, error) {
			i := 0
			return func() ([]any, error) {
				if i == n {
					return nil, nil
				}
				i++
				cc := code(i)
				fmt.Fprintf(h, "population\t%s\t\n", cc)
				return []any{c.ID, cc, "", int64(i)}, nil
			}
		}()))
	if err != nil {
		b.Fatal(err)
	}
	digest := hex.EncodeToString(h.Sum(nil))
	_, err = conn.Exec(ctx, `UPDATE campaigns SET status = 'committed', committed_at = now(), committed_by = created_by,
manifest_head = $2, manifest_digest = $3, population_size = $4 WHERE id = $1`, c.ID, head.String(), digest, n)
	if err != nil {
		b.Fatal(err)
	}
	// A live database keeps its statistics current; a fresh bulk load has none.
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE campaign_population"); err != nil {
		b.Fatal(err)
	}
	// Flush the load now, so the timed draw does not compete with the
	// checkpointer writing it out.
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		b.Fatal(err)
	}
	return digest
}

// processCPU returns the user and system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backendCPU returns the user and system CPU time so far of each other
// PostgreSQL backend connected to mon's database, read from /proc (the
// server runs on this machine; Linux only, empty elsewhere).
func backendCPU(b *testing.B, ctx context.Context, mon *pgx.Conn) map[int]time.Duration {
	rows, err := mon.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	out := map[int]time.Duration{}
	for _, pid := range pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// utime and stime are fields 14 and 15, in clock ticks of 10 ms,
		// counted after the command name in parentheses.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 13 {
			continue
		}
		var utime, stime int64
		fmt.Sscan(f[11], &utime)
		fmt.Sscan(f[12], &stime)
		out[int(pid)] = time.Duration(utime+stime) * 10 * time.Millisecond
	}
	return out
}

// vmHWM returns the process's peak resident set size in KiB.
func vmHWM() (int64, bool) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err == nil {
				return kb, true
			}
		}
	}
	return 0, false
}

func resetBenchDraw(b *testing.B, ctx context.Context, dsn string, id int64) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DELETE FROM draw_selections WHERE campaign_id = $1", id); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "UPDATE campaigns SET status = 'committed', seed = NULL, drawn_at = NULL WHERE id = $1", id); err != nil {
		b.Fatal(err)
	}
	// Every draw starts from a vacuumed table with the earlier writes
	// flushed, as the first one does.
	for _, q := range []string{"VACUUM draw_selections", "CHECKPOINT"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}
