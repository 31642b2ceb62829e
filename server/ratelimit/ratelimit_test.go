package ratelimit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/ratelimit"
	"github.com/spotcheck/spotcheck/server/store"
)

var _ store.LoginLimiter = (*ratelimit.LoginLimiter)(nil)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newLimiter() (*ratelimit.LoginLimiter, *clock) {
	c := &clock{t: time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)}
	return ratelimit.NewLoginLimiter(ratelimit.DefaultLoginPolicy, c.now), c
}

func TestLoginLimiter_PerAccount(t *testing.T) {
	l, c := newLimiter()
	for i := range 5 {
		if ok, _ := l.Allow("alice", fmt.Sprintf("10.0.0.%d", i)); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	// The sixth attempt on the account is refused from any address...
	ok, wait := l.Allow("alice", "10.0.1.1")
	if ok || wait != 12*time.Second {
		t.Fatalf("6th attempt: ok=%v wait=%v, want refused for 12s", ok, wait)
	}
	// ...but another account from the same address goes ahead.
	if ok, _ := l.Allow("bob", "10.0.0.1"); !ok {
		t.Fatal("other account refused")
	}
	// Refused attempts use up nothing: hammering does not extend the wait.
	for range 100 {
		l.Allow("alice", "10.0.1.1")
	}
	c.advance(wait)
	if ok, _ := l.Allow("alice", "10.0.1.1"); !ok {
		t.Fatal("refused after waiting Retry-After")
	}
	if ok, _ := l.Allow("alice", "10.0.1.1"); ok {
		t.Fatal("one token refilled, two spent")
	}
}

func TestLoginLimiter_PerAddress(t *testing.T) {
	l, c := newLimiter()
	for i := range 30 {
		if ok, _ := l.Allow(fmt.Sprintf("user%d", i), "10.0.0.1"); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	ok, wait := l.Allow("fresh", "10.0.0.1")
	if ok || wait != 2*time.Second {
		t.Fatalf("31st attempt: ok=%v wait=%v, want refused for 2s", ok, wait)
	}
	if ok, _ := l.Allow("fresh", "10.0.0.2"); !ok {
		t.Fatal("other address refused")
	}
	// The refused attempt did not spend the account's token either.
	c.advance(2 * time.Second)
	for range 4 {
		if ok, _ := l.Allow("fresh", "10.0.0.3"); !ok {
			t.Fatal("account tokens were spent by a refused attempt")
		}
	}
}

func TestKeyed_BoundedMemory(t *testing.T) {
	l, c := newLimiter()
	for i := range 200_000 {
		l.Allow(fmt.Sprintf("user%d", i), fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
	}
	acct, addr := l.Len()
	if acct > ratelimit.DefaultLoginPolicy.MaxKeys || addr > ratelimit.DefaultLoginPolicy.MaxKeys {
		t.Fatalf("remembers %d accounts and %d addresses, cap %d", acct, addr, ratelimit.DefaultLoginPolicy.MaxKeys)
	}
	// Once their buckets are full again, idle keys are forgotten.
	c.advance(time.Minute)
	l.Allow("last", "10.255.255.255")
	if acct, addr := l.Len(); acct != 1 || addr != 1 {
		t.Fatalf("after a minute idle: %d accounts, %d addresses remembered, want 1 and 1", acct, addr)
	}
}

func TestKeyed_SweepKeepsLimitedKeys(t *testing.T) {
	l, c := newLimiter()
	l.Allow("bob", "10.0.0.2") // the first call sweeps
	c.advance(40 * time.Second)
	for range 5 {
		l.Allow("alice", "10.0.0.1")
	}
	c.advance(25 * time.Second)
	l.Allow("carol", "10.0.0.3") // a minute after the last sweep: sweeps again
	if acct, _ := l.Len(); acct != 2 {
		t.Fatalf("%d accounts remembered, want alice and carol", acct)
	}
	// 25 s refill two of alice's tokens, not five.
	for i := range 2 {
		if ok, _ := l.Allow("alice", "10.0.0.1"); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	if ok, _ := l.Allow("alice", "10.0.0.1"); ok {
		t.Fatal("a sweep forgot alice while she was limited")
	}
}
