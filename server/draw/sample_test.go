package draw_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server/draw"
)

// TestSampler_LargeAgreesWithReference runs populations large enough that
// the sampler drops candidates many times, with ids of every length (some
// longer than the sampler keeps in place), through both Add and a Feeder,
// and checks the selection and the reserve against the reference.
func TestSampler_LargeAgreesWithReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ratios := []string{"0", "1", "0.15", "0.5", "0.033", "0.01", "0.001"}
	for trial := 0; trial < 24; trial++ {
		var digest [32]byte
		for i := range digest {
			digest[i] = byte(r.IntN(256))
		}
		values := []string{fmt.Sprint(r.IntN(100000))}
		nStrata := 1 + r.IntN(3)
		strataNames := []string{"", "文化/C", strings.Repeat("long stratum ", 10)}[:nStrata]
		ratio := map[string]string{}
		for _, s := range strataNames {
			ratio[s] = ratios[r.IntN(len(ratios))]
		}
		n := 2000 + r.IntN(8000)
		var ids, strata []string
		seen := map[string]bool{}
		for len(ids) < n {
			var id string
			switch r.IntN(4) {
			case 0:
				id = fmt.Sprint(r.IntN(1e6)) // short
			case 1:
				id = fmt.Sprintf("9135%014d", r.IntN(1e9)) // a credit code's length
			case 2:
				id = fmt.Sprintf("%023d", r.IntN(1e9)) // the longest kept in place
			default:
				id = fmt.Sprintf("cert-%0*d", 20+r.IntN(60), r.IntN(1e9)) // longer
			}
			if seen[id] {
				continue
			}
			seen[id] = true
			ids = append(ids, id)
			strata = append(strata, strataNames[r.IntN(nStrata)])
		}
		seedBytes := refSeed(digest, values)
		want := refSample(seedBytes, ids, strata, ratio)
		// The whole order per stratum, for the reserve.
		every := map[string]string{}
		for _, s := range strataNames {
			every[s] = "1"
		}
		all := map[string][]refItem{}
		for _, it := range refSample(seedBytes, ids, strata, every) {
			all[it.stratum] = append(all[it.stratum], it)
		}

		seed := draw.Seed(draw.Hash(digest), values)
		sizes, rs := map[string]int{}, map[string]draw.Ratio{}
		for _, s := range strata {
			sizes[s]++
			rs[s] = draw.MustRatio(ratio[s])
		}
		const spare = 5
		for _, feed := range []bool{false, true} {
			s, err := draw.NewSampler(seed, sizes, rs, spare)
			if err != nil {
				t.Fatal(err)
			}
			if feed {
				f := s.Feed(1 + trial%3)
				for i := range ids {
					if err := f.Add([]byte(strata[i]), []byte(ids[i])); err != nil {
						t.Fatal(err)
					}
				}
				f.Close()
			} else {
				for i := range ids {
					if err := s.Add(strata[i], ids[i]); err != nil {
						t.Fatal(err)
					}
				}
			}
			// The same selection in id order first; Finish must still work after it.
			byID, err := s.SelectedByID(1 + trial%3)
			if err != nil {
				t.Fatal(err)
			}
			wantByID := slices.Clone(want)
			slices.SortFunc(wantByID, func(a, b refItem) int {
				return cmp.Or(strings.Compare(a.id, b.id), strings.Compare(a.stratum, b.stratum))
			})
			if byID.Len() != len(want) {
				t.Fatalf("trial %d feed %v: SelectedByID has %d items, reference %d", trial, feed, byID.Len(), len(want))
			}
			for i, w := range wantByID {
				if !byID.Next() {
					t.Fatalf("trial %d feed %v: SelectedByID ended after %d items, reference %d", trial, feed, i, len(want))
				}
				id, st, ticket := byID.Item()
				if string(id) != w.id || st != w.stratum || ticket.String() != w.hex {
					t.Fatalf("trial %d feed %v, id order position %d: got %s/%s/%s, reference %s/%s/%s", trial, feed, i,
						id, st, ticket, w.id, w.stratum, w.hex)
				}
			}
			if byID.Next() {
				t.Fatalf("trial %d feed %v: SelectedByID has more than %d items", trial, feed, len(want))
			}
			res, err := s.Finish()
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Selected) != len(want) {
				t.Fatalf("trial %d feed %v: %d selected, reference %d", trial, feed, len(res.Selected), len(want))
			}
			for i, got := range res.Selected {
				if got.ID != want[i].id || got.Stratum != want[i].stratum || got.Ticket.String() != want[i].hex {
					t.Fatalf("trial %d feed %v, position %d: got %s/%s/%s, reference %s/%s/%s", trial, feed, i,
						got.ID, got.Stratum, got.Ticket, want[i].id, want[i].stratum, want[i].hex)
				}
			}
			for st, order := range all {
				k := res.K[st]
				wantReserve := order[k:min(len(order), k+spare)]
				if got := res.Reserve[st]; len(got) != len(wantReserve) {
					t.Fatalf("trial %d feed %v stratum %q: reserve of %d, want %d", trial, feed, st, len(got), len(wantReserve))
				}
				for i, it := range res.Reserve[st] {
					if it.ID != wantReserve[i].id || it.Ticket.String() != wantReserve[i].hex {
						t.Fatalf("trial %d feed %v stratum %q reserve %d: got %s, want %s", trial, feed, st, i, it.ID, wantReserve[i].id)
					}
				}
			}
		}
	}
}

func TestFeeder_Errors(t *testing.T) {
	seed := draw.Seed(draw.Hash{}, nil)
	s, err := draw.NewSampler(seed, map[string]int{"a": 1}, map[string]draw.Ratio{"a": draw.MustRatio("1")}, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := s.Feed(2)
	defer f.Close()
	if err := f.Add([]byte("b"), []byte("x")); err == nil {
		t.Error("unknown stratum accepted")
	}
	if err := f.Add([]byte("a"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := f.Add([]byte("a"), []byte("y")); err == nil {
		t.Error("more items than the stratum's size accepted")
	}
	f.Close()
	if _, err := s.Finish(); err == nil {
		t.Error("Finish accepted a stratum with the wrong count")
	}
}

func TestTicket_DoesNotAllocate(t *testing.T) {
	seed := draw.Seed(draw.Hash{}, nil)
	if n := testing.AllocsPerRun(100, func() { draw.Ticket(seed, "文化", "91350203MA2XXXXX0X") }); n != 0 {
		t.Errorf("Ticket allocates %v times", n)
	}
}
