package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/draw"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
)

// stalledWriter is a reader that stops reading: its first Write reports on
// stalled and then waits for release.
type stalledWriter struct {
	buf     bytes.Buffer
	once    sync.Once
	stalled chan<- []byte
	release <-chan struct{}
}

func (w *stalledWriter) Write(p []byte) (int, error) {
	w.once.Do(func() {
		w.stalled <- bytes.Clone(p)
		<-w.release
	})
	return w.buf.Write(p)
}

// TestPublicRecord_SlowReadersHoldNoConnection: readers of the public record
// that stop reading while its selection is written must not hold pooled
// connections, so more of them than the pool has connections leave the
// database usable.
func TestPublicRecord_SlowReadersHoldNoConnection(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		db.SetMaxConns(2) // SQLite keeps its one connection
		f := newDirFixture(t, db)
		dc := mustDrawnCampaign(t, f, f.deptA, []*server.Department{f.deptA, f.deptB}, 1000, "1", 1)
		pub := store.NewPublicRecordService(db)

		const readers = 3
		stalled := make(chan []byte, readers)
		release := make(chan struct{})
		writers := make([]*stalledWriter, readers)
		errs := make(chan error, readers)
		for i := range writers {
			writers[i] = &stalledWriter{stalled: stalled, release: release}
			go func() { errs <- pub.WriteRecord(context.Background(), dc.id, writers[i]) }()
		}
		// A bound for failure only: with a connection held per stalled reader,
		// the last reader and the query below wait for one forever.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		releaseAll := sync.OnceFunc(func() { close(release) })
		defer releaseAll()
		for range readers {
			select {
			case p := <-stalled:
				// The first 64 KiB reach the writer in the middle of the
				// selection: the population is about 45 KB.
				if !bytes.Contains(p, []byte(`"selection":[`)) {
					t.Fatalf("the first write is not in the selection: %.200s…", p)
				}
			case <-ctx.Done():
				t.Fatalf("a reader got no connection while the others stall")
			}
		}
		if _, err := pub.FindPublicCampaigns(ctx); err != nil {
			t.Fatalf("a query while %d readers stall: %v", readers, err)
		}
		releaseAll()
		for range readers {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		for _, w := range writers {
			var rec draw.Record
			if err := json.Unmarshal(w.buf.Bytes(), &rec); err != nil {
				t.Fatal(err)
			}
			if len(rec.Selection) != 1000 {
				t.Fatalf("%d selections, want 1000", len(rec.Selection))
			}
		}
	})
}

// TestPublicRecord_Chunks: the record read in keyset chunks smaller than the
// population and the selection is the same record, in the same order.
func TestPublicRecord_Chunks(t *testing.T) {
	storetest.RunDialects(t, func(t *testing.T, db *store.DB) {
		f := newDirFixture(t, db)
		dc := mustDrawnCampaign(t, f, f.deptA, []*server.Department{f.deptA, f.deptB}, 40, "0.5", 1)
		pub := store.NewPublicRecordService(db)
		var whole, chunked bytes.Buffer
		if err := pub.WriteRecord(context.Background(), dc.id, &whole); err != nil {
			t.Fatal(err)
		}
		restore := store.SetPublicChunk(3)
		defer restore()
		if err := pub.WriteRecord(context.Background(), dc.id, &chunked); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(whole.Bytes(), chunked.Bytes()) {
			t.Fatalf("chunked record differs:\n%s\n%s", whole.Bytes(), chunked.Bytes())
		}
		var rec draw.Record
		if err := json.Unmarshal(chunked.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		if len(rec.Selection) != 20 {
			t.Fatalf("%d selections, want 20", len(rec.Selection))
		}
		for i, it := range rec.Selection {
			if it.Ticket != dc.selection[i].Ticket.String() || it.CreditCode != dc.selection[i].ID {
				t.Fatalf("selection[%d] = %+v, want %s", i, it, dc.selection[i].ID)
			}
		}
	})
}
