package faultnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy is a fault-injecting TCP proxy. Create it with New; every method is
// safe for concurrent use.
type Proxy struct {
	ln       net.Listener
	upstream string
	dialer   net.Dialer
	ctx      context.Context
	cancel   context.CancelFunc

	refuse   atomic.Bool
	linkUp   atomic.Pointer[bucket]
	linkDown atomic.Pointer[bucket]

	mu     sync.Mutex
	plan   Plan
	gate   chan struct{} // closed while running; open while paused
	paused bool
	closed bool
	conns  []*conn // every connection given an index, for Conns()
	active map[*conn]struct{}
	held   []net.Conn // sockets of CutHang connections, closed by Close

	read       [2]atomic.Int64
	delivered  [2]atomic.Int64
	refused    atomic.Int64
	cuts       atomic.Int64
	dialErrors atomic.Int64

	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New starts a proxy on 127.0.0.1:0 that forwards to upstream ("host:port").
// A nil plan means no faults. Call Close when done.
func New(upstream string, plan Plan) (*Proxy, error) {
	return Listen("127.0.0.1:0", upstream, plan)
}

// Listen is New on a given address ("host:port"), for a standalone proxy
// that another program connects to.
func Listen(addr, upstream string, plan Plan) (*Proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("faultnet: listen: %w", err)
	}
	if plan == nil {
		plan = Clean
	}
	ctx, cancel := context.WithCancel(context.Background())
	running := make(chan struct{})
	close(running)
	p := &Proxy{
		ln:       ln,
		upstream: upstream,
		dialer:   net.Dialer{Timeout: 10 * time.Second},
		ctx:      ctx,
		cancel:   cancel,
		plan:     plan,
		gate:     running,
		active:   make(map[*conn]struct{}),
	}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr is the proxy's listening address, "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is the base URL an HTTP client should use to reach the upstream
// through the proxy.
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// SetPlan replaces the plan for connections accepted from now on; live
// connections keep their faults. Indexes keep counting.
func (p *Proxy) SetPlan(plan Plan) {
	if plan == nil {
		plan = Clean
	}
	p.mu.Lock()
	p.plan = plan
	p.mu.Unlock()
}

// SetLinkRate throttles all connections together, per direction, in bytes
// per second (0 = unlimited): a device has one uplink however many
// connections its HTTP client opens. It applies on top of per-connection
// rates, and to chunks forwarded from now on.
func (p *Proxy) SetLinkRate(up, down int64) {
	p.linkUp.Store(newBucket(up, chunkFor(DirFaults{}, up)))
	p.linkDown.Store(newBucket(down, chunkFor(DirFaults{}, down)))
}

// Pause stops all forwarding, like a tunnel: live connections stall with
// their sockets open and new connections are accepted but not dialed
// upstream until Resume. Chunks already past the throttle are delivered on
// Resume, as data in flight would be.
func (p *Proxy) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.paused && !p.closed {
		p.paused = true
		p.gate = make(chan struct{})
	}
}

// Resume undoes Pause.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused {
		p.paused = false
		close(p.gate)
	}
}

// RefuseNew makes new connections fail at once (accepted, then reset,
// without dialing upstream or calling the plan), as with no network; live
// connections are untouched. RefuseNew(false) restores normal service.
func (p *Proxy) RefuseNew(refuse bool) { p.refuse.Store(refuse) }

// CutAll cuts every live connection now and returns how many it cut.
func (p *Proxy) CutAll(mode CutMode) int {
	n := 0
	for _, c := range p.liveConns() {
		if c.cut(mode, "manual") {
			n++
		}
	}
	return n
}

// Close stops accepting, closes every connection (including held ones) and
// waits for all of the proxy's goroutines to return.
func (p *Proxy) Close() error {
	var err error
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		live := make([]*conn, 0, len(p.active))
		for c := range p.active {
			live = append(live, c)
		}
		held := p.held
		p.held = nil
		p.mu.Unlock()

		p.cancel()
		err = p.ln.Close()
		for _, c := range live {
			c.stop(CutClose, "")
		}
		for _, s := range held {
			s.Close()
		}
		p.wg.Wait()
	})
	return err
}

// Stats are proxy-wide counters.
type Stats struct {
	Conns      int // connections given an index (plan called)
	Active     int // connections still open
	Refused    int // closed at once: RefuseNew or Faults.Refuse
	Cuts       int // live connections cut by a fault or CutAll
	DialErrors int // upstream dial failed; the client was reset
	// Up and Down count bytes delivered to the other side. UpRead and
	// DownRead count bytes read from the sender; the difference is what a
	// cut (or Close) dropped in flight.
	Up, Down         int64
	UpRead, DownRead int64
}

// Stats returns a snapshot of the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	conns, active := len(p.conns), len(p.active)
	p.mu.Unlock()
	return Stats{
		Conns:      conns,
		Active:     active,
		Refused:    int(p.refused.Load()),
		Cuts:       int(p.cuts.Load()),
		DialErrors: int(p.dialErrors.Load()),
		Up:         p.delivered[Up].Load(),
		Down:       p.delivered[Down].Load(),
		UpRead:     p.read[Up].Load(),
		DownRead:   p.read[Down].Load(),
	}
}

