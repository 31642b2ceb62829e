package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/spotcheck/spotcheck/server"
)

// Argon2id parameters: the OWASP minimum (19 MiB, 2 passes, 1 lane).
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
	// MaxPasswordLen bounds the work one login can cost the server.
	MaxPasswordLen = 256
	// MinPasswordLen is the shortest password accepted for a new account.
	MinPasswordLen = 10
)

// Argon2id implements server.PasswordHasher as PHC strings:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
//
// Each hash takes 19 MiB and a CPU for a while, so an Argon2id made by
// NewArgon2id runs at most a fixed number at once: a caller waits for a slot
// at most a short while, among a bounded number of waiters, and is otherwise
// answered EUNAVAILABLE with a RetryAfter, which the API turns into 503. The
// zero value has no bound (tools and tests).
type Argon2id struct {
	slots   chan struct{} // one token per hash running; nil: unbounded
	wait    time.Duration
	maxWait int64 // callers allowed to wait for a slot at once
	waiting atomic.Int64
}

var _ server.PasswordHasher = (*Argon2id)(nil)

// Defaults for NewArgon2id's queue.
const (
	// DefaultHashWait is the longest a login waits for a hashing slot.
	DefaultHashWait = 2 * time.Second
	// hashRetryAfter is what a caller turned away is asked to wait.
	hashRetryAfter = 2 * time.Second
)

// NewArgon2id returns a hasher that runs at most concurrency hashes at once
// (0: one per CPU), lets at most 32 × concurrency callers wait for a slot, each
// at most wait (0: DefaultHashWait).
func NewArgon2id(concurrency int, wait time.Duration) *Argon2id {
	if concurrency <= 0 {
		concurrency = runtime.NumCPU()
	}
	if wait <= 0 {
		wait = DefaultHashWait
	}
	return &Argon2id{slots: make(chan struct{}, concurrency), wait: wait, maxWait: int64(32 * concurrency)}
}

// errBusy is returned when no hashing slot came free in time.
func errBusy() error {
	e := server.Errorf(server.EUNAVAILABLE, "服务器繁忙，请稍后再试 (the server is busy; try again shortly).")
	e.RetryAfter = hashRetryAfter
	return e
}

// Acquire takes a hashing slot, waiting as NewArgon2id describes; the caller
// must call release once done. Hash and Verify use it; tests use it to hold
// the slots.
func (h *Argon2id) Acquire(ctx context.Context) (release func(), err error) {
	if h == nil || h.slots == nil {
		return func() {}, nil
	}
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots }, nil
	default:
	}
	if h.waiting.Add(1) > h.maxWait {
		h.waiting.Add(-1)
		return nil, errBusy()
	}
	defer h.waiting.Add(-1)
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots }, nil
	case <-t.C:
		return nil, errBusy()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// dummyHash is verified against when the user does not exist, so a login for
// an unknown user takes as long as one for a known user.
var dummyHash, _ = hashPassword("spotcheck-no-such-user")

// Hash returns the PHC string for password.
func (h *Argon2id) Hash(ctx context.Context, password string) (string, error) {
	if err := checkPasswordLen(password); err != nil {
		return "", err
	}
	release, err := h.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return hashPassword(password)
}

func checkPasswordLen(password string) error {
	if len(password) < MinPasswordLen {
		return server.Errorf(server.EINVALID, "密码至少%d个字符 (password must be at least %d characters).", MinPasswordLen, MinPasswordLen)
	}
	if len(password) > MaxPasswordLen {
		return server.Errorf(server.EINVALID, "密码过长 (password too long).")
	}
	return nil
}

func hashPassword(password string) (string, error) {
	if err := checkPasswordLen(password); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify reports whether password matches the PHC string. An empty or
// malformed hash is checked against a dummy so the time taken is the same.
func (h *Argon2id) Verify(ctx context.Context, hash, password string) (bool, error) {
	if len(password) > MaxPasswordLen {
		return false, nil
	}
	release, err := h.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	return verifyPassword(hash, password), nil
}

func verifyPassword(hash, password string) bool {
	ok := true
	p, err := parsePHC(hash)
	if err != nil {
		p, _ = parsePHC(dummyHash)
		ok = false
	}
	key := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1 && ok
}

type phc struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parsePHC(s string) (phc, error) {
	var p phc
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, fmt.Errorf("not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, fmt.Errorf("unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return p, fmt.Errorf("bad argon2 parameters: %w", err)
	}
	if p.memory > 1<<20 || p.time > 16 || p.threads == 0 {
		return p, fmt.Errorf("argon2 parameters out of range")
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return p, err
	}
	if p.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(p.key) < 16 {
		return p, fmt.Errorf("bad argon2 key")
	}
	return p, nil
}
