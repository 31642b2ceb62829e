package devicedaybench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/spotcheck/spotcheck/internal/faultnet"
)

// VehicleLink is the benchmark's link: 1 Mbit/s up (shared by all of the
// device's connections), downlink unthrottled, 150 ms RTT, each connection
// reset after ~2 minutes.
func VehicleLink() faultnet.Link {
	return faultnet.Link{
		UpBytesPerSecond: 125_000,
		RTT:              150 * time.Millisecond,
		CutEvery:         2 * time.Minute,
		Mode:             faultnet.CutReset,
	}
}

// Env is what a SyncFunc gets: where the server is (through the proxy) and
// an HTTP client that counts requests. An SDK that takes an *http.Client
// should use Client so round trips are counted; otherwise report them in
// Config.RoundTrips.
type Env struct {
	BaseURL string
	Client  *http.Client
}

// SyncFunc runs one sync of the device against env.BaseURL, e.g.
//
//	func(ctx context.Context, env devicedaybench.Env) error {
//		return device.Sync(ctx) // device opened with env.BaseURL and env.Client
//	}
//
// Run calls it again after an error, as an app's automatic mode would, so
// it must be safe to repeat (the SDK's Sync is).
type SyncFunc func(ctx context.Context, env Env) error

// Config tunes Run. A zero Link means VehicleLink (for a clean baseline
// use VehicleLink with CutEvery 0, not a zero Link); zero Seed means 1;
// zero MaxAttempts means 100.
type Config struct {
	Link        faultnet.Link
	Seed        uint64        // draws each connection's cut time
	Jitter      float64       // cut time spread, ±fraction of CutEvery; default 0.25
	MaxAttempts int           // sync calls before giving up
	RetryDelay  time.Duration // pause between attempts; default 0 (the SDK backs off)
	// RoundTrips, if set, replaces the request counter (for an SDK that
	// cannot take Env.Client): it returns requests made so far.
	RoundTrips func() int
}

// Phase holds the figures of one sync (until success) through the proxy.
type Phase struct {
	Wall       time.Duration
	Attempts   int   // sync calls, the last one successful
	RoundTrips int   // HTTP requests
	Conns      int   // TCP connections opened
	Cuts       int   // connections cut by the link, idle keep-alive ones included
	UpWire     int64 // bytes the device put on the link (read by the proxy)
	DownWire   int64 // bytes the server put on the link
	UpLost     int64 // up bytes lost in flight at cuts (sent, never delivered)
}

// Result is one benchmark run.
type Result struct {
	Link         faultnet.Link
	PayloadBytes int64
	Ideal        time.Duration // PayloadBytes ÷ up rate
	Sync         Phase         // the day's sync
	NoOp         Phase         // an immediate second sync with nothing to send
}

// WallRatio is wall time over payload ÷ link rate (goal ≤ 1.10).
func (r Result) WallRatio() float64 {
	if r.Ideal <= 0 {
		return 0
	}
	return r.Sync.Wall.Seconds() / r.Ideal.Seconds()
}

// WireRatio is up bytes on the wire over the payload (goal ≤ 1.05).
func (r Result) WireRatio() float64 {
	if r.PayloadBytes == 0 {
		return 0
	}
	return float64(r.Sync.UpWire) / float64(r.PayloadBytes)
}

// ResentPerCut estimates bytes re-sent per cut against a clean run of the
// same payload (same SDK, fresh server, Link with no cuts): the extra up
// bytes this run needed, divided by its cuts. Goal: ≤ one chunk.
func (r Result) ResentPerCut(clean Result) int64 {
	if r.Sync.Cuts == 0 {
		return 0
	}
	return max(r.Sync.UpWire-clean.Sync.UpWire, 0) / int64(r.Sync.Cuts)
}

// Markdown is a table row for docs/benchmarks.md:
// | payload | link | wall | ideal | wall/ideal | up on wire | wire/payload | conns | cuts | attempts | round trips | no-op round trips |
func (r Result) Markdown() string {
	return fmt.Sprintf("| %.1f MB | %s | %v | %v | %.2f× | %.1f MB | %.3f | %d | %d | %d | %d | %d |",
		float64(r.PayloadBytes)/1e6, linkString(r.Link), r.Sync.Wall.Round(100*time.Millisecond), r.Ideal.Round(100*time.Millisecond),
		r.WallRatio(), float64(r.Sync.UpWire)/1e6, r.WireRatio(), r.Sync.Conns, r.Sync.Cuts, r.Sync.Attempts,
		r.Sync.RoundTrips, r.NoOp.RoundTrips)
}

