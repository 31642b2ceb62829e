package store

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/spotcheck/spotcheck/server"
)

// LoginPolicy is how failed logins hold back further attempts.
type LoginPolicy struct {
	// AccountFailures failed passwords for one username, from anywhere, are
	// free; after that each further attempt waits 2^(n-AccountFailures)
	// seconds after the n-th failure. It stops guessing one person's password
	// from many addresses.
	AccountFailures int
	// AddressFailures is the same for one client address, on any username: it
	// stops one machine spraying passwords over many accounts. It is higher,
	// since a whole office may sign in through one NAT address.
	AddressFailures int
	// MaxWait caps the wait between attempts.
	MaxWait time.Duration
	// Forget is how long after its last failure a counter starts again from 0.
	Forget time.Duration
}

// DefaultLoginPolicy: 5 free failures per account and 50 per address, then
// waits of 1 s, 2 s, 4 s … up to 15 minutes; counters are forgotten after an
// hour without a failure. A correct password (after any wait) resets the
// account's counter. Successful logins are never counted.
var DefaultLoginPolicy = LoginPolicy{AccountFailures: 5, AddressFailures: 50, MaxWait: 15 * time.Minute, Forget: time.Hour}

// LoginThrottle counts failed logins in the database (table login_failures),
// so every replica on one database sees the same counts and the same waits.
// Its clock is the database's (DB.Now), which tests move.
type LoginThrottle struct {
	db     *DB
	policy LoginPolicy

	mu        sync.Mutex
	lastPrune time.Time
}

// NewLoginThrottle returns a throttle on db with the policy.
func NewLoginThrottle(db *DB, p LoginPolicy) *LoginThrottle {
	return &LoginThrottle{db: db, policy: p}
}

// loginFailureRow mirrors the login_failures table.
type loginFailureRow struct {
	Subject       string
	Failures      int
	LastFailureMs int64
}

func (loginFailureRow) TableName() string { return "login_failures" }

// loginAttempt is one login under way. A nil attempt (no throttle) records nothing.
type loginAttempt struct {
	t       *LoginThrottle
	account string
	address string
	// claimed are the keys whose counter begin already raised: an attempt
	// after a wait is counted as failed in advance, so that of several
	// replicas only one gets the slot the wait opened.
	claimed map[string]bool
}

func accountKey(name string) string { return "account:" + name }
func addressKey(addr string) string { return "address:" + addr }

// wait returns how long after the failure counted in r the next attempt on its key must wait.
func (t *LoginThrottle) wait(r loginFailureRow, free int) time.Duration {
	n := r.Failures - free
	if n < 0 {
		return 0
	}
	if n >= 30 {
		return t.policy.MaxWait
	}
	return min(time.Duration(1<<n)*time.Second, t.policy.MaxWait)
}

func (t *LoginThrottle) free(key string) int {
	if strings.HasPrefix(key, "account:") {
		return t.policy.AccountFailures
	}
	return t.policy.AddressFailures
}

// begin returns ERATELIMITED, with the time to wait, when an attempt for the
// account from the address must wait; otherwise the attempt, to be told how
// it ended.
func (t *LoginThrottle) begin(ctx context.Context, account, address string) (*loginAttempt, error) {
	a := &loginAttempt{t: t, account: accountKey(account), claimed: map[string]bool{}}
	keys := []string{a.account}
	if address != "" { // the change-password route counts per account only
		a.address = addressKey(address)
		keys = append(keys, a.address)
	}
	now := t.db.Now().UnixMilli()
	var rows []loginFailureRow
	if err := t.db.gorm.WithContext(ctx).Where("subject IN ?", keys).Find(&rows).Error; err != nil {
		return nil, err
	}
	var wait time.Duration
	var due []loginFailureRow
	for _, r := range rows {
		if now-r.LastFailureMs >= t.policy.Forget.Milliseconds() {
			continue // forgotten: the next failure starts it again
		}
		free := t.free(r.Subject)
		if r.Failures < free {
			continue
		}
		until := r.LastFailureMs + t.wait(r, free).Milliseconds()
		if now < until {
			wait = max(wait, time.Duration(until-now)*time.Millisecond)
		} else {
			due = append(due, r)
		}
	}
	if wait > 0 {
		return nil, tooManyLogins(wait)
	}
	for _, r := range due {
		// Claim the slot: only one attempt, on any replica, raises the counter
		// from what was read.
		res := t.db.gorm.WithContext(ctx).Model(&loginFailureRow{}).
			Where("subject = ? AND failures = ? AND last_failure_ms = ?", r.Subject, r.Failures, r.LastFailureMs).
			Updates(map[string]any{"failures": r.Failures + 1, "last_failure_ms": now})
		if res.Error != nil {
			return nil, res.Error
		}
		if res.RowsAffected == 0 {
			return nil, tooManyLogins(t.wait(loginFailureRow{Failures: r.Failures + 1}, t.free(r.Subject)))
		}
		a.claimed[r.Subject] = true
	}
	return a, nil
}

func tooManyLogins(wait time.Duration) error {
	e := server.Errorf(server.ERATELIMITED, "登录失败次数过多，请稍后再试 (too many failed logins; try again later).")
	e.RetryAfter = max(wait, time.Second)
	return e
}

// failed counts a wrong password against the account and the address.
func (a *loginAttempt) failed(ctx context.Context) error {
	if a == nil {
		return nil
	}
	t := a.t
	now := t.db.Now().UnixMilli()
	forgotten := now - t.policy.Forget.Milliseconds()
	for _, key := range []string{a.account, a.address} {
		if key == "" || a.claimed[key] {
			continue
		}
		err := t.db.gorm.WithContext(ctx).Exec(`INSERT INTO login_failures (subject, failures, last_failure_ms) VALUES (?, 1, ?)
			ON CONFLICT (subject) DO UPDATE SET
				failures = CASE WHEN login_failures.last_failure_ms <= ? THEN 1 ELSE login_failures.failures + 1 END,
				last_failure_ms = excluded.last_failure_ms`, key, now, forgotten).Error
		if err != nil {
			return err
		}
	}
	return t.prune(ctx, forgotten)
}

// succeeded resets the account's counter. The address's stays: one good
// password must not buy a sprayer fresh tries on other accounts.
func (a *loginAttempt) succeeded(ctx context.Context) error {
	if a == nil {
		return nil
	}
	return a.t.db.gorm.WithContext(ctx).Where("subject = ?", a.account).Delete(&loginFailureRow{}).Error
}

// prune deletes forgotten counters, at most once a minute per process, so
// made-up usernames do not pile up.
func (t *LoginThrottle) prune(ctx context.Context, forgotten int64) error {
	t.mu.Lock()
	now := t.db.Now()
	if now.Sub(t.lastPrune) < time.Minute {
		t.mu.Unlock()
		return nil
	}
	t.lastPrune = now
	t.mu.Unlock()
	return t.db.gorm.WithContext(ctx).Where("last_failure_ms <= ?", forgotten).Delete(&loginFailureRow{}).Error
}
