package importer_test

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/importer"
	"github.com/spotcheck/spotcheck/server/importer/importtest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

var benchRows = flag.Int("import.rows", 100000, "rows in the BenchmarkImportEnterprises file")

// BenchmarkImportEnterprises imports a generated enterprise CSV with 1% bad
// rows into a fresh database, then imports it again, on each dialect the
// tests reach. It reports both wall times and the peak heap in use, sampled
// every 10ms. See docs/benchmarks.md.
//
//	go test ./server/importer -run '^$' -bench ImportEnterprises -benchtime 1x
func BenchmarkImportEnterprises(b *testing.B) {
	// The file is on disk, as in real use, so it is not counted as heap.
	path := filepath.Join(b.TempDir(), "enterprises.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	st, err := importtest.WriteEnterprisesCSV(f, *benchRows, 100)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	importFile := func(svc *importer.Service) (*server.ImportReport, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return svc.ImportEnterprises(as(root), f, server.ImportOptions{Format: server.ImportCSV})
	}
	for _, dialect := range storetest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			var first, second time.Duration
			var peak uint64
			for b.Loop() {
				b.StopTimer()
				db := storetest.MustOpenDB(b, dialect)
				db.Now = time.Now
				svc := importer.New(store.NewImportStore(db))
				runtime.GC()
				b.StartTimer()

				stop := sampleHeap(&peak)
				t0 := time.Now()
				rep, err := importFile(svc)
				first += time.Since(t0)
				if err != nil || rep.Inserted != st.Good || rep.Rejected != st.Bad {
					b.Fatalf("first import: %+v %v", rep, err)
				}
				t0 = time.Now()
				rep, err = importFile(svc)
				second += time.Since(t0)
				stop()
				if err != nil || rep.Unchanged != st.Good || rep.Inserted+rep.Updated != 0 || rep.Rejected != st.Bad {
					b.Fatalf("second import: %+v %v", rep, err)
				}
			}
			b.ReportMetric(first.Seconds()/float64(b.N), "first-s")
			b.ReportMetric(second.Seconds()/float64(b.N), "second-s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// sampleHeap records the largest HeapInuse seen into peak until stopped.
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&m)
			*peak = max(*peak, m.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