func linkString(l faultnet.Link) string {
	s := "unlimited"
	if l.UpBytesPerSecond > 0 {
		s = fmt.Sprintf("%g Mbit/s up", float64(l.UpBytesPerSecond)*8/1e6)
	}
	s += fmt.Sprintf(", %v RTT", l.RTT)
	if l.CutEvery > 0 {
		s += fmt.Sprintf(", cut every ~%v", l.CutEvery)
	}
	return s
}

// Run measures one device-day sync. The caller has already loaded payload
// into a device and started the server at upstream ("127.0.0.1:port");
// Run puts a faultnet proxy shaped by cfg.Link in front of it, calls sync
// until it succeeds (at most cfg.MaxAttempts), then once more for the
// no-op figures. Cuts apply to every connection, so a connection lives
// CutEvery ± Jitter at most, wherever the transfer is.
func Run(ctx context.Context, upstream string, payloadBytes int64, cfg Config, sync SyncFunc) (Result, error) {
	if cfg.Link == (faultnet.Link{}) {
		cfg.Link = VehicleLink()
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = 0.25
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 100
	}
	link := cfg.Link
	plan := faultnet.Seeded(cfg.Seed, func(r *rand.Rand, _ int) faultnet.Faults {
		f := faultnet.Faults{
			Up:   faultnet.DirFaults{Latency: link.RTT / 2},
			Down: faultnet.DirFaults{Latency: link.RTT - link.RTT/2},
			Mode: link.Mode,
		}
		if link.CutEvery > 0 {
			spread := 1 + cfg.Jitter*(2*r.Float64()-1)
			f.CutAfter = time.Duration(float64(link.CutEvery) * spread)
		}
		return f
	})
	p, err := faultnet.New(upstream, plan)
	if err != nil {
		return Result{}, err
	}
	defer p.Close()
	// The rate is the link's, shared by every connection of the device.
	p.SetLinkRate(link.UpBytesPerSecond, link.DownBytesPerSecond)

	var requests atomic.Int64
	tr := &http.Transport{ForceAttemptHTTP2: false, MaxIdleConnsPerHost: 4}
	defer tr.CloseIdleConnections()
	env := Env{BaseURL: p.URL(), Client: &http.Client{Transport: countingTransport{tr, &requests}}}
	roundTrips := func() int { return int(requests.Load()) }
	if cfg.RoundTrips != nil {
		roundTrips = cfg.RoundTrips
	}

	res := Result{Link: link, PayloadBytes: payloadBytes}
	if link.UpBytesPerSecond > 0 {
		res.Ideal = time.Duration(float64(payloadBytes) / float64(link.UpBytesPerSecond) * float64(time.Second))
	}
	res.Sync, err = phase(ctx, p, env, roundTrips, cfg, sync)
	if err != nil {
		return res, fmt.Errorf("device-day sync: %w", err)
	}
	res.NoOp, err = phase(ctx, p, env, roundTrips, Config{MaxAttempts: 1}, sync)
	if err != nil {
		return res, fmt.Errorf("no-op sync: %w", err)
	}
	return res, nil
}

func phase(ctx context.Context, p *faultnet.Proxy, env Env, roundTrips func() int, cfg Config, sync SyncFunc) (Phase, error) {
	before, rt0 := p.Stats(), roundTrips()
	start := time.Now()
	var ph Phase
	var err error
	for ph.Attempts < cfg.MaxAttempts {
		ph.Attempts++
		if err = sync(ctx, env); err == nil || ctx.Err() != nil {
			break
		}
		if cfg.RetryDelay > 0 {
			select {
			case <-time.After(cfg.RetryDelay):
			case <-ctx.Done():
			}
		}
	}
	ph.Wall = time.Since(start)
	after := p.Stats()
	ph.RoundTrips = roundTrips() - rt0
	ph.Conns = after.Conns - before.Conns
	ph.Cuts = after.Cuts - before.Cuts
	ph.UpWire = after.UpRead - before.UpRead
	ph.DownWire = after.DownRead - before.DownRead
	ph.UpLost = ph.UpWire - (after.Up - before.Up)
	if err != nil {
		return ph, fmt.Errorf("after %d attempts: %w", ph.Attempts, errors.Join(err, ctx.Err()))
	}
	return ph, nil
}

type countingTransport struct {
	rt http.RoundTripper
	n  *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}
