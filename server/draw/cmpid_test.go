package draw

import (
	"bytes"
	"testing"
)

// FuzzCmpIDs: comparing two entries by id gives bytes.Compare's order, for
// inline ids (zero bytes included, lengths up to inlineID) and long ones.
func FuzzCmpIDs(f *testing.F) {
	f.Add([]byte("91350203MA2XXXXX0X"), []byte("91350203MA2XXXXX0Y"))
	f.Add([]byte("ab"), []byte("ab\x00"))
	f.Add([]byte("ab\x01"), []byte("ab"))
	f.Add([]byte(""), []byte("\x00"))
	f.Add([]byte("12345678901234567890123"), []byte("123456789012345678901234"))
	f.Add([]byte("a-very-long-identifier-of-thirty-bytes"), []byte("a-very-long-identifier-of-thirty-byte"))
	f.Fuzz(func(t *testing.T, x, y []byte) {
		st := &stratum{limit: 4, buf: make([]entry, 0, 4)}
		var a, b entry
		for _, p := range []struct {
			e  *entry
			id []byte
		}{{&a, x}, {&b, y}} {
			st.buf = st.buf[:0]
			st.add(Hash{}, p.id)
			*p.e = st.buf[0]
		}
		want := bytes.Compare(x, y)
		if got := st.cmpID(&a, &b); got != want {
			t.Fatalf("cmpID(%q, %q) = %d, bytes.Compare %d", x, y, got, want)
		}
		if got := st.cmpID(&b, &a); got != -want {
			t.Fatalf("cmpID(%q, %q) = %d, bytes.Compare %d", y, x, got, -want)
		}
	})
}
