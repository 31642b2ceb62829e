package draw

import (
	"container/heap"
	"fmt"
	"slices"
)

// Sampler selects, per stratum, the k lowest (ticket, id) of a stream of
// items, keeping only k items per stratum in memory. The stratum sizes N
// must be known up front (from the committed population snapshot), since
// k = ceil(r × N).
type Sampler struct {
	seed   Hash
	strata map[string]*stratumHeap
	seen   map[string]int // items added per stratum, checked against N
	spare  int            // extra items kept per stratum for replacements
}

// NewSampler returns a Sampler for strata of known sizes with their ratios.
// spare is how many items beyond k to keep per stratum, so that replacements
// (the next tickets) can be read from the same pass.
func NewSampler(seed Hash, sizes map[string]int, ratios map[string]Ratio, spare int) (*Sampler, error) {
	s := &Sampler{seed: seed, strata: map[string]*stratumHeap{}, seen: map[string]int{}, spare: spare}
	for stratum, n := range sizes {
		r, ok := ratios[stratum]
		if !ok {
			return nil, fmt.Errorf("no ratio for stratum %q", stratum)
		}
		k := r.Count(n)
		s.strata[stratum] = &stratumHeap{k: k, limit: min(k+spare, n), n: n}
	}
	return s, nil
}

// Add computes id's ticket in stratum and keeps it if it is among the lowest.
func (s *Sampler) Add(stratum, id string) error {
	h, ok := s.strata[stratum]
	if !ok {
		return fmt.Errorf("item %q in unknown stratum %q", id, stratum)
	}
	s.seen[stratum]++
	if s.seen[stratum] > h.n {
		return fmt.Errorf("stratum %q has more than its %d items", stratum, h.n)
	}
	if h.limit == 0 {
		return nil
	}
	it := Item{ID: id, Stratum: stratum, Ticket: Ticket(s.seed, stratum, id)}
	if len(h.items) < h.limit {
		heap.Push(h, it)
	} else if Less(it, h.items[0]) {
		h.items[0] = it
		heap.Fix(h, 0)
	}
	return nil
}

// Result is a finished sample: the selected items of every stratum in
// ascending (ticket, id), and per stratum the next items in order, for
// replacements.
type Result struct {
	Selected []Item
	Reserve  map[string][]Item
	K        map[string]int
}

// Finish checks every stratum got exactly its N items and returns the result.
func (s *Sampler) Finish() (*Result, error) {
	res := &Result{Reserve: map[string][]Item{}, K: map[string]int{}}
	for stratum, h := range s.strata {
		if s.seen[stratum] != h.n {
			return nil, fmt.Errorf("stratum %q: %d items, manifest says %d", stratum, s.seen[stratum], h.n)
		}
		items := slices.Clone(h.items)
		slices.SortFunc(items, Compare)
		k := min(h.k, len(items))
		res.Selected = append(res.Selected, items[:k]...)
		res.Reserve[stratum] = items[k:]
		res.K[stratum] = h.k
	}
	slices.SortFunc(res.Selected, Compare)
	return res, nil
}

// Sample is the whole algorithm on an in-memory population: every item's
// stratum and the ratio per stratum. Duplicated ids within a stratum are an
// error.
func Sample(seed Hash, items []Item, ratio func(stratum string) Ratio) ([]Item, error) {
	sizes := map[string]int{}
	ratios := map[string]Ratio{}
	seen := map[[2]string]bool{}
	for _, it := range items {
		key := [2]string{it.Stratum, it.ID}
		if seen[key] {
			return nil, fmt.Errorf("duplicate id %q in stratum %q", it.ID, it.Stratum)
		}
		seen[key] = true
		sizes[it.Stratum]++
		ratios[it.Stratum] = ratio(it.Stratum)
	}
	s, err := NewSampler(seed, sizes, ratios, 0)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if err := s.Add(it.Stratum, it.ID); err != nil {
			return nil, err
		}
	}
	res, err := s.Finish()
	if err != nil {
		return nil, err
	}
	return res.Selected, nil
}

// stratumHeap is a max-heap by (ticket, id) of at most limit items, so the
// root is the highest item kept and the first to go.
type stratumHeap struct {
	items    []Item
	k, limit int
	n        int
}

func (h *stratumHeap) Len() int           { return len(h.items) }
func (h *stratumHeap) Less(i, j int) bool { return Less(h.items[j], h.items[i]) }
func (h *stratumHeap) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *stratumHeap) Push(x any)         { h.items = append(h.items, x.(Item)) }
func (h *stratumHeap) Pop() any {
	it := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return it
}
