package draw_test

import (
	"crypto/sha256"
	"fmt"
	"math/big"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server/draw"
)

// reference re-implements sc-sha256-v1 from docs/draw-spec.md alone, without
// calling the package: byte slices, big.Int tickets, a full sort, and k from
// integer arithmetic on the decimal string.
type refItem struct {
	id, stratum string
	ticket      *big.Int
	hex         string
}

func refSeed(digest [32]byte, values []string) []byte {
	msg := []byte("spotcheck/draw/v1")
	msg = append(msg, 0)
	msg = append(msg, digest[:]...)
	for _, v := range values {
		msg = append(msg, 0)
		msg = append(msg, []byte(v)...)
	}
	s := sha256.Sum256(msg)
	return s[:]
}

// refK computes ceil(r × n) for a decimal string r = "I.F" as
// ceil(IF × n / 10^len(F)).
func refK(ratio string, n int) int {
	intPart, frac, _ := strings.Cut(ratio, ".")
	num, _ := new(big.Int).SetString(intPart+frac, 10)
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil)
	num.Mul(num, big.NewInt(int64(n)))
	num.Add(num, new(big.Int).Sub(den, big.NewInt(1)))
	return int(num.Div(num, den).Int64())
}

func refSample(seed []byte, ids, strata []string, ratio map[string]string) []refItem {
	by := map[string][]refItem{}
	for i, id := range ids {
		msg := append(append([]byte{}, seed...), []byte(strata[i])...)
		msg = append(msg, 0)
		msg = append(msg, []byte(id)...)
		t := sha256.Sum256(msg)
		by[strata[i]] = append(by[strata[i]], refItem{id, strata[i], new(big.Int).SetBytes(t[:]), fmt.Sprintf("%x", t)})
	}
	less := func(a, b refItem) bool {
		if c := a.ticket.Cmp(b.ticket); c != 0 {
			return c < 0
		}
		return a.id < b.id
	}
	var out []refItem
	for s, items := range by {
		sort.Slice(items, func(i, j int) bool { return less(items[i], items[j]) })
		out = append(out, items[:refK(ratio[s], len(items))]...)
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i], out[j]) })
	return out
}

func TestSample_AgreesWithReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ratios := []string{"0", "1", "0.15", "0.5", "0.033", "0.999", "0.1", "0.07"}
	for trial := 0; trial < 200; trial++ {
		var digest [32]byte
		for i := range digest {
			digest[i] = byte(r.IntN(256))
		}
		values := []string{fmt.Sprint(r.IntN(100000)), "双色球 2026137期", ""}[:1+r.IntN(3)]
		nStrata := 1 + r.IntN(4)
		strataNames := []string{"", "A", "B", "文化/C", "match/culture"}[:nStrata]
		ratio := map[string]string{}
		for _, s := range strataNames {
			ratio[s] = ratios[r.IntN(len(ratios))]
		}
		n := r.IntN(300)
		var ids, strata []string
		seen := map[string]bool{}
		for len(ids) < n {
			id := fmt.Sprintf("9135%014d", r.IntN(1e9))
			if seen[id] {
				continue
			}
			seen[id] = true
			ids = append(ids, id)
			strata = append(strata, strataNames[r.IntN(nStrata)])
		}

		want := refSample(refSeed(digest, values), ids, strata, ratio)

		seed := draw.Seed(draw.Hash(digest), values)
		items := make([]draw.Item, n)
		for i := range ids {
			items[i] = draw.Item{ID: ids[i], Stratum: strata[i]}
		}
		got, err := draw.Sample(seed, items, func(s string) draw.Ratio { return draw.MustRatio(ratio[s]) })
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("trial %d: %d selected, reference %d", trial, len(got), len(want))
		}
		for i := range got {
			if got[i].ID != want[i].id || got[i].Stratum != want[i].stratum || got[i].Ticket.String() != want[i].hex {
				t.Fatalf("trial %d, position %d: got %s/%s/%s, reference %s/%s/%s", trial, i,
					got[i].ID, got[i].Stratum, got[i].Ticket, want[i].id, want[i].stratum, want[i].hex)
			}
		}
	}
}

func TestRatio(t *testing.T) {
	for _, tt := range []struct {
		r    string
		n, k int
	}{
		{"0.15", 1000, 150}, {"0.15", 1001, 151}, {"0.15", 1, 1}, {"0", 50, 0}, {"1", 7, 7},
		{"0.1", 10, 1}, {"0.3", 10, 3}, // 0.1 and 0.3 are inexact in floating point
		{"0.03", 100, 3}, {"0.033", 1000, 33}, {"0.15", 0, 0}, {"1.0", 3, 3},
	} {
		if got := draw.MustRatio(tt.r).Count(tt.n); got != tt.k {
			t.Errorf("ceil(%s × %d) = %d, want %d", tt.r, tt.n, got, tt.k)
		}
	}
	for _, bad := range []string{"", "1.5", "-0.1", "0.1e1", "1/3", ".5", "5.", "0..1", "abc", " 0.1", "2"} {
		if _, err := draw.ParseRatio(bad); err == nil {
			t.Errorf("ParseRatio(%q) accepted", bad)
		}
	}
	if s := draw.MustRatio("0.150").String(); s != "0.15" {
		t.Errorf("String() = %q", s)
	}
}

func TestSample_RemovingAnItemNeverReranksOthers(t *testing.T) {
	seed := draw.Seed(draw.Hash{1}, []string{"42"})
	var items []draw.Item
	for i := 0; i < 100; i++ {
		items = append(items, draw.Item{ID: fmt.Sprintf("id%03d", i)})
	}
	half := func(string) draw.Ratio { return draw.MustRatio("0.2") }
	all, _ := draw.Sample(seed, items, half)
	// Drop an unselected item: the selection is unchanged.
	selected := map[string]bool{}
	for _, it := range all {
		selected[it.ID] = true
	}
	var rest []draw.Item
	dropped := false
	for _, it := range items {
		if !dropped && !selected[it.ID] {
			dropped = true
			continue
		}
		rest = append(rest, it)
	}
	again, _ := draw.Sample(seed, rest, half)
	// k = ceil(0.2 × 99) = 20 still.
	for i := range all {
		if all[i].ID != again[i].ID {
			t.Fatalf("position %d changed: %s → %s", i, all[i].ID, again[i].ID)
		}
	}
}

func TestSample_ErrDuplicate(t *testing.T) {
	_, err := draw.Sample(draw.Hash{}, []draw.Item{{ID: "a"}, {ID: "a"}}, func(string) draw.Ratio { return draw.MustRatio("1") })
	if err == nil {
		t.Fatal("duplicate accepted")
	}
}

// TestRFC3797_WorkedExample reproduces RFC 3797 §6.
func TestRFC3797_WorkedExample(t *testing.T) {
	sources := [][]int64{{9319}, {2, 5, 12, 8, 10}, {9, 18, 26, 34, 41, 45}}
	if key := draw.RFC3797Key(sources); key != "9319./2.5.8.10.12./9.18.26.34.41.45./" {
		t.Fatalf("key %q", key)
	}
	got, err := draw.RFC3797(sources, 25, 16)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{17, 7, 2, 16, 25, 23, 8, 24, 19, 13, 22, 5, 18, 9, 1, 4} // 1-based
	for i := range want {
		if got[i]+1 != want[i] {
			t.Fatalf("selection %d: %d, want %d (all: %v)", i+1, got[i]+1, want[i], got)
		}
	}
}
