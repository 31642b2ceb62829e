package sdk

import (
	"context"
	"errors"
	"net/http"
	"time"

	"gorm.io/gorm"

	"github.com/spotcheck/spotcheck/syncproto"
)

// Long polls: while Watch is online and idle it keeps a pull open on the
// server (syncproto.PullRequest.WaitSeconds), which answers as soon as a
// change for this inspector commits — a new or changed packet, a teammate's
// answer — so it reaches the device within seconds. A plain Sync never waits.

// longPollWait is the longest Watch asks the server to hold a pull; the
// server may hold it for less.
const longPollWait = 25 * time.Second

// longPollLimit is the page size of a pull that waits. What arrives while
// waiting is usually a few changes; more are fetched by the Sync that
// follows, so a long answer never runs into the request timeout.
const longPollLimit = 100

// errNoLongPoll: the server or the configuration leaves no room for a long
// poll in this idle period; wait on the device instead.
var errNoLongPoll = errors.New("sdk: no long poll")

// longPollSeconds is how long a pull may wait: longPollWait, at most half
// the HTTP client's timeout so that the answer has time to arrive, at most
// until; 0 when the server does not take long polls.
func (c *Client) longPollSeconds(until time.Time) int {
	if c.noLongPoll.Load() {
		return 0
	}
	w := min(longPollWait, time.Until(until))
	if t := c.http.Timeout; t > 0 {
		w = min(w, t/2)
	}
	return int(w / time.Second)
}

// awaitChanges holds pulls open on the server until changes arrive that
// need a Sync to fetch the rest, a local change is made (which a Sync then
// pushes), or until; changes that arrive are applied as they come. It
// returns nil when a Sync is due, errNoLongPoll when it did not wait at all,
// or the error of a failed pull.
func (c *Client) awaitChanges(ctx context.Context, until time.Time) error {
	for waited := false; ; waited = true {
		wait := c.longPollSeconds(until)
		if wait < 1 {
			if waited {
				return nil
			}
			return errNoLongPoll
		}
		more, kicked, err := c.waitPull(ctx, wait)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case kicked || more:
			return nil
		case err != nil:
			var ae *APIError
			if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
				// A server from before long polls refuses the unknown
				// field: sync on the interval as before.
				c.noLongPoll.Store(true)
				c.log.Info("the server does not hold pulls open; syncing on the interval", "err", err)
				if waited {
					return nil
				}
				return errNoLongPoll
			}
			return err
		}
	}
}

// waitPull sends one pull that waits up to wait seconds and applies what it
// brings, unless a Sync moved the cursor meanwhile (the changes are then
// pulled again from there). A local change cancels it (kicked). more reports
// that the server has more changes than the page held.
func (c *Client) waitPull(ctx context.Context, wait int) (more, kicked bool, err error) {
	d, err := c.device(c.db)
	if err != nil {
		return false, false, err
	}
	if !d.DeviceID.Valid {
		return false, false, ErrNotEnrolled
	}
	cursor, err := pullCursor(c.db)
	if err != nil {
		return false, false, err
	}
	wctx, cancel := context.WithCancel(ctx)
	watched := make(chan bool, 1)
	go func() {
		select {
		case <-c.kick:
			cancel()
			watched <- true
		case <-wctx.Done():
			watched <- false
		}
	}()
	var resp syncproto.PullResponse
	err = c.postJSON(wctx, syncproto.PathPull, syncproto.PullRequest{
		DeviceID: d.DeviceID.Int64, Cursor: cursor, Limit: longPollLimit, WaitSeconds: wait,
	}, &resp, false)
	cancel()
	kicked = <-watched
	if err != nil {
		if kicked && ctx.Err() == nil {
			return false, true, nil
		}
		return false, kicked, err
	}
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	now, err := pullCursor(c.db)
	if err != nil {
		return false, kicked, err
	}
	if now != cursor {
		return false, kicked, nil
	}
	if err := c.tx(func(tx *gorm.DB) error { return applyPull(tx, &resp) }); err != nil {
		return false, kicked, err
	}
	if len(resp.Changes) > 0 {
		c.log.Debug("changes arrived while waiting", "changes", len(resp.Changes), "more", resp.More)
		c.updateProgress(func(p *Progress) { p.ItemsDown += len(resp.Changes) })
	}
	return resp.More, kicked, nil
}
