package auth_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/auth"
)

func TestArgon2id(t *testing.T) {
	var h auth.Argon2id
	const pw = "correct-horse-battery"
	hash, err := h.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("PHCFormat", func(t *testing.T) {
		phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
		if !phc.MatchString(hash) {
			t.Fatalf("hash %q is not a PHC argon2id string with the OWASP parameters", hash)
		}
		again, err := h.Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		if again == hash {
			t.Fatal("two hashes of one password are equal: the salt is not random")
		}
	})
	t.Run("Verify", func(t *testing.T) {
		if !h.Verify(hash, pw) {
			t.Fatal("right password refused")
		}
		for _, wrong := range []string{"", "correct-horse-batterY", pw + " ", strings.Repeat("x", auth.MaxPasswordLen+1)} {
			if h.Verify(hash, wrong) {
				t.Fatalf("wrong password %q accepted", wrong)
			}
		}
	})
	t.Run("ErrLength", func(t *testing.T) {
		for _, pw := range []string{"", "short", strings.Repeat("x", auth.MinPasswordLen-1), strings.Repeat("x", auth.MaxPasswordLen+1)} {
			if _, err := h.Hash(pw); server.ErrorCode(err) != server.EINVALID {
				t.Fatalf("Hash(%d bytes) = %v, want %s", len(pw), err, server.EINVALID)
			}
		}
		for _, pw := range []string{strings.Repeat("x", auth.MinPasswordLen), strings.Repeat("密", auth.MaxPasswordLen/3)} {
			if _, err := h.Hash(pw); err != nil {
				t.Fatalf("Hash(%d bytes): %v", len(pw), err)
			}
		}
	})
	t.Run("MalformedHash", func(t *testing.T) {
		parts := strings.Split(hash, "$")
		for _, bad := range []string{
			"",
			"plaintext",
			"$2a$10$abcdefghijklmnopqrstuuCJZ0ZcN1m7gqV8e5rKxW1O1dEyhW0C", // bcrypt
			"$argon2i$v=19$m=19456,t=2,p=1$" + parts[4] + "$" + parts[5],
			"$argon2id$v=16$m=19456,t=2,p=1$" + parts[4] + "$" + parts[5],
			"$argon2id$v=19$m=19456,t=2,p=0$" + parts[4] + "$" + parts[5],
			"$argon2id$v=19$m=99999999,t=2,p=1$" + parts[4] + "$" + parts[5], // a work bomb
			"$argon2id$v=19$m=19456,t=2,p=1$!!!$" + parts[5],
			"$argon2id$v=19$m=19456,t=2,p=1$" + parts[4] + "$",
			"$argon2id$v=19$m=19456,t=2,p=1$" + parts[4] + "$" + parts[5] + "$extra",
		} {
			if h.Verify(bad, pw) {
				t.Fatalf("malformed hash %q accepted", bad)
			}
		}
	})
}
