// Command linkproxy puts the device-day benchmark's link (faultnet) in front
// of any TCP server, so that a program outside the Go tests (PouchDB's
// replication to pouchdb-server in scripts/bench-sync-compare.sh) crosses
// the same simulated link as the SDK in BenchmarkDeviceDay: an uplink rate
// shared by all connections, a round-trip time split between the
// directions, and every live connection reset at once every -reset-every
// (± jitter) while drops are on.
//
//	linkproxy -listen 127.0.0.1:0 -target 127.0.0.1:5984 -rate 1 -rtt 150ms -reset-every 120s -control 127.0.0.1:0
//
// It prints "proxy ADDR" and "control ADDR" on standard output, then serves
// until SIGINT or SIGTERM. The control address answers, over HTTP:
//
//	GET  /stats       the counters (JSON): conns, cuts, drops, bytes read and delivered per direction
//	POST /drops/start start resetting connections every -reset-every (no-op when it is 0)
//	POST /drops/stop  stop resetting
//
// Drops are off at start, so a client can set up (create its database)
// before the measured sync, as BenchmarkDeviceDay does.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spotcheck/spotcheck/internal/faultnet"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	target := flag.String("target", "", "upstream host:port (required)")
	rate := flag.Float64("rate", 1, "uplink (client → target) in Mbit/s, shared by all connections; 0 = unlimited")
	downRate := flag.Float64("down-rate", 0, "downlink in Mbit/s; 0 = unlimited, as in BenchmarkDeviceDay")
	rtt := flag.Duration("rtt", 150*time.Millisecond, "round-trip time added, half each way")
	resetEvery := flag.Duration("reset-every", 0, "reset every live connection at once this often while drops are on; 0 = never")
	jitter := flag.Float64("jitter", 0.25, "spread of the reset interval, ± this fraction")
	seed := flag.Uint64("seed", 1, "seed of the reset times")
	control := flag.String("control", "127.0.0.1:0", "address of the control HTTP server")
	flag.Parse()
	if *target == "" {
		log.Fatal("linkproxy: -target is required")
	}
	p, err := faultnet.Listen(*listen, *target, faultnet.Every(faultnet.Faults{
		Up:   faultnet.DirFaults{Latency: *rtt / 2},
		Down: faultnet.DirFaults{Latency: *rtt - *rtt/2},
	}))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	p.SetLinkRate(int64(*rate*1e6/8), int64(*downRate*1e6/8))

	d := &dropper{p: p, every: *resetEvery, jitter: *jitter, rng: rand.New(rand.NewPCG(*seed, *seed^0x2545f4914f6cdd1d))}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		s := p.Stats()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"conns": s.Conns, "active": s.Active, "cuts": s.Cuts, "drops": d.drops.Load(),
			"up": s.Up, "up_read": s.UpRead, "down": s.Down, "down_read": s.DownRead,
		})
	})
	mux.HandleFunc("POST /drops/start", func(w http.ResponseWriter, r *http.Request) { d.start() })
	mux.HandleFunc("POST /drops/stop", func(w http.ResponseWriter, r *http.Request) { d.stop() })
	cl, err := net.Listen("tcp", *control)
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(cl, mux)
	fmt.Printf("proxy %s\ncontrol %s\n", p.Addr(), cl.Addr())
	os.Stdout.Sync()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	d.stop()
}

// dropper resets every live connection every ~every, as
// devicedaybench.Bench.Measure does during the measured sync.
type dropper struct {
	p      *faultnet.Proxy
	every  time.Duration
	jitter float64
	rng    *rand.Rand
	drops  atomic.Int64

	mu   sync.Mutex
	quit chan struct{}
	done chan struct{}
}

func (d *dropper) start() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.every <= 0 || d.quit != nil {
		return
	}
	quit, done := make(chan struct{}), make(chan struct{})
	d.quit, d.done = quit, done
	go func() {
		defer close(done)
		for {
			spread := 1 + d.jitter*(2*d.rng.Float64()-1)
			select {
			case <-time.After(time.Duration(float64(d.every) * spread)):
				d.p.CutAll(faultnet.CutReset)
				d.drops.Add(1)
			case <-quit:
				return
			}
		}
	}()
}

func (d *dropper) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.quit != nil {
		close(d.quit)
		<-d.done
		d.quit, d.done = nil, nil
	}
}
