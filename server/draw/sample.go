package draw

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Sampler selects, per stratum, the k lowest (ticket, id) of a stream of
// items, keeping at most about 1.25 × k items per stratum in memory. The
// stratum sizes N must be known up front (from the committed population
// snapshot), since k = ceil(r × N).
//
// Each stratum keeps a buffer of candidates with room for its limit (k plus
// the spare) and a quarter more. Once the buffer has been full, the highest
// kept candidate is a cut-off: an item at or above it can never be selected
// and is dropped after one comparison. When the buffer fills up, it is
// partitioned so that only the limit lowest remain, which lowers the
// cut-off. The kept items hold no pointers, so the garbage collector never
// scans them.
type Sampler struct {
	seed   Hash
	strata []*stratum
	index  map[string]int
	spare  int
}

// stratum is one stratum's candidates and counts.
type stratum struct {
	name     string
	k, limit int
	n, seen  int
	prefix   []byte // seed ‖ UTF-8(name) ‖ 0x00, for tickets

	buf    []entry // candidates; cap(buf) is fixed when the sampler is made
	cut    entry   // valid once full: nothing at or above it is kept
	full   bool
	long   []string // ids longer than inlineID, indexed from entry.id
	free   []uint32 // unused indexes of long
	sorted bool
}

// inlineID is the longest id an entry holds in place; a credit code is 18.
const inlineID = 23

// longID marks an entry whose id is in stratum.long.
const longID = 0xff

// entry is a kept candidate: its ticket and its id.
type entry struct {
	t  Hash
	id [inlineID]byte
	n  uint8 // length of id, or longID
}

// NewSampler returns a Sampler for strata of known sizes with their ratios.
// spare is how many items beyond k to keep per stratum, so that replacements
// (the next tickets) can be read from the same pass.
func NewSampler(seed Hash, sizes map[string]int, ratios map[string]Ratio, spare int) (*Sampler, error) {
	s := &Sampler{seed: seed, index: make(map[string]int, len(sizes)), spare: spare}
	names := make([]string, 0, len(sizes))
	for name := range sizes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		r, ok := ratios[name]
		if !ok {
			return nil, fmt.Errorf("no ratio for stratum %q", name)
		}
		n := sizes[name]
		k := r.Count(n)
		limit := min(k+spare, n)
		size := min(n, limit+max(limit/4, 1024))
		if limit == 0 {
			size = 0
		}
		prefix := make([]byte, 0, len(seed)+len(name)+1+64)
		prefix = append(append(append(prefix, seed[:]...), name...), 0)
		s.index[name] = len(s.strata)
		s.strata = append(s.strata, &stratum{
			name: name, k: k, limit: limit, n: n, prefix: prefix, buf: make([]entry, 0, size),
		})
	}
	return s, nil
}

// Add computes id's ticket in stratum and keeps it if it is among the lowest.
func (s *Sampler) Add(stratum, id string) error {
	i, ok := s.index[stratum]
	if !ok {
		return fmt.Errorf("item %q in unknown stratum %q", id, stratum)
	}
	st := s.strata[i]
	if err := st.count(); err != nil {
		return err
	}
	if st.limit == 0 {
		return nil
	}
	buf := append(st.prefix, id...)
	st.add(sha256.Sum256(buf), buf[len(st.prefix):])
	st.prefix = buf[:len(st.prefix)] // keep any growth for the next id
	return nil
}

// count counts one more item in the stratum, which must not exceed N.
func (st *stratum) count() error {
	st.seen++
	if st.seen > st.n {
		return fmt.Errorf("stratum %q has more than its %d items", st.name, st.n)
	}
	return nil
}

// add keeps the item with ticket t and id if it is below the cut-off.
func (st *stratum) add(t Hash, id []byte) {
	if st.full && st.cmpTicket(&t, id, &st.cut) >= 0 {
		return
	}
	e := entry{t: t}
	if len(id) <= inlineID {
		e.n = uint8(len(id))
		copy(e.id[:], id)
	} else {
		var at uint32
		if k := len(st.free); k > 0 {
			at = st.free[k-1]
			st.free = st.free[:k-1]
			st.long[at] = string(id)
		} else {
			at = uint32(len(st.long))
			st.long = append(st.long, string(id))
		}
		e.n = longID
		binary.LittleEndian.PutUint32(e.id[:4], at)
	}
	st.buf = append(st.buf, e)
	st.sorted = false
	if len(st.buf) == cap(st.buf) && len(st.buf) > st.limit {
		st.shrink()
	}
}