// ConnStats describes one connection.
type ConnStats struct {
	Index  int
	Faults Faults
	// Up and Down are bytes delivered; UpRead and DownRead bytes read from
	// the sender (see Stats).
	Up, Down         int64
	UpRead, DownRead int64
	// Cut is why a fault ended the connection: "up-bytes", "down-bytes",
	// "time", "manual", "refused", "dial"; empty if it ended on its own
	// (or by Close) or is still open.
	Cut   string
	Open  bool
	Start time.Time
	End   time.Time // zero while open
}

// Conns returns every connection given an index so far, in index order.
func (p *Proxy) Conns() []ConnStats {
	p.mu.Lock()
	cs := append([]*conn(nil), p.conns...)
	p.mu.Unlock()
	out := make([]ConnStats, len(cs))
	for i, c := range cs {
		out[i] = c.stats()
	}
	return out
}

// Conn returns the stats of connection index i, or false if there is none.
func (p *Proxy) Conn(i int) (ConnStats, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i < 0 || i >= len(p.conns) {
		return ConnStats{}, false
	}
	return p.conns[i].stats(), true
}

func (p *Proxy) liveConns() []*conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	live := make([]*conn, 0, len(p.active))
	for c := range p.active {
		live = append(live, c)
	}
	return live
}

// waitGate blocks while the proxy is paused; false means give up (the
// connection or the proxy is closing).
func (p *Proxy) waitGate(done <-chan struct{}) bool {
	p.mu.Lock()
	g := p.gate
	p.mu.Unlock()
	select {
	case <-g:
		select {
		case <-done:
			return false
		default:
			return true
		}
	case <-done:
		return false
	case <-p.ctx.Done():
		return false
	}
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	var backoff time.Duration
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			if p.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Transient (e.g. EMFILE): back off rather than spin.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(backoff):
			case <-p.ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		if p.refuse.Load() {
			p.refused.Add(1)
			reset(nc)
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			nc.Close()
			return
		}
		index, plan := len(p.conns), p.plan
		p.mu.Unlock()

		// The plan runs outside the lock: it is user code.
		f := plan(index)
		c := &conn{p: p, index: index, faults: f, client: nc, start: time.Now(), done: make(chan struct{})}

		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			nc.Close()
			return
		}
		p.conns = append(p.conns, c)
		p.active[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go c.run()
	}
}

// hold keeps the sockets of a hung connection open until Close.
func (p *Proxy) hold(socks ...net.Conn) {
	p.mu.Lock()
	if !p.closed {
		for _, s := range socks {
			if s != nil {
				p.held = append(p.held, s)
			}
		}
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	for _, s := range socks {
		if s != nil {
			s.Close()
		}
	}
}

// conn is one proxied connection.
type conn struct {
	p      *Proxy
	index  int
	faults Faults
	client net.Conn
	start  time.Time
	done   chan struct{} // closed once the connection is stopped

	read      [2]atomic.Int64
	delivered [2]atomic.Int64

	mu      sync.Mutex
	server  net.Conn
	stopped bool
	hung    bool
	reason  string
	end     time.Time
}

func (c *conn) stats() ConnStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ConnStats{
		Index:    c.index,
		Faults:   c.faults,
		Up:       c.delivered[Up].Load(),
		Down:     c.delivered[Down].Load(),
		UpRead:   c.read[Up].Load(),
		DownRead: c.read[Down].Load(),
		Cut:      c.reason,
		Open:     c.end.IsZero(),
		Start:    c.start,
		End:      c.end,
	}
}

// stop ends the connection the way mode says; only the first call acts.
// A non-empty reason records a fault cut.
func (c *conn) stop(mode CutMode, reason string) bool {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return false
	}
	c.stopped = true
	c.reason = reason
	switch mode {
	case CutHang:
		// Unblock our own reads and writes without telling the peers.
		c.hung = true
		past := time.Unix(1, 0)
		c.client.SetDeadline(past)
		if c.server != nil {
			c.server.SetDeadline(past)
		}
	case CutReset:
		reset(c.client)
		if c.server != nil {
			reset(c.server)
		}
	default:
		c.client.Close()
		if c.server != nil {
			c.server.Close()
		}
	}
	c.mu.Unlock()
	close(c.done)
	return true
}

// cut is a fault-triggered stop, counted in Stats.Cuts.
func (c *conn) cut(mode CutMode, reason string) bool {
	if c.stop(mode, reason) {
		c.p.cuts.Add(1)
		return true
	}
	return false
}

