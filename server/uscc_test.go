package server_test

import (
	"testing"

	"github.com/spotcheck/spotcheck/server"
)

// Vectors from the GB 32100-2015 research notes: all pass both checks.
var validCodes = []string{
	"91350100M000100Y43",
	"91350200776049653A",
	"913502000728319549",
	"91440101MA5CJQ4N59",
	"9135021359498494XQ",
	"91350213678251743X",
	"123502001549897397",
}

func TestCheckCreditCode(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		for _, c := range validCodes {
			if err := server.CheckCreditCode(c); err != nil {
				t.Errorf("%s: %v", c, err)
			}
		}
	})
	t.Run("ErrKnownInvalid", func(t *testing.T) {
		if err := server.CheckCreditCode("91350203M0001QAY9B"); server.ErrorCode(err) != server.EINVALID {
			t.Fatalf("91350203M0001QAY9B accepted (err %v)", err)
		}
	})
	t.Run("ErrEverySingleCharacterChange", func(t *testing.T) {
		// Every change of one character to any other ASCII letter or digit is
		// caught: a weighted sum mod 31 with weights coprime to 31 detects
		// every single substitution within the alphabet, and characters
		// outside it are refused outright.
		const candidates = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		n := 0
		for _, code := range validCodes {
			for i := 0; i < len(code); i++ {
				for j := 0; j < len(candidates); j++ {
					if candidates[j] == code[i] {
						continue
					}
					changed := code[:i] + string(candidates[j]) + code[i+1:]
					n++
					if err := server.CheckCreditCode(changed); err == nil {
						t.Errorf("%s (from %s, position %d) accepted", changed, code, i+1)
					}
				}
			}
		}
		if n < 7*18*60 {
			t.Fatalf("only %d mutations tried", n)
		}
	})
	t.Run("ErrShape", func(t *testing.T) {
		for _, c := range []string{"", "9135020077604965", "91350200776049653A0", "91350200776049653a", "9135020077604965３A"} {
			if err := server.CheckCreditCode(c); server.ErrorCode(err) != server.EINVALID {
				t.Errorf("%q: err %v", c, err)
			}
		}
	})
}

func TestCreditCodeCheckChar_RoundTrip(t *testing.T) {
	for _, c := range validCodes {
		if got := server.CreditCodeCheckChar(c[:17]); got != c[17] {
			t.Errorf("%s: check char %c, want %c", c, got, c[17])
		}
		if got := server.OrgCodeCheckChar(c[8:16]); got != c[16] {
			t.Errorf("%s: org check char %c, want %c", c, got, c[16])
		}
	}
}

// TestCreditCodeKey: codes differing in any one character, at any position,
// get different keys, and only 18 characters of the set are packed.
func TestCreditCodeKey(t *testing.T) {
	base := "91350100M000100Y43"
	k0, ok := server.CreditCodeKey(base)
	if !ok {
		t.Fatalf("CreditCodeKey(%q) refused", base)
	}
	seen := map[[12]byte]string{k0: base}
	for i := 0; i < 18; i++ {
		for _, c := range "0123456789ABCDEFGHJKLMNPQRTUWXY" {
			code := base[:i] + string(c) + base[i+1:]
			k, ok := server.CreditCodeKey(code)
			if !ok {
				t.Fatalf("CreditCodeKey(%q) refused", code)
			}
			if other, dup := seen[k]; dup && other != code {
				t.Fatalf("%q and %q have the same key", code, other)
			}
			seen[k] = code
		}
	}
	for _, bad := range []string{"", base[:17], base + "0", "91350100M000100Y4I", "91350100m000100Y43", "91350100M000100Y4\x00"} {
		if _, ok := server.CreditCodeKey(bad); ok {
			t.Errorf("CreditCodeKey(%q) packed", bad)
		}
	}
}