// shrink keeps only the limit lowest candidates and lowers the cut-off to
// the highest of them.
func (st *stratum) shrink() {
	st.selectLowest(st.buf, st.limit)
	for i := st.limit; i < len(st.buf); i++ {
		if st.buf[i].n == longID {
			at := binary.LittleEndian.Uint32(st.buf[i].id[:4])
			st.long[at] = ""
			st.free = append(st.free, at)
		}
	}
	st.buf = st.buf[:st.limit]
	hi := 0
	for i := 1; i < len(st.buf); i++ {
		if st.cmp(&st.buf[hi], &st.buf[i]) < 0 {
			hi = i
		}
	}
	st.cut, st.full = st.buf[hi], true
}

// idOf returns e's id bytes.
func (st *stratum) idOf(e *entry) []byte {
	if e.n == longID {
		return []byte(st.long[binary.LittleEndian.Uint32(e.id[:4])])
	}
	return e.id[:e.n]
}

// idString returns e's id.
func (st *stratum) idString(e *entry) string {
	if e.n == longID {
		return st.long[binary.LittleEndian.Uint32(e.id[:4])]
	}
	return string(e.id[:e.n])
}

// cmp orders entries by (ticket, id).
func (st *stratum) cmp(a, b *entry) int {
	if x, y := binary.BigEndian.Uint64(a.t[:8]), binary.BigEndian.Uint64(b.t[:8]); x != y {
		if x < y {
			return -1
		}
		return 1
	}
	if c := bytes.Compare(a.t[8:], b.t[8:]); c != 0 {
		return c
	}
	return bytes.Compare(st.idOf(a), st.idOf(b))
}

// cmpID orders entries by id.
func (st *stratum) cmpID(a, b *entry) int { return cmpIDs(st, a, st, b) }

