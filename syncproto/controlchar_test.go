package syncproto

import "testing"

// controlCharByRunes is the rule ControlChar implements, read rune by rune.
func controlCharByRunes(s string, multiline bool) bool {
	for _, r := range s {
		switch {
		case multiline && (r == '\t' || r == '\n' || r == '\r'):
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			return true
		}
	}
	return false
}

func FuzzControlChar(f *testing.F) {
	for _, s := range []string{"", "abc", "a\tb", "a\nb", "\x00", "\x7f", "\u0085", "\u00a0", "网吧",
		"\xe0\xc2\x85", "\xc0\x80", "\xc2", "x\xc2\x9f", "\xc2\xa0", "\r\n", "\x1f~"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, ml := range []bool{false, true} {
			if got, want := ControlChar(s, ml), controlCharByRunes(s, ml); got != want {
				t.Fatalf("ControlChar(%q, %v) = %v, rune by rune %v", s, ml, got, want)
			}
		}
	})
}
