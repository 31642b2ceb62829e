package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// waitResult is the outcome of a pull sent in the background.
type waitResult struct {
	status int
	body   []byte
	resp   syncproto.PullResponse
	took   time.Duration
	err    error
}

// startPull sends a pull in the background; the result arrives on the channel.
func startPull(t *testing.T, d *fieldDevice, req syncproto.PullRequest) <-chan waitResult {
	t.Helper()
	return startPullContext(t, context.Background(), d, req)
}

func startPullContext(t *testing.T, ctx context.Context, d *fieldDevice, req syncproto.PullRequest) <-chan waitResult {
	t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	httpReq := d.request(t, "POST", syncproto.PathPull, b).WithContext(ctx)
	out := make(chan waitResult, 1)
	go func() {
		start := time.Now()
		var r waitResult
		resp, err := http.DefaultClient.Do(httpReq)
		if err == nil {
			r.status = resp.StatusCode
			r.body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && r.status == http.StatusOK {
				err = json.Unmarshal(r.body, &r.resp)
			}
		}
		r.took, r.err = time.Since(start), err
		out <- r
	}()
	return out
}

// waitingPulls reads how many pulls wait, from the metrics.
func waitingPulls(t *testing.T, h *apptest.Harness) int {
	t.Helper()
	r := h.Do(t, "GET", "/metrics", apptest.MetricsToken, nil)
	sc := bufio.NewScanner(strings.NewReader(string(r.Body)))
	for sc.Scan() {
		var n float64
		if _, err := fmt.Sscanf(sc.Text(), "spotcheck_sync_pulls_waiting %g", &n); err == nil {
			return int(n)
		}
	}
	t.Fatalf("no spotcheck_sync_pulls_waiting in the metrics")
	return 0
}

// untilWaiting returns once n pulls wait on the server, checking the
// metrics every 10 ms; the deadline only bounds a failure.
func untilWaiting(t *testing.T, h *apptest.Harness, n int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); waitingPulls(t, h) != n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d pulls waiting, want %d", waitingPulls(t, h), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func result(t *testing.T, ch <-chan waitResult, within time.Duration) waitResult {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil || r.status != http.StatusOK {
			t.Fatalf("pull: %d %v %s", r.status, r.err, r.body)
		}
		return r
	case <-time.After(within):
		t.Fatalf("the pull did not answer within %s", within)
	}
	return waitResult{}
}

