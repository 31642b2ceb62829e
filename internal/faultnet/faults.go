package faultnet

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Direction names one half of a proxied connection.
type Direction int

const (
	// Up is client → upstream (device → server).
	Up Direction = iota
	// Down is upstream → client (server → device).
	Down
)

func (d Direction) String() string {
	if d == Up {
		return "up"
	}
	return "down"
}

// CutMode says how a connection is cut.
type CutMode int

const (
	// CutClose closes both sockets normally: each peer reads EOF after the
	// bytes already delivered.
	CutClose CutMode = iota
	// CutReset closes both sockets with SO_LINGER 0, so each peer sees
	// ECONNRESET: the abrupt loss of a mobile link.
	CutReset
	// CutHang stops forwarding in both directions but keeps both sockets
	// open until Proxy.Close: a link that dies without any FIN or RST, which
	// only the peers' own timeouts can detect.
	CutHang
)

func (m CutMode) String() string {
	switch m {
	case CutReset:
		return "reset"
	case CutHang:
		return "hang"
	default:
		return "close"
	}
}

// DirFaults shapes one direction of one connection.
type DirFaults struct {
	// BytesPerSecond throttles this direction of this connection with a
	// token bucket; 0 means unlimited. 1 Mbit/s is 125_000.
	BytesPerSecond int64
	// Latency delays every chunk by this much one way. Chunks are
	// pipelined, so latency does not reduce throughput; an RTT of 150 ms is
	// 75 ms Up plus 75 ms Down.
	Latency time.Duration
	// CutAfterBytes cuts the connection once exactly this many bytes have
	// been delivered in this direction; 0 means never. A connection that
	// must carry no byte at all is Faults.Refuse.
	CutAfterBytes int64
	// Chunk is the largest piece read and forwarded at once; 0 picks 16 KiB,
	// or about 20 ms of traffic when throttled, so the throttle is smooth.
	Chunk int
}

// Faults is what the plan decides for one connection.
type Faults struct {
	Up, Down DirFaults
	// CutAfter cuts the connection this long after it was accepted; 0
	// means never. Give every connection ~2 minutes to cut a long transfer
	// every ~2 minutes.
	CutAfter time.Duration
	// Mode is how byte- and time-triggered cuts close the connection.
	Mode CutMode
	// Refuse closes the client socket (RST) right after accept, without
	// dialing upstream. The connection still takes an index.
	Refuse bool
}

// Dir returns the faults of one direction.
func (f Faults) Dir(d Direction) DirFaults {
	if d == Up {
		return f.Up
	}
	return f.Down
}

// Plan decides the faults of each new connection from its index (0 for the
// first accepted connection). The proxy calls it from a single goroutine in
// index order, so a plan may keep unsynchronised state such as an RNG.
type Plan func(index int) Faults

// Clean is the plan with no faults.
func Clean(int) Faults { return Faults{} }

// Every gives every connection the same faults.
func Every(f Faults) Plan {
	return func(int) Faults { return f }
}

// Only gives connection index n the faults f and every other connection
// base, e.g. Only(2, cut, Faults{}) for "cut the 3rd connection".
func Only(n int, f, base Faults) Plan {
	return func(i int) Faults {
		if i == n {
			return f
		}
		return base
	}
}

// Sequence gives connection i the faults fs[i], and base to connections
// beyond the list: a scripted run such as "cut the first two, then clean".
func Sequence(base Faults, fs ...Faults) Plan {
	return func(i int) Faults {
		if i < len(fs) {
			return fs[i]
		}
		return base
	}
}

// Seeded builds a plan from a function that draws from an RNG seeded with
// seed, so a failing run can be replayed exactly from its seed. The RNG is
// guarded, so the plan stays safe even if a caller invokes it directly.
func Seeded(seed uint64, fn func(r *rand.Rand, index int) Faults) Plan {
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return func(i int) Faults {
		mu.Lock()
		defer mu.Unlock()
		return fn(r, i)
	}
}

// RandomUpCut cuts every connection after a number of upstream bytes drawn
// uniformly from [min, max) by a seeded RNG; other fields come from base.
func RandomUpCut(seed uint64, min, max int64, base Faults) Plan {
	if min < 1 {
		min = 1
	}
	if max <= min {
		max = min + 1
	}
	return Seeded(seed, func(r *rand.Rand, _ int) Faults {
		f := base
		f.Up.CutAfterBytes = min + r.Int64N(max-min)
		return f
	})
}

// Link describes a shaped link for both directions of every connection:
// the common "1 Mbit/s up, 150 ms RTT, a cut every ~2 minutes" case.
type Link struct {
	UpBytesPerSecond   int64
	DownBytesPerSecond int64
	RTT                time.Duration // split evenly between the directions
	CutEvery           time.Duration // per-connection time cut; 0 never
	Mode               CutMode
}

// Faults returns per-connection faults for the link. The rates here are
// per connection; use Proxy.SetLinkRate for a rate all connections share.
func (l Link) Faults() Faults {
	return Faults{
		Up:       DirFaults{BytesPerSecond: l.UpBytesPerSecond, Latency: l.RTT / 2},
		Down:     DirFaults{BytesPerSecond: l.DownBytesPerSecond, Latency: l.RTT - l.RTT/2},
		CutAfter: l.CutEvery,
		Mode:     l.Mode,
	}
}
