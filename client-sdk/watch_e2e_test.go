package sdk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// seenRequest is a request a device sent.
type seenRequest struct {
	path string
	wait bool // a pull that may wait (wait_seconds set)
}

// watchedLink is a real transport that records the device's requests and
// counts the pulls waiting on the server. With oldServer it answers every
// pull that would wait as a server from before long polls does: 400, unknown
// field.
type watchedLink struct {
	oldServer bool
	waiting   atomic.Int64
	mu        sync.Mutex
	seen      []seenRequest
	events    chan struct{} // a request started or ended; see changed
}

// changed returns a channel that receives (at most one pending value) when a
// request starts or ends: the device's state can only change around them.
func (l *watchedLink) changed() chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.events == nil {
		l.events = make(chan struct{}, 1)
	}
	return l.events
}

func (l *watchedLink) signal() {
	ch := l.changed()
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (l *watchedLink) RoundTrip(r *http.Request) (*http.Response, error) {
	defer l.signal()
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	wait := r.URL.Path == syncproto.PathPull && bytes.Contains(body, []byte(`"wait_seconds"`))
	l.mu.Lock()
	l.seen = append(l.seen, seenRequest{r.URL.Path, wait})
	l.mu.Unlock()
	l.signal()
	if wait && l.oldServer {
		return &http.Response{StatusCode: http.StatusBadRequest, Request: r, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"code":"invalid","message":"请求无效 (json: unknown field \"wait_seconds\")."}`))}, nil
	}
	if wait {
		l.waiting.Add(1)
		l.signal()
		defer l.waiting.Add(-1)
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && wait {
		// Count the pull as waiting until its answer has been read.
		b, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		if rerr != nil {
			return nil, rerr
		}
	}
	return resp, err
}

// requests returns the requests sent since the n-th.
func (l *watchedLink) requests(from int) []seenRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]seenRequest(nil), l.seen[from:]...)
}

func (l *watchedLink) sent() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}

// watchDevice enrols username on a new device that talks through link.
func watchDevice(t *testing.T, h *apptest.Harness, username string, link *watchedLink) *Client {
	t.Helper()
	c, err := Open(t.TempDir(), Config{ServerURL: h.URL, MaxAttempts: 2, BackoffBase: 10 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		HTTPClient: &http.Client{Transport: link, Timeout: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Enrol(context.Background(), h.URL, username, apptest.Password, "tablet"); err != nil {
		t.Fatal(err)
	}
	return c
}

// eventuallyBound bounds a wait for a failure report only: nothing is
// asserted about how long things take.
const eventuallyBound = time.Minute

// eventually checks cond each time a request of the device through link
// starts or ends (its state changes only around them) until cond holds, and
// returns how long that took, for the log. The device acts on an answer
// after its request has ended, so cond is also checked again every few
// milliseconds: the last request's end may come before what it changes. It
// fails the test if cond does not hold within eventuallyBound.
func eventually(t *testing.T, link *watchedLink, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	bound := time.NewTimer(eventuallyBound)
	defer bound.Stop()
	again := time.NewTicker(5 * time.Millisecond)
	defer again.Stop()
	for !cond() {
		select {
		case <-link.changed():
		case <-again.C:
		case <-bound.C:
			t.Fatalf("%s: not within %s", what, eventuallyBound)
		}
	}
	return time.Since(start)
}

// A device in Watch mode, online and idle, receives what changes on the
// server for its inspector within seconds, without a sync: packets issued
// for its team, a teammate's answer. The interval is an hour, so nothing
// but the pull it keeps open on the server can bring them. A local change
// still syncs at once, stopping Watch is not held up by the open pull, and
// a plain Sync stays one pull that does not wait.
func TestE2EWatchReceivesChangesWithinSeconds(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		link := &watchedLink{}
		c := watchDevice(t, h, "insp-a1", link)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- c.Watch(ctx, time.Hour) }()
		eventually(t, link, "Watch holds a pull open", func() bool { return link.waiting.Load() == 1 })
		from := link.sent()

		// The lead coordinator issues a campaign: insp-a1's team's packets
		// reach the device.
		is := h.IssueCampaign(t, apptest.CampaignSpec{})
		mine := is.PacketsOf("insp-a1")
		if len(mine) == 0 {
			t.Fatal("insp-a1 is on no team")
		}
		took := eventually(t, link, "the issued packets reach the watching device", func() bool {
			for _, p := range mine {
				if _, err := c.Packet(context.Background(), p.ID); err != nil {
					return false
				}
			}
			return true
		})
		t.Logf("%d issued packets on the device %s after issuing", len(mine), took.Round(time.Millisecond))

		// A teammate answers an item and syncs: the server's state of it
		// reaches insp-a1's device.
		p := mine[0]
		var mate string
		for _, u := range is.Members[p.ID] {
			if u != "insp-a1" {
				mate = u
			}
		}
		c2 := watchDevice(t, h, mate, &watchedLink{})
		if err := c2.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		// The teammate answers the first item of their own department's section.
		got, err := c2.Packet(context.Background(), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		sec := p.Content.Sections[0]
		for _, s := range p.Content.Sections {
			if s.Department == got.Section.Department {
				sec = s
			}
		}
		if _, err := c2.Answer(context.Background(), p.ID, AnswerInput{Department: sec.Department, ItemCode: sec.Items[0].Code, Result: syncproto.ResultCompliant}); err != nil {
			t.Fatal(err)
		}
		if err := c2.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		answered := func(c *Client) bool {
			got, err := c.Packet(context.Background(), p.ID)
			return err == nil && len(got.Answers) == 1 && got.Answers[0].ServerVersion == 1 && !got.Answers[0].Pending
		}
		took = eventually(t, link, "the teammate's answer reaches the watching device", func() bool { return answered(c) })
		t.Logf("the teammate's answer on the device %s after the teammate's sync", took.Round(time.Millisecond))
		for _, r := range link.requests(from) {
			if r.path != syncproto.PathPull || !r.wait {
				t.Fatalf("the watching device sent %s (waiting %v); only pulls that wait were expected", r.path, r.wait)
			}
		}

		// A local change ends the open pull and is pushed at once.
		if err := c.RecordCertificates(context.Background(), p.ID, []syncproto.CertificateShown{{InspectorID: p.Content.Team[0].InspectorID, CertificateNumber: p.Content.Team[0].CertificateNumber}}, nil); err != nil {
			t.Fatal(err)
		}
		eventually(t, link, "the local change is pushed", func() bool { st, _ := c.Status(context.Background()); return st.Outbox == 0 })
		eventually(t, link, "Watch holds a pull open again", func() bool { return link.waiting.Load() == 1 })

		// Stopping Watch does not wait for the open pull, which the server
		// would hold for 25 s: the bound is generous below that.
		start := time.Now()
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Watch: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("Watch waited for its open pull to end")
		}
		t.Logf("Watch stopped %s after cancel", time.Since(start).Round(time.Millisecond))

		// A sync with nothing to do is one pull that does not wait.
		from = link.sent()
		start = time.Now()
		if err := c.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		// A pull that waited would take the server's 25 s; the bound is generous below that.
		if got := link.requests(from); len(got) != 1 || got[0].path != syncproto.PathPull || got[0].wait || time.Since(start) > 15*time.Second {
			t.Fatalf("a no-op sync sent %+v and took %s", got, time.Since(start))
		}
	})
}

// Against a server from before long polls, Watch falls back to syncing on
// its interval: one refused pull, no retry loop, and local changes still
// sync at once.
func TestE2EWatchOldServer(t *testing.T) {
	h := apptest.New(t, storetest.MustOpenDB(t, store.SQLite))
	is := h.IssueCampaign(t, apptest.CampaignSpec{})
	p := is.PacketsOf("insp-a1")[0]
	link := &watchedLink{oldServer: true}
	c := watchDevice(t, h, "insp-a1", link)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Watch(ctx, time.Hour) }()
	eventually(t, link, "the first sync brings the packet", func() bool { _, err := c.Packet(context.Background(), p.ID); return err == nil })
	eventually(t, link, "the refused pull turns long polls off", c.noLongPoll.Load)
	waits := 0
	for _, r := range link.requests(0) {
		if r.wait {
			waits++
		}
	}
	if waits != 1 || !c.noLongPoll.Load() {
		t.Fatalf("%d pulls that wait sent to an old server (long polls off: %v), want 1", waits, c.noLongPoll.Load())
	}
	from := link.sent()
	if err := c.RecordCertificates(context.Background(), p.ID, []syncproto.CertificateShown{{InspectorID: p.Content.Team[0].InspectorID, CertificateNumber: p.Content.Team[0].CertificateNumber}}, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, link, "the local change is pushed", func() bool { st, _ := c.Status(context.Background()); return st.Outbox == 0 })
	for _, r := range link.requests(from) {
		if r.wait {
			t.Fatalf("a pull that waits sent after the server refused one")
		}
	}
	cancel()
	<-done
}
