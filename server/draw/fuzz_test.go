package draw_test

import (
	"os"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server/draw"
)

// FuzzParseManifest: no input panics the parser, and whatever it accepts is
// canonical: it re-encodes to exactly the bytes read.
func FuzzParseManifest(f *testing.F) {
	var buf strings.Builder
	if err := testManifest().Encode(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(buf.String()))
	f.Add([]byte("spotcheck-manifest/v1\n"))
	f.Add([]byte("spotcheck-manifest/v1\nratio\t\t0.15\npopulation\tX\t\n"))
	for _, golden := range []string{"testdata/manifest-v2.golden", "testdata/manifest-v3.golden"} {
		data, err := os.ReadFile(golden)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := draw.ParseManifest(data)
		if err != nil {
			return
		}
		var out strings.Builder
		if err := m.Encode(&out); err != nil {
			t.Fatalf("accepted a manifest it cannot encode: %v", err)
		}
		if out.String() != string(data) {
			t.Fatalf("accepted a non-canonical manifest")
		}
	})
}

// FuzzParseRatio: accepted ratios lie in [0, 1] and give 0 ≤ k ≤ N.
func FuzzParseRatio(f *testing.F) {
	for _, s := range []string{"0.15", "1", "0", "0.999999", "1.0000", "2", "-1", "1e-3"} {
		f.Add(s, 1000)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		r, err := draw.ParseRatio(s)
		if err != nil || n < 0 || n > 1<<30 {
			return
		}
		if k := r.Count(n); k < 0 || k > n {
			t.Fatalf("ceil(%s × %d) = %d", s, n, k)
		}
	})
}
