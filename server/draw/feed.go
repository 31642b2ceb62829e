package draw

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"sync"
)

// Feeder adds items to a Sampler from one goroutine, typically a database
// reader, while their tickets are computed and ranked on worker goroutines.
// The result does not depend on the order items arrive or are ranked in.
//
// Add may be called from one goroutine at a time; Close must be called
// before Sampler.Finish, also after an error.
type Feeder struct {
	*feedWorkers
	cur     *batch
	seen    []int  // items added here per stratum, counted into the sampler on Close
	last    []byte // the stratum of the previous Add
	lastIdx int
	closed  bool
}

// feedWorkers rank the batches of a Feeder.
type feedWorkers struct {
	s    *Sampler
	work chan *batch
	free chan *batch
	wg   sync.WaitGroup
	mu   sync.Mutex // held while a batch is ranked or counts are added
}

// batchSize is how many items a batch carries between goroutines.
const batchSize = 4096

// batch is a run of items: their ids back to back, where each ends, their
// strata and, once a worker has been at it, their tickets.
type batch struct {
	ids     []byte
	end     []int
	stratum []int
	t       []Hash
}

// Feed returns a Feeder for s running workers goroutines (at least one).
func (s *Sampler) Feed(workers int) *Feeder {
	n := max(workers, 1)
	w := &feedWorkers{s: s, work: make(chan *batch, n), free: make(chan *batch, 2*n+1)}
	for range cap(w.free) {
		w.free <- newBatch()
	}
	w.wg.Add(n)
	for range n {
		go w.run()
	}
	return &Feeder{feedWorkers: w, cur: <-w.free, seen: make([]int, len(s.strata)), lastIdx: -1}
}

func newBatch() *batch {
	return &batch{
		ids: make([]byte, 0, batchSize*20), end: make([]int, 0, batchSize),
		stratum: make([]int, 0, batchSize), t: make([]Hash, batchSize),
	}
}

// Add counts the item (id, stratum) and queues it for ranking; the bytes
// are copied, so the caller may reuse them.
func (f *Feeder) Add(stratum, id []byte) error {
	if f.lastIdx < 0 || !bytes.Equal(stratum, f.last) {
		i, ok := f.s.index[string(stratum)]
		if !ok {
			return fmt.Errorf("item %q in unknown stratum %q", id, stratum)
		}
		f.last, f.lastIdx = append(f.last[:0], stratum...), i
	}
	st := f.s.strata[f.lastIdx]
	if f.seen[f.lastIdx]++; f.seen[f.lastIdx] > st.n {
		return fmt.Errorf("stratum %q has more than its %d items", st.name, st.n)
	}
	if st.limit == 0 {
		return nil
	}
	b := f.cur
	b.ids = append(b.ids, id...)
	b.end = append(b.end, len(b.ids))
	b.stratum = append(b.stratum, f.lastIdx)
	if len(b.end) == batchSize {
		f.work <- b
		f.cur = <-f.free
	}
	return nil
}

// Close ranks what is queued, stops the workers and adds the counts to the
// sampler's. It is safe to call more than once.
func (f *Feeder) Close() {
	if f.closed {
		return
	}
	f.closed = true
	if len(f.cur.end) > 0 {
		f.work <- f.cur
	}
	f.mu.Lock()
	for i, n := range f.seen {
		f.s.strata[i].seen += n
	}
	f.mu.Unlock()
	close(f.work)
	f.wg.Wait()
}

// run computes the tickets of each batch, then ranks it under the lock.
func (f *feedWorkers) run() {
	defer f.wg.Done()
	var msg []byte
	for b := range f.work {
		start := 0
		for i, end := range b.end {
			prefix := f.s.strata[b.stratum[i]].prefix
			msg = append(append(msg[:0], prefix...), b.ids[start:end]...)
			b.t[i] = sha256.Sum256(msg)
			start = end
		}
		f.mu.Lock()
		start = 0
		for i, end := range b.end {
			f.s.strata[b.stratum[i]].add(b.t[i], b.ids[start:end])
			start = end
		}
		f.mu.Unlock()
		b.ids, b.end, b.stratum = b.ids[:0], b.end[:0], b.stratum[:0]
		f.free <- b
	}
}
