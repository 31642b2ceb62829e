package draw_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/spotcheck/spotcheck/server/draw"
)

// benchCodes returns n distinct 18-character codes shaped like unified social
// credit codes (the check characters do not matter to the sampler).
func benchCodes(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("91350203%08dXY", i)
	}
	return out
}

// BenchmarkSampler_1M ranks 15% of 1,000,000 items in one stratum through
// Sampler.Add and Finish: the CPU part of a draw, without a database.
func BenchmarkSampler_1M(b *testing.B) {
	codes := benchCodes(1_000_000)
	seed := draw.Seed(draw.Hash{1}, []string{"42"})
	ratios := map[string]draw.Ratio{"": draw.MustRatio("0.15")}
	sizes := map[string]int{"": len(codes)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := sampleAll(b, seed, sizes, ratios, codes)
		res, err := s.Finish()
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Selected) != 150_000 {
			b.Fatalf("%d selected", len(res.Selected))
		}
	}
}

// BenchmarkFeeder_1M is BenchmarkSampler_1M through a Feeder, computing
// tickets on every core.
func BenchmarkFeeder_1M(b *testing.B) {
	codes := benchCodes(1_000_000)
	ids := make([][]byte, len(codes))
	for i, c := range codes {
		ids[i] = []byte(c)
	}
	seed := draw.Seed(draw.Hash{1}, []string{"42"})
	ratios := map[string]draw.Ratio{"": draw.MustRatio("0.15")}
	sizes := map[string]int{"": len(codes)}
	stratum := []byte{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := draw.NewSampler(seed, sizes, ratios, 0)
		if err != nil {
			b.Fatal(err)
		}
		f := s.Feed(runtime.GOMAXPROCS(0))
		for _, id := range ids {
			if err := f.Add(stratum, id); err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
		res, err := s.Finish()
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Selected) != 150_000 {
			b.Fatalf("%d selected", len(res.Selected))
		}
	}
}

// BenchmarkSelectedByID_1M is BenchmarkFeeder_1M ending as the store's draw
// does: the selection sorted by id on every core and read in id order.
func BenchmarkSelectedByID_1M(b *testing.B) {
	codes := benchCodes(1_000_000)
	seed := draw.Seed(draw.Hash{1}, []string{"42"})
	ratios := map[string]draw.Ratio{"": draw.MustRatio("0.15")}
	sizes := map[string]int{"": len(codes)}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s := sampleAll(b, seed, sizes, ratios, codes)
		b.StartTimer()
		sel, err := s.SelectedByID(runtime.GOMAXPROCS(0))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for sel.Next() {
			n++
		}
		if n != 150_000 {
			b.Fatalf("%d selected", n)
		}
	}
}

// sampleAll returns a sampler for one unnamed stratum with every code added.
func sampleAll(b *testing.B, seed draw.Hash, sizes map[string]int, ratios map[string]draw.Ratio, codes []string) *draw.Sampler {
	s, err := draw.NewSampler(seed, sizes, ratios, 0)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range codes {
		if err := s.Add("", c); err != nil {
			b.Fatal(err)
		}
	}
	return s
}
