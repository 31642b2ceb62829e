package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

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
//
// Every attempt is counted as a failure before its password is checked, in
// one conditional UPDATE that also decides whether it may go ahead; a correct
// password takes the count back. So attempts racing on any number of
// replicas get no more tries between them than one attempt at a time would.
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

// loginAttempt is one login under way, already counted as failed on its
// subjects. A nil attempt (no throttle) records nothing.
type loginAttempt struct {
	t        *LoginThrottle
	account  string
	subjects []string // those counted: the account's, then the address's
}

func accountKey(name string) string { return "account:" + name }
func addressKey(addr string) string { return "address:" + addr }

func (t *LoginThrottle) free(subject string) int {
	if strings.HasPrefix(subject, "account:") {
		return t.policy.AccountFailures
	}
	return t.policy.AddressFailures
}

// wait returns how long after the last of failures an attempt must wait.
func (t *LoginThrottle) wait(failures, free int) time.Duration {
	n := failures - free
	switch {
	case n < 0:
		return 0
	case n >= 30:
		return t.policy.MaxWait
	}
	return min(time.Duration(1<<n)*time.Second, t.policy.MaxWait)
}

// waitSQL is wait as an SQL expression over the row's failures, in
// milliseconds: a CASE over the doublings below the cap, so it needs no
// power function on either dialect.
func (t *LoginThrottle) waitSQL(free int) string {
	var b strings.Builder
	b.WriteString("CASE")
	fmt.Fprintf(&b, " WHEN failures < %d THEN 0", free)
	for n := 0; n < 30; n++ {
		w := t.wait(free+n, free)
		if w >= t.policy.MaxWait {
			break
		}
		fmt.Fprintf(&b, " WHEN failures = %d THEN %d", free+n, w.Milliseconds())
	}
	fmt.Fprintf(&b, " ELSE %d END", t.policy.MaxWait.Milliseconds())
	return b.String()
}

// begin counts an attempt for the account from the address (the address
// may be "": the change-password route counts per account only) and
// returns it, or ERATELIMITED with the time to wait, counting nothing.
func (t *LoginThrottle) begin(ctx context.Context, account, address string) (*loginAttempt, error) {
	a := &loginAttempt{t: t, account: accountKey(account)}
	subjects := []string{a.account}
	if address != "" {
		subjects = append(subjects, addressKey(address))
	}
	for _, s := range subjects {
		ok, err := t.take(ctx, s)
		if err != nil {
			return nil, errors.Join(err, a.undo(ctx))
		}
		if !ok {
			wait, err := t.waitFor(ctx, s)
			return nil, errors.Join(tooManyLogins(wait), err, a.undo(ctx))
		}
		a.subjects = append(a.subjects, s)
	}
	return a, nil
}

// take counts one attempt on subject if its wait is over, in one statement,
// and reports whether it did.
func (t *LoginThrottle) take(ctx context.Context, subject string) (bool, error) {
	now := t.db.Now().UnixMilli()
	forgotten := now - t.policy.Forget.Milliseconds()
	g := t.db.gorm.WithContext(ctx)
	if err := g.Exec(`INSERT INTO login_failures (subject, failures, last_failure_ms) VALUES (?, 0, 0) ON CONFLICT (subject) DO NOTHING`, subject).Error; err != nil {
		return false, err
	}
	res := g.Exec(`UPDATE login_failures
		SET failures = CASE WHEN last_failure_ms <= ? THEN 1 ELSE failures + 1 END, last_failure_ms = ?
		WHERE subject = ? AND (last_failure_ms <= ? OR last_failure_ms + `+t.waitSQL(t.free(subject))+` <= ?)`,
		forgotten, now, subject, forgotten, now)
	if res.Error != nil {
		return false, res.Error
	}
	return res.RowsAffected == 1, nil
}

// waitFor returns how long until subject's wait is over.
func (t *LoginThrottle) waitFor(ctx context.Context, subject string) (time.Duration, error) {
	var r loginFailureRow
	err := t.db.gorm.WithContext(ctx).Where("subject = ?", subject).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return time.Second, nil // pruned meanwhile: try again
	}
	if err != nil {
		return 0, err
	}
	until := r.LastFailureMs + t.wait(r.Failures, t.free(subject)).Milliseconds()
	return time.Duration(until-t.db.Now().UnixMilli()) * time.Millisecond, nil
}

func tooManyLogins(wait time.Duration) error {
	e := server.Errorf(server.ERATELIMITED, "登录失败次数过多，请稍后再试 (too many failed logins; try again later).")
	e.RetryAfter = max(wait, time.Second)
	return e
}

// undo takes back the attempt's counts: it did not fail (the server was too
// busy to check it, or another subject held it back).
func (a *loginAttempt) undo(ctx context.Context) error {
	if a == nil {
		return nil
	}
	for _, s := range a.subjects {
		if err := a.t.db.gorm.WithContext(ctx).Exec(`UPDATE login_failures SET failures = failures - 1 WHERE subject = ? AND failures > 0`, s).Error; err != nil {
			return err
		}
	}
	a.subjects = nil
	return nil
}

// failed leaves the attempt counted; now and then it prunes forgotten counters.
func (a *loginAttempt) failed(ctx context.Context) error {
	if a == nil {
		return nil
	}
	return a.t.prune(ctx)
}

// succeeded resets the account's counter and takes back the attempt on the
// address: one good password must not buy a sprayer fresh tries on other
// accounts, nor cost an office behind one address a try.
func (a *loginAttempt) succeeded(ctx context.Context) error {
	if a == nil {
		return nil
	}
	if err := a.t.db.gorm.WithContext(ctx).Where("subject = ?", a.account).Delete(&loginFailureRow{}).Error; err != nil {
		return err
	}
	a.subjects = a.subjects[1:]
	return a.undo(ctx)
}

// prune deletes forgotten counters, at most once a minute per process, so
// made-up usernames do not pile up.
func (t *LoginThrottle) prune(ctx context.Context) error {
	t.mu.Lock()
	now := t.db.Now()
	if now.Sub(t.lastPrune) < time.Minute {
		t.mu.Unlock()
		return nil
	}
	t.lastPrune = now
	t.mu.Unlock()
	forgotten := now.UnixMilli() - t.policy.Forget.Milliseconds()
	return t.db.gorm.WithContext(ctx).Where("last_failure_ms <= ?", forgotten).Delete(&loginFailureRow{}).Error
}
