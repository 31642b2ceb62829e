package username_test

import (
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/username"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"admin":           "admin",
		" admin ":         "admin",
		"ADMIN":           "admin",
		"Ａｄｍｉｎ":           "admin", // full width
		"Straße":          "strasse",
		"inspector01":     "inspector01",
		"张三":              "张三",
		"culture-admin\n": "culture-admin",
	} {
		got, err := username.Normalize(in)
		if err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "  ", "two words", "a\tb", "a\x00b", "zero\u200bwidth", "\xff", strings.Repeat("x", username.MaxLen+1)} {
		if _, err := username.Normalize(in); server.ErrorCode(err) != server.EINVALID {
			t.Errorf("Normalize(%q) = %v, want %s", in, err, server.EINVALID)
		}
	}
}

func TestSkeleton(t *testing.T) {
	same := [][2]string{
		{"admin", "аdmin"},             // Cyrillic а
		{"paypal", "pаypаl"},           // Cyrillic а twice
		{"root", "r0ot"},               // a zero for an o
		{"insp-a1", "insp-al"},         // a one for an l
		{"coordinator", "cοordinator"}, // Greek ο
	}
	for _, p := range same {
		a, _ := username.Normalize(p[0])
		b, _ := username.Normalize(p[1])
		if username.Skeleton(a) != username.Skeleton(b) {
			t.Errorf("%q and %q have different skeletons %q, %q", p[0], p[1], username.Skeleton(a), username.Skeleton(b))
		}
	}
	for _, p := range [][2]string{{"inspector01", "inspector10"}, {"admin-a", "admin-b"}, {"张三", "张四"}} {
		if username.Skeleton(p[0]) == username.Skeleton(p[1]) {
			t.Errorf("%q and %q share a skeleton", p[0], p[1])
		}
	}
}
