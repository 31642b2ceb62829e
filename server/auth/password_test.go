package auth_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/auth"
)

func TestArgon2id(t *testing.T) {
	h := auth.NewArgon2id(0, 0)
	ctx := context.Background()
	verify := func(hash, pw string) bool {
		t.Helper()
		ok, err := h.Verify(ctx, hash, pw)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	const pw = "correct-horse-battery"
	hash, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("PHCFormat", func(t *testing.T) {
		phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
		if !phc.MatchString(hash) {
			t.Fatalf("hash %q is not a PHC argon2id string with the OWASP parameters", hash)
		}
		again, err := h.Hash(ctx, pw)
		if err != nil {
			t.Fatal(err)
		}
		if again == hash {
			t.Fatal("two hashes of one password are equal: the salt is not random")
		}
	})
	t.Run("Verify", func(t *testing.T) {
		if !verify(hash, pw) {
			t.Fatal("right password refused")
		}
		for _, wrong := range []string{"", "correct-horse-batterY", pw + " ", strings.Repeat("x", auth.MaxPasswordLen+1)} {
			if verify(hash, wrong) {
				t.Fatalf("wrong password %q accepted", wrong)
			}
		}
	})
	t.Run("ErrLength", func(t *testing.T) {
		for _, pw := range []string{"", "short", strings.Repeat("x", auth.MinPasswordLen-1), strings.Repeat("x", auth.MaxPasswordLen+1)} {
			if _, err := h.Hash(ctx, pw); server.ErrorCode(err) != server.EINVALID {
				t.Fatalf("Hash(%d bytes) = %v, want %s", len(pw), err, server.EINVALID)
			}
		}
		for _, pw := range []string{strings.Repeat("x", auth.MinPasswordLen), strings.Repeat("密", auth.MaxPasswordLen/3)} {
			if _, err := h.Hash(ctx, pw); err != nil {
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
			if verify(bad, pw) {
				t.Fatalf("malformed hash %q accepted", bad)
			}
		}
	})
}

// TestArgon2idBusy: hashes run at most as many at once as the hasher has
// slots; a caller that finds none free within the wait is answered
// EUNAVAILABLE with a RetryAfter instead of adding one more 19 MiB hash.
func TestArgon2idBusy(t *testing.T) {
	ctx := context.Background()
	h := auth.NewArgon2id(2, time.Millisecond)
	hash, err := h.Hash(ctx, "correct-horse-battery")
	if err != nil {
		t.Fatal(err)
	}
	var held []func()
	for range 2 {
		release, err := h.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, release)
	}
	if _, err := h.Verify(ctx, hash, "correct-horse-battery"); server.ErrorCode(err) != server.EUNAVAILABLE || server.RetryAfter(err) <= 0 {
		t.Fatalf("Verify with every slot taken: %v (retry after %v), want %s with a retry time", err, server.RetryAfter(err), server.EUNAVAILABLE)
	}
	if _, err := h.Hash(ctx, "another-password"); server.ErrorCode(err) != server.EUNAVAILABLE {
		t.Fatalf("Hash with every slot taken: %v, want %s", err, server.EUNAVAILABLE)
	}
	// A waiter whose request is gone stops waiting.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := auth.NewArgon2id(1, time.Hour).Verify(cancelled, hash, "x"); err != nil {
		t.Fatalf("a free slot is taken even for a cancelled request: %v", err)
	}
	full := auth.NewArgon2id(1, time.Hour)
	release, _ := full.Acquire(ctx)
	if _, err := full.Verify(cancelled, hash, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting with a cancelled request: %v", err)
	}
	release()

	held[0]()
	if ok, err := h.Verify(ctx, hash, "correct-horse-battery"); err != nil || !ok {
		t.Fatalf("Verify once a slot is free: %v, %v", ok, err)
	}
	held[1]()
}
