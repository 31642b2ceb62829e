// Package ratelimit holds in-memory, keyed token-bucket limiters with bounded
// memory, and the login limiter built from two of them (per account and per
// client address). State is per process: with several replicas behind a load
// balancer each replica limits on its own, so the effective limit is at most
// replicas × the per-replica one, which still stops online password guessing.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed is a set of token buckets, one per key, all with the same rate and
// burst. A key unused long enough for its bucket to be full again is
// forgotten (forgetting it changes nothing), and the number of keys is capped,
// so memory stays bounded whatever keys clients make up.
type Keyed struct {
	limit   rate.Limit
	burst   int
	idle    time.Duration // time for an empty bucket to refill: after that a key is forgotten
	maxKeys int

	mu        sync.Mutex
	keys      map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time // the last reservation; the bucket is full again at last+idle
}

// NewKeyed returns a limiter that allows n events per per for each key, with
// a burst of burst, remembering at most maxKeys keys.
func NewKeyed(n int, per time.Duration, burst, maxKeys int) *Keyed {
	if n < 1 || per <= 0 || burst < 1 || maxKeys < 1 {
		panic("ratelimit: n, per, burst and maxKeys must be positive")
	}
	limit := rate.Every(per / time.Duration(n))
	return &Keyed{
		limit: limit, burst: burst, maxKeys: maxKeys,
		idle: per * time.Duration(burst) / time.Duration(n),
		keys: make(map[string]*bucket),
	}
}

// Len returns how many keys are remembered.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.keys)
}

// reserve takes one token for key at now. The caller must cancel the
// reservation if it does not go ahead, so a refused attempt costs nothing.
func (k *Keyed) reserve(key string, now time.Time) *rate.Reservation {
	k.mu.Lock()
	defer k.mu.Unlock()
	if now.Sub(k.lastSweep) >= k.idle {
		k.sweep(now)
	}
	b, ok := k.keys[key]
	if !ok {
		// A sweep walks every key, so even when full it runs at most once a
		// second: a flood of new keys must not make each attempt cost O(keys).
		if len(k.keys) >= k.maxKeys && now.Sub(k.lastSweep) >= time.Second {
			k.sweep(now)
		}
		if len(k.keys) >= k.maxKeys {
			// Still full of busy keys: forget one at random (map order), so no
			// client can choose whose state is dropped.
			for victim := range k.keys {
				delete(k.keys, victim)
				break
			}
		}
		b = &bucket{lim: rate.NewLimiter(k.limit, k.burst)}
		k.keys[key] = b
	}
	if now.After(b.last) {
		b.last = now
	}
	return b.lim.ReserveN(now, 1)
}

// sweep forgets every key whose bucket is full again.
func (k *Keyed) sweep(now time.Time) {
	for key, b := range k.keys {
		if now.Sub(b.last) >= k.idle {
			delete(k.keys, key)
		}
	}
	k.lastSweep = now
}

// LoginPolicy is how fast login attempts may come.
type LoginPolicy struct {
	// PerAccount limits attempts on one username, from anywhere: it stops
	// guessing one person's password from many addresses.
	AccountN, AccountBurst int
	// PerAddress limits attempts from one client address, on any username:
	// it stops one machine spraying passwords over many accounts.
	AddressN, AddressBurst int
	Per                    time.Duration
	// MaxKeys caps how many usernames and addresses each limiter remembers.
	MaxKeys int
}

// DefaultLoginPolicy allows 5 attempts a minute per username (a person who
// mistypes a few times is not held up; a guesser gets 7,200 tries a day at
// most) and 30 a minute per address (a bureau office behind one NAT address
// signs in together in the morning; refreshes are not counted).
var DefaultLoginPolicy = LoginPolicy{
	AccountN: 5, AccountBurst: 5,
	AddressN: 30, AddressBurst: 30,
	Per:     time.Minute,
	MaxKeys: 65536,
}

// LoginLimiter limits login attempts per account and per address. It
// implements store.LoginLimiter. Every attempt counts, right or wrong, since
// it is asked before the password is checked.
type LoginLimiter struct {
	// Now is the clock; tests replace it.
	Now       func() time.Time
	accounts  *Keyed
	addresses *Keyed
}

// NewLoginLimiter returns a login limiter with the policy; now nil means time.Now.
func NewLoginLimiter(p LoginPolicy, now func() time.Time) *LoginLimiter {
	if now == nil {
		now = time.Now
	}
	return &LoginLimiter{
		Now:       now,
		accounts:  NewKeyed(p.AccountN, p.Per, p.AccountBurst, p.MaxKeys),
		addresses: NewKeyed(p.AddressN, p.Per, p.AddressBurst, p.MaxKeys),
	}
}

// Allow reports whether a login attempt for username from address may go
// ahead and, if not, how long until it may. A refused attempt uses up nothing,
// so hammering does not push the wait further out.
func (l *LoginLimiter) Allow(username, address string) (bool, time.Duration) {
	now := l.Now()
	acct := l.accounts.reserve(username, now)
	addr := l.addresses.reserve(address, now)
	wait := max(acct.DelayFrom(now), addr.DelayFrom(now))
	if wait == 0 {
		return true, 0
	}
	acct.CancelAt(now)
	addr.CancelAt(now)
	return false, wait
}

// Len returns how many accounts and addresses are remembered.
func (l *LoginLimiter) Len() (accounts, addresses int) {
	return l.accounts.Len(), l.addresses.Len()
}