func (c *conn) run() {
	p := c.p
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.active, c)
		p.mu.Unlock()
		c.mu.Lock()
		c.end = time.Now()
		c.mu.Unlock()
	}()

	if c.faults.Refuse {
		p.refused.Add(1)
		c.stop(CutReset, "refused")
		return
	}
	if !p.waitGate(c.done) {
		c.stop(CutClose, "")
		return
	}
	server, err := p.dialer.DialContext(p.ctx, "tcp", p.upstream)
	if err != nil {
		if p.ctx.Err() == nil {
			p.dialErrors.Add(1)
		}
		c.stop(CutReset, "dial")
		return
	}
	c.mu.Lock()
	if c.stopped { // Close or CutAll arrived while dialing
		c.mu.Unlock()
		server.Close()
		return
	}
	c.server = server
	c.mu.Unlock()

	var wg sync.WaitGroup
	if d := c.faults.CutAfter; d > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				c.cut(c.faults.Mode, "time")
			case <-c.done:
			}
		}()
	}
	c.pipe(&wg, Up, c.client, server)
	c.pipe(&wg, Down, server, c.client)
	wg.Wait()

	c.mu.Lock()
	hung := c.hung
	c.mu.Unlock()
	if hung {
		p.hold(c.client, server)
		return
	}
	// Both directions ended (EOF both ways, an error, or a cut).
	c.stop(CutClose, "")
}

// item is one chunk in flight, or the sender's end of stream.
type item struct {
	data []byte
	at   time.Time // when it may be delivered (latency)
	last bool      // the byte cut is reached after this chunk
	err  error     // read error (io.EOF for a clean end)
}

// pipe forwards one direction with a reader and a writer goroutine joined by
// a bounded queue, so latency delays each chunk without limiting throughput.
func (c *conn) pipe(wg *sync.WaitGroup, dir Direction, src, dst net.Conn) {
	q := make(chan item, 64)
	wg.Add(2)
	go func() {
		defer wg.Done()
		c.readLoop(dir, src, q)
	}()
	go func() {
		defer wg.Done()
		c.writeLoop(dir, dst, q)
	}()
}

func (c *conn) readLoop(dir Direction, src net.Conn, q chan<- item) {
	p := c.p
	f := c.faults.Dir(dir)
	link := &p.linkUp
	if dir == Down {
		link = &p.linkDown
	}
	chunk := chunkFor(f, 0)
	if lb := link.Load(); lb != nil {
		chunk = chunkFor(f, int64(lb.rate))
	}
	own := newBucket(f.BytesPerSecond, chunk)
	var sent int64
	send := func(it item) bool {
		select {
		case q <- it:
			return true
		case <-c.done:
			return false
		}
	}
	for {
		if !p.waitGate(c.done) {
			return
		}
		buf := make([]byte, chunk)
		n, err := src.Read(buf)
		if n > 0 {
			c.read[dir].Add(int64(n))
			p.read[dir].Add(int64(n))
			data, last := buf[:n], false
			if f.CutAfterBytes > 0 && sent+int64(n) >= f.CutAfterBytes {
				data, last = data[:f.CutAfterBytes-sent], true
			}
			sent += int64(len(data))
			now := time.Now()
			var wait time.Duration
			if own != nil {
				wait = own.reserve(len(data), now)
			}
			if lb := link.Load(); lb != nil {
				wait = max(wait, lb.reserve(len(data), now))
			}
			if !sleep(wait, c.done) {
				return
			}
			if !send(item{data: data, at: time.Now().Add(f.Latency), last: last}) || last {
				return
			}
		}
		if err != nil {
			send(item{err: err, at: time.Now().Add(f.Latency)})
			return
		}
	}
}

func (c *conn) writeLoop(dir Direction, dst net.Conn, q <-chan item) {
	p := c.p
	for {
		var it item
		select {
		case it = <-q:
		case <-c.done:
			return
		}
		if !sleep(time.Until(it.at), c.done) || !p.waitGate(c.done) {
			return
		}
		if len(it.data) > 0 {
			n, err := dst.Write(it.data)
			c.delivered[dir].Add(int64(n))
			p.delivered[dir].Add(int64(n))
			if err != nil {
				c.stop(CutClose, "")
				return
			}
		}
		if it.last {
			if c.faults.Mode == CutReset {
				// A RST discards what the kernel still holds, so let
				// the N bytes reach the peer first: the cut is exact.
				drain(dst, c.done)
			}
			c.cut(c.faults.Mode, dir.String()+"-bytes")
			return
		}
		if it.err != nil {
			if errors.Is(it.err, io.EOF) {
				// Pass the half-close on; the other direction goes on.
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
					return
				}
			}
			// A reset (or anything else) from one peer is passed on
			// as a reset to the other.
			c.stop(CutReset, "")
			return
		}
	}
}

// sleep waits d unless done closes first; false means done closed.
func sleep(d time.Duration, done <-chan struct{}) bool {
	if d <= 0 {
		select {
		case <-done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

// drain waits (up to 2 s) until the kernel has handed every byte written to
// nc over to the peer, where that can be known.
func drain(nc net.Conn, done <-chan struct{}) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		n, ok := unsent(nc)
		if !ok || n == 0 || time.Now().After(deadline) {
			return
		}
		if !sleep(time.Millisecond, done) {
			return
		}
	}
}

// reset closes a socket with SO_LINGER 0 so the peer gets a RST.
func reset(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	nc.Close()
}
