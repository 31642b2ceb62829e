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
// Measure calls it again after an error, as an app's automatic mode would,
// so it must be safe to repeat (the SDK's Sync is).
type SyncFunc func(ctx context.Context, env Env) error

// Config tunes a Bench. A zero Link means VehicleLink (for a clean baseline
// use VehicleLink with CutEvery 0, not a zero Link); zero Seed means 1;
// zero MaxAttempts means 100.
type Config struct {
	Link        faultnet.Link
	Seed        uint64        // draws the time of each drop
	Jitter      float64       // drop interval spread, ±fraction of CutEvery; default 0.25
	MaxAttempts int           // sync calls before giving up
	RetryDelay  time.Duration // pause between attempts; default 0 (the SDK backs off)
	// RoundTrips, if set, replaces the request counter (for an SDK that
	// cannot take Env.Client): it returns requests made so far.
	RoundTrips func() int
	// OnDrop, if set, is called right after each drop (for a timeline).
	OnDrop func()
}

// Phase holds the figures of one sync (until success) through the proxy.
type Phase struct {
	Wall       time.Duration
	Attempts   int   // sync calls, the last one successful
	RoundTrips int   // HTTP requests
	Conns      int   // TCP connections opened
	Drops      int   // times the link dropped (every live connection cut at once)
	Cuts       int   // connections cut, idle keep-alive ones included
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

// ResentPerDrop estimates bytes re-sent per drop against a clean run of the
// same payload (same SDK, fresh server, Link with no cuts): the extra up
// bytes this run needed, divided by its drops. Goal: ≤ one chunk.
func (r Result) ResentPerDrop(clean Result) int64 {
	if r.Sync.Drops == 0 {
		return 0
	}
	return max(r.Sync.UpWire-clean.Sync.UpWire, 0) / int64(r.Sync.Drops)
}

// Markdown is a table row for docs/benchmarks.md:
// | payload | link | wall | ideal | wall/ideal | up on wire | wire/payload | conns | drops | attempts | round trips | no-op round trips |
func (r Result) Markdown() string {
	return fmt.Sprintf("| %.1f MB | %s | %v | %v | %.2f× | %.1f MB | %.3f | %d | %d | %d | %d | %d |",
		float64(r.PayloadBytes)/1e6, linkString(r.Link), r.Sync.Wall.Round(100*time.Millisecond), r.Ideal.Round(100*time.Millisecond),
		r.WallRatio(), float64(r.Sync.UpWire)/1e6, r.WireRatio(), r.Sync.Conns, r.Sync.Drops, r.Sync.Attempts,
		r.Sync.RoundTrips, r.NoOp.RoundTrips)
}

func linkString(l faultnet.Link) string {
	s := "unlimited"
	if l.UpBytesPerSecond > 0 {
		s = fmt.Sprintf("%g Mbit/s up", float64(l.UpBytesPerSecond)*8/1e6)
	}
	s += fmt.Sprintf(", %v RTT", l.RTT)
	if l.CutEvery > 0 {
		s += fmt.Sprintf(", drop every ~%v", l.CutEvery)
	}
	return s
}

// Bench is a faultnet proxy shaped like cfg.Link in front of a server. The
// caller sets the device up through Env (enrolment, the morning's pull; the
// link is shaped but never drops then), loads the day's work, and calls
// Measure.
type Bench struct {
	cfg      Config
	proxy    *faultnet.Proxy
	env      Env
	tr       *http.Transport
	requests atomic.Int64
	rng      *rand.Rand
}

// Start puts the proxy in front of upstream ("127.0.0.1:port").
func Start(upstream string, cfg Config) (*Bench, error) {
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
	p, err := faultnet.New(upstream, faultnet.Every(faultnet.Faults{
		Up:   faultnet.DirFaults{Latency: link.RTT / 2},
		Down: faultnet.DirFaults{Latency: link.RTT - link.RTT/2},
	}))
	if err != nil {
		return nil, err
	}
	// The rate is the link's, shared by every connection of the device.
	p.SetLinkRate(link.UpBytesPerSecond, link.DownBytesPerSecond)
	b := &Bench{cfg: cfg, proxy: p, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x2545f4914f6cdd1d))}
	b.tr = &http.Transport{ForceAttemptHTTP2: false, MaxIdleConnsPerHost: 4}
	b.env = Env{BaseURL: p.URL(), Client: &http.Client{Transport: countingTransport{b.tr, &b.requests}}}
	if cfg.RoundTrips == nil {
		b.cfg.RoundTrips = func() int { return int(b.requests.Load()) }
	}
	return b, nil
}

// Env is the device's way to the server through the link.
func (b *Bench) Env() Env { return b.env }

// Close stops the proxy.
func (b *Bench) Close() error {
	b.tr.CloseIdleConnections()
	return b.proxy.Close()
}

// Measure calls sync until it succeeds (at most cfg.MaxAttempts) while the
// link drops every CutEvery ± Jitter, cutting every live connection at once
// wherever its transfer is; then, with the link steady, once more for the
// no-op figures.
func (b *Bench) Measure(ctx context.Context, payloadBytes int64, sync SyncFunc) (Result, error) {
	link := b.cfg.Link
	res := Result{Link: link, PayloadBytes: payloadBytes}
	if link.UpBytesPerSecond > 0 {
		res.Ideal = time.Duration(float64(payloadBytes) / float64(link.UpBytesPerSecond) * float64(time.Second))
	}
	var drops atomic.Int64
	stop := make(chan struct{})
	dropped := make(chan struct{})
	go func() {
		defer close(dropped)
		if link.CutEvery <= 0 {
			return
		}
		for {
			spread := 1 + b.cfg.Jitter*(2*b.rng.Float64()-1)
			select {
			case <-time.After(time.Duration(float64(link.CutEvery) * spread)):
				b.proxy.CutAll(link.Mode)
				drops.Add(1)
				if b.cfg.OnDrop != nil {
					b.cfg.OnDrop()
				}
			case <-stop:
				return
			}
		}
	}()
	var err error
	res.Sync, err = b.phase(ctx, b.cfg.MaxAttempts, sync)
	close(stop)
	<-dropped
	res.Sync.Drops = int(drops.Load())
	if err != nil {
		return res, fmt.Errorf("device-day sync: %w", err)
	}
	res.NoOp, err = b.phase(ctx, 1, sync)
	if err != nil {
		return res, fmt.Errorf("no-op sync: %w", err)
	}
	return res, nil
}

// Run measures one device-day sync of a device that needs no setup through
// the link: Start, Measure, Close.
func Run(ctx context.Context, upstream string, payloadBytes int64, cfg Config, sync SyncFunc) (Result, error) {
	b, err := Start(upstream, cfg)
	if err != nil {
		return Result{}, err
	}
	defer b.Close()
	return b.Measure(ctx, payloadBytes, sync)
}

func (b *Bench) phase(ctx context.Context, maxAttempts int, sync SyncFunc) (Phase, error) {
	p := b.proxy
	before, rt0 := p.Stats(), b.cfg.RoundTrips()
	start := time.Now()
	var ph Phase
	var err error
	for ph.Attempts < maxAttempts {
		ph.Attempts++
		if err = sync(ctx, b.env); err == nil || ctx.Err() != nil {
			break
		}
		if b.cfg.RetryDelay > 0 {
			select {
			case <-time.After(b.cfg.RetryDelay):
			case <-ctx.Done():
			}
		}
	}
	ph.Wall = time.Since(start)
	after := p.Stats()
	ph.RoundTrips = b.cfg.RoundTrips() - rt0
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