// A pull with wait_seconds at a current cursor waits; a teammate's change
// ends the wait at once, with the change; another team's change does not,
// and the pull answers empty when the wait is over. Without wait_seconds
// (as every client before long polls) it answers at once, and the wait has
// bounds.
func TestSync_LongPoll(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		f := newSyncCampaign(t, h, 4, h.DeptA, h.DeptB)
		p := f.packetOf(t, "insp-a1")[0]
		var mateName, otherName string
		for _, u := range f.Team[p.ID] {
			if u != "insp-a1" {
				mateName = u
			}
		}
		var other string // a packet of the other team
		for _, q := range f.Packets {
			if !slices.Contains(f.Team[q.ID], "insp-a1") {
				other, otherName = q.ID, f.Team[q.ID][0]
			}
		}
		a1, mate, stranger := newFieldDevice(t, h, "insp-a1"), newFieldDevice(t, h, mateName), newFieldDevice(t, h, otherName)
		_, head := a1.pullAll(t, 0)

		// Nothing new and no wait: at once, as before long polls. Bounds on
		// time below only tell "at once" from a wait of 20 s or more (the
		// server holds pulls up to 25 s), with a wide margin; nothing asserts
		// how fast the server is.
		const atOnce = 10 * time.Second
		start := time.Now()
		old := fmt.Sprintf(`{"device_id":%d,"cursor":%q,"limit":100}`, a1.ID, head.Cursor)
		r := h.Send(t, a1.request(t, "POST", syncproto.PathPull, []byte(old)))
		if r.Status != http.StatusOK || time.Since(start) > atOnce {
			t.Fatalf("plain pull: %d after %s: %s", r.Status, time.Since(start), r.Body)
		}

		// A teammate's answer ends the wait with the change: the server holds
		// the pull for its 25 s (MaxPullWait), so an answer within atOnce was
		// woken by the push.
		pending := startPull(t, a1, syncproto.PullRequest{DeviceID: a1.ID, Cursor: head.Cursor, WaitSeconds: syncproto.MaxPullWaitSeconds})
		untilWaiting(t, h, 1)
		pushed := time.Now()
		mate.push(t, mate.answer(p.ID, answerOf(f, deptOf(h, mateName), syncproto.ResultCompliant, 0)))
		got := result(t, pending, atOnce)
		if len(got.resp.Changes) != 1 || got.resp.Changes[0].Kind != syncproto.ChangeAnswer || got.resp.Changes[0].PacketID != p.ID {
			t.Fatalf("woken pull: %s", got.body)
		}
		t.Logf("woken %s after the push", time.Since(pushed).Round(time.Millisecond))
		untilWaiting(t, h, 0)

		// Another team's change does not concern insp-a1: the pull is still
		// waiting once that change has committed, and answers empty when its
		// wait is over.
		cursor := got.resp.Cursor
		pending = startPull(t, a1, syncproto.PullRequest{DeviceID: a1.ID, Cursor: cursor, WaitSeconds: 2})
		untilWaiting(t, h, 1)
		stranger.push(t, stranger.answer(other, answerOf(f, deptOf(h, otherName), syncproto.ResultNotApplicable, 0)))
		if n := waitingPulls(t, h); n != 1 {
			t.Fatalf("%d pulls waiting after another team's change, want 1", n)
		}
		got = result(t, pending, time.Minute)
		if len(got.resp.Changes) != 0 || got.resp.More || got.resp.Reset {
			t.Fatalf("pull after another team's change: %s after %s", got.body, got.took)
		}

		// A cursor that is not current answers at once, wait or not.
		start = time.Now()
		r = a1.post(t, syncproto.PathPull, syncproto.PullRequest{DeviceID: a1.ID, Cursor: head.Cursor, WaitSeconds: 20})
		var resp syncproto.PullResponse
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &resp) != nil || len(resp.Changes) == 0 || time.Since(start) > atOnce {
			t.Fatalf("waiting pull behind the head: %d after %s: %s", r.Status, time.Since(start), r.Body)
		}

		// A device that stops waiting is routine: counted apart (499), not
		// a server error.
		ctx, cancel := context.WithCancel(context.Background())
		pending = startPullContext(t, ctx, a1, syncproto.PullRequest{DeviceID: a1.ID, Cursor: got.resp.Cursor, WaitSeconds: 20})
		untilWaiting(t, h, 1)
		cancel()
		if r := <-pending; r.err == nil {
			t.Fatalf("cancelled pull: %d %s", r.status, r.body)
		}
		untilWaiting(t, h, 0)
		metrics := string(h.Do(t, "GET", "/metrics", apptest.MetricsToken, nil).Body)
		if !strings.Contains(metrics, `spotcheck_http_requests_total{method="POST",route="/v1/sync/pull?wait",status="499"} 1`) ||
			strings.Contains(metrics, `status="500"`) {
			t.Fatalf("metrics after a cancelled wait:\n%s", grepLines(metrics, "spotcheck_http_requests_total"))
		}

		for _, wait := range []int{-1, syncproto.MaxPullWaitSeconds + 1} {
			r := a1.post(t, syncproto.PathPull, syncproto.PullRequest{DeviceID: a1.ID, Cursor: head.Cursor, WaitSeconds: wait})
			if r.Status != http.StatusBadRequest || r.Error().Code != syncproto.CodeInvalid {
				t.Fatalf("wait_seconds %d: %d %s", wait, r.Status, r.Body)
			}
		}
	})
}

// A waiting pull does not hold up a graceful shutdown: it answers at once,
// empty, and the server stops.
func TestSync_LongPollShutdown(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		newSyncCampaign(t, h, 4, h.DeptA, h.DeptB)
		a1 := newFieldDevice(t, h, "insp-a1")
		_, head := a1.pullAll(t, 0)
		pending := startPull(t, a1, syncproto.PullRequest{DeviceID: a1.ID, Cursor: head.Cursor, WaitSeconds: syncproto.MaxPullWaitSeconds})
		untilWaiting(t, h, 1)

		// The server would hold the pull 25 s: a shutdown that waited for it
		// would hit this deadline (a generous bound, not a measure of speed).
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		start := time.Now()
		if err := h.App.API.Shutdown(ctx); err != nil {
			t.Fatalf("shutdown with a pull waiting: %v", err)
		}
		got := result(t, pending, 20*time.Second)
		if len(got.resp.Changes) != 0 || got.resp.Cursor != head.Cursor {
			t.Fatalf("the waiting pull answered %s", got.body)
		}
		t.Logf("shutdown took %s; the pull answered after %s", time.Since(start).Round(time.Millisecond), got.took.Round(time.Millisecond))
	})
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