// cmpIDs orders a of stratum sa and b of stratum sb by id. Inline ids are
// zero-padded, so they compare as big-endian words, the shorter first when
// the words are equal; this is bytes.Compare's order, without its call.
func cmpIDs(sa *stratum, a *entry, sb *stratum, b *entry) int {
	if a.n == longID || b.n == longID {
		return bytes.Compare(sa.idOf(a), sb.idOf(b))
	}
	for i := 0; i+8 <= inlineID; i += 8 {
		if x, y := binary.BigEndian.Uint64(a.id[i:]), binary.BigEndian.Uint64(b.id[i:]); x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	if c := bytes.Compare(a.id[inlineID/8*8:], b.id[inlineID/8*8:]); c != 0 {
		return c
	}
	return cmp.Compare(a.n, b.n)
}

// cmpTicket compares the item (t, id) with the entry b.
func (st *stratum) cmpTicket(t *Hash, id []byte, b *entry) int {
	if x, y := binary.BigEndian.Uint64(t[:8]), binary.BigEndian.Uint64(b.t[:8]); x != y {
		if x < y {
			return -1
		}
		return 1
	}
	if c := bytes.Compare(t[8:], b.t[8:]); c != 0 {
		return c
	}
	return bytes.Compare(id, st.idOf(b))
}

// selectLowest reorders a so that its k lowest entries come first, in no
// particular order (quickselect with a median-of-three pivot; tickets are
// uniformly random, so it is linear in practice).
func (st *stratum) selectLowest(a []entry, k int) {
	lo, hi := 0, len(a)-1
	for lo < hi {
		if hi-lo < 16 {
			// Insertion sort for the small rest.
			for i := lo + 1; i <= hi; i++ {
				for j := i; j > lo && st.cmp(&a[j], &a[j-1]) < 0; j-- {
					a[j], a[j-1] = a[j-1], a[j]
				}
			}
			return
		}
		mid := lo + (hi-lo)/2
		if st.cmp(&a[mid], &a[lo]) < 0 {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if st.cmp(&a[hi], &a[lo]) < 0 {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if st.cmp(&a[hi], &a[mid]) < 0 {
			a[hi], a[mid] = a[mid], a[hi]
		}
		pivot := a[mid]
		i, j := lo, hi
		for i <= j {
			for st.cmp(&a[i], &pivot) < 0 {
				i++
			}
			for st.cmp(&pivot, &a[j]) < 0 {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		// a[lo..j] ≤ pivot ≤ a[i..hi]; anything between equals the pivot.
		switch {
		case k-1 <= j:
			hi = j
		case k-1 >= i:
			lo = i
		default:
			return
		}
	}
}

// finish sorts the stratum's kept candidates and trims them to its limit.
func (st *stratum) finish() []entry {
	if !st.sorted {
		if len(st.buf) > st.limit {
			st.selectLowest(st.buf, st.limit)
			st.buf = st.buf[:st.limit]
		}
		slices.SortFunc(st.buf, func(a, b entry) int { return st.cmp(&a, &b) })
		st.sorted = true
	}
	return st.buf
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
// The ids of the kept items share one allocation.
func (s *Sampler) Finish() (*Result, error) {
	res := &Result{Reserve: map[string][]Item{}, K: map[string]int{}}
	total, idBytes, strata := 0, 0, 0 // selected items, id bytes, strata with a selection
	for _, st := range s.strata {
		if st.seen != st.n {
			return nil, fmt.Errorf("stratum %q: %d items, manifest says %d", st.name, st.seen, st.n)
		}
		kept := st.finish()
		total += min(st.k, len(kept))
		for i := range kept {
			if kept[i].n != longID {
				idBytes += int(kept[i].n)
			}
		}
		if min(st.k, len(kept)) > 0 {
			strata++
		}
	}
	var ids strings.Builder
	ids.Grow(idBytes)
	for _, st := range s.strata {
		for i := range st.buf {
			if e := &st.buf[i]; e.n != longID {
				ids.Write(e.id[:e.n])
			}
		}
	}
	all, at := ids.String(), 0
	res.Selected = make([]Item, 0, total)
	for _, st := range s.strata {
		k := min(st.k, len(st.buf))
		var reserve []Item
		if len(st.buf) > k {
			reserve = make([]Item, 0, len(st.buf)-k)
		}
		for i := range st.buf {
			e := &st.buf[i]
			it := Item{Stratum: st.name, Ticket: e.t}
			if e.n == longID {
				it.ID = st.idString(e)
			} else {
				it.ID = all[at : at+int(e.n)]
				at += int(e.n)
			}
			if i < k {
				res.Selected = append(res.Selected, it)
			} else {
				reserve = append(reserve, it)
			}
		}
		res.Reserve[st.name] = reserve
		res.K[st.name] = st.k
	}
	if strata > 1 {
		slices.SortFunc(res.Selected, Compare)
	}
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

// ByID is a cursor over the selected items of every stratum in ascending
// id order (then stratum), for writing them in primary key order. Unlike
// Finish it never sorts by ticket: it selects each stratum's k lowest, sorts
// them by id in parts on several goroutines and merges the parts as the
// cursor advances. The ids it returns are only valid until the next call.
type ByID struct {
	runs []idRun
	cur  int // the run whose head was returned last, -1 before the first
	n    int
}

// idRun is a part of a stratum's selection, sorted by id.
type idRun struct {
	st *stratum
	e  []entry
}

// SelectedByID checks every stratum got exactly its N items and returns a
// cursor over the selected items in id order, sorting on workers goroutines.
// It leaves the kept candidates in place, so Finish can still be called.
func (s *Sampler) SelectedByID(workers int) (*ByID, error) {
	workers = max(workers, 1)
	c := &ByID{cur: -1}
	for _, st := range s.strata {
		if st.seen != st.n {
			return nil, fmt.Errorf("stratum %q: %d items, manifest says %d", st.name, st.seen, st.n)
		}
		k := min(st.k, len(st.buf))
		if k > 0 && len(st.buf) > k {
			st.selectLowest(st.buf, k)
			st.sorted = false
		}
		sel := st.buf[:k]
		c.n += k
		// Parts of at least 4096 items: fewer are not worth a goroutine.
		parts := max(min(workers, k/4096), 1)
		for p := range parts {
			c.runs = append(c.runs, idRun{st: st, e: sel[p*k/parts : (p+1)*k/parts]})
		}
	}
	var wg sync.WaitGroup
	for i := range c.runs {
		r := &c.runs[i]
		wg.Go(func() {
			slices.SortFunc(r.e, func(a, b entry) int { return r.st.cmpID(&a, &b) })
		})
	}
	wg.Wait()
	return c, nil
}

// Len is the number of selected items.
func (c *ByID) Len() int { return c.n }

// Next advances to the next item in id order and reports whether there is one.
func (c *ByID) Next() bool {
	if c.cur >= 0 {
		c.runs[c.cur].e = c.runs[c.cur].e[1:]
	}
	c.cur = -1
	for i := range c.runs {
		r := &c.runs[i]
		if len(r.e) == 0 {
			continue
		}
		if c.cur < 0 {
			c.cur = i
			continue
		}
		b := &c.runs[c.cur]
		d := cmpIDs(r.st, &r.e[0], b.st, &b.e[0])
		if d < 0 || d == 0 && r.st.name < b.st.name {
			c.cur = i
		}
	}
	return c.cur >= 0
}

// Item returns the current item's id, stratum and ticket; the id is only
// valid until Next is called again.
func (c *ByID) Item() (id []byte, stratum string, ticket *Hash) {
	r := &c.runs[c.cur]
	return r.st.idOf(&r.e[0]), r.st.name, &r.e[0].t
}
