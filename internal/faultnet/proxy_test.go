package faultnet

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Both directions carry large random payloads unchanged, and the counters
// equal what was sent.
func TestPassThroughBothDirections(t *testing.T) {
	noLeak(t)
	const upN, downN = 6<<20 + 123, 5<<20 + 7
	down := make([]byte, downN)
	copy(down, randomBytes(t, downN))
	gotUp := make(chan [32]byte, 1)
	up := newServer(t, func(c net.Conn) {
		// Read the whole request (the client half-closes), then answer.
		h := sha256.New()
		if _, err := io.Copy(h, c); err != nil {
			t.Errorf("upstream read: %v", err)
		}
		var s [32]byte
		copy(s[:], h.Sum(nil))
		gotUp <- s
		if _, err := c.Write(down); err != nil {
			t.Errorf("upstream write: %v", err)
		}
	})
	p := startProxy(t, up.addr(), nil)

	payload := randomBytes(t, upN)
	c := dial(t, p)
	if _, err := c.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if s := <-gotUp; s != sha256.Sum256(payload) {
		t.Fatal("upstream received different bytes")
	}
	if sha256.Sum256(got) != sha256.Sum256(down) {
		t.Fatalf("client received different bytes (%d of %d)", len(got), downN)
	}

	waitFor(t, "connection end", func() bool { return p.Stats().Active == 0 })
	st := p.Stats()
	if st.Up != upN || st.Down != downN || st.UpRead != upN || st.DownRead != downN {
		t.Fatalf("stats %+v, want up %d down %d", st, upN, downN)
	}
	if st.Conns != 1 || st.Cuts != 0 {
		t.Fatalf("stats %+v", st)
	}
	cs, _ := p.Conn(0)
	if cs.Up != upN || cs.Down != downN || cs.Open || cs.Cut != "" {
		t.Fatalf("conn stats %+v", cs)
	}
}

// A cut after N upstream bytes delivers exactly N bytes, and the client sees
// an error rather than a clean exchange.
func TestCutAfterBytes(t *testing.T) {
	for _, mode := range []CutMode{CutClose, CutReset} {
		t.Run(mode.String(), func(t *testing.T) {
			noLeak(t)
			const n = 150_000
			s, recv := sink(t)
			p := startProxy(t, s.addr(), Every(Faults{Up: DirFaults{CutAfterBytes: n}, Mode: mode}))
			c := dial(t, p)
			payload := randomBytes(t, 1<<20)
			_, werr := c.Write(payload)
			var rerr error
			if werr == nil {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, rerr = c.Read(make([]byte, 1))
			}
			if werr == nil && rerr == nil {
				t.Fatal("client saw no error after the cut")
			}
			if isTimeout(rerr) {
				t.Fatal("client read timed out instead of seeing the cut")
			}
			r := waitRecv(t, recv)
			if r.n != n {
				t.Fatalf("upstream received %d bytes, want exactly %d", r.n, n)
			}
			if r.sum != sha256.Sum256(payload[:n]) {
				t.Fatal("upstream received the wrong bytes")
			}
			cs, _ := p.Conn(0)
			if cs.Up != n || cs.Cut != "up-bytes" || cs.UpRead < n {
				t.Fatalf("conn stats %+v", cs)
			}
			if st := p.Stats(); st.Cuts != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// A cut in the down direction stops the client's stream at exactly N.
func TestCutAfterBytesDown(t *testing.T) {
	noLeak(t)
	const n = 70_001
	body := randomBytes(t, 1<<20)
	up := newServer(t, func(c net.Conn) { c.Write(body) })
	p := startProxy(t, up.addr(), Every(Faults{Down: DirFaults{CutAfterBytes: n}}))
	c := dial(t, p)
	got, _ := io.ReadAll(c)
	if len(got) != n || !bytes.Equal(got, body[:n]) {
		t.Fatalf("client got %d bytes, want the first %d", len(got), n)
	}
	if cs, _ := p.Conn(0); cs.Cut != "down-bytes" || cs.Down != n {
		t.Fatalf("conn stats %+v", cs)
	}
}

// "Cut the 3rd connection": only index 2 is cut; the others are clean.
func TestPlanByIndex(t *testing.T) {
	noLeak(t)
	s, recv := sink(t)
	p := startProxy(t, s.addr(), Only(2, Faults{Up: DirFaults{CutAfterBytes: 1000}}, Faults{}))
	payload := randomBytes(t, 50_000)
	for i := range 4 {
		c := dial(t, p)
		c.Write(payload)
		c.CloseWrite()
		r := waitRecv(t, recv)
		want := int64(len(payload))
		if i == 2 {
			want = 1000
		}
		if r.n != want {
			t.Fatalf("connection %d: upstream got %d bytes, want %d", i, r.n, want)
		}
		c.Close()
	}
	for i, cs := range p.Conns() {
		if (cs.Cut == "up-bytes") != (i == 2) {
			t.Fatalf("conn %d: %+v", i, cs)
		}
	}
}

func TestSeededPlansReplay(t *testing.T) {
	a := RandomUpCut(42, 1000, 200_000, Faults{Mode: CutReset})
	b := RandomUpCut(42, 1000, 200_000, Faults{Mode: CutReset})
	c := RandomUpCut(43, 1000, 200_000, Faults{Mode: CutReset})
	same := true
	for i := range 50 {
		fa, fb, fc := a(i), b(i), c(i)
		if fa != fb {
			t.Fatalf("index %d: same seed, different faults %+v %+v", i, fa, fb)
		}
		if fa.Up.CutAfterBytes < 1000 || fa.Up.CutAfterBytes >= 200_000 || fa.Mode != CutReset {
			t.Fatalf("index %d: %+v", i, fa)
		}
		same = same && fa == fc
	}
	if same {
		t.Fatal("different seeds gave the same plan")
	}
	seq := Sequence(Faults{}, Faults{Refuse: true}, Faults{CutAfter: time.Second})
	if !seq(0).Refuse || seq(1).CutAfter != time.Second || seq(2) != (Faults{}) {
		t.Fatal("Sequence")
	}
	_ = Seeded(1, func(r *rand.Rand, i int) Faults { return Faults{} })
}

// At 1 Mbit/s, 256 KiB takes about 2.1 s. Only a lower bound, which the
// throttle guarantees however loaded the machine is: this checks the
// throttle works, not how fast the machine is.
func TestThrottle(t *testing.T) {
	noLeak(t)
	s, recv := sink(t)
	p := startProxy(t, s.addr(), Every(Faults{Up: DirFaults{BytesPerSecond: 125_000}}))
	payload := randomBytes(t, 256<<10)
	start := time.Now()
	c := dial(t, p)
	if _, err := c.Write(payload); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite()
	r := waitRecv(t, recv)
	took := r.at.Sub(start)
	if r.n != int64(len(payload)) {
		t.Fatalf("got %d bytes", r.n)
	}
	if took < 1500*time.Millisecond {
		t.Fatalf("256 KiB at 1 Mbit/s took %v, want about 2.1s", took)
	}
	t.Logf("256 KiB at 1 Mbit/s: %v", took)
}

// The shared link rate splits one budget between concurrent connections.
func TestSharedLinkRate(t *testing.T) {
	noLeak(t)
	s, recv := sink(t)
	p := startProxy(t, s.addr(), nil)
	p.SetLinkRate(125_000, 0)
	payload := randomBytes(t, 64<<10)
	start := time.Now()
	var wg sync.WaitGroup
	for range 2 {
		c := dial(t, p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Write(payload)
			c.CloseWrite()
		}()
	}
	wg.Wait()
	last := waitRecv(t, recv).at
	if r := waitRecv(t, recv); r.at.After(last) {
		last = r.at
	}
	// 128 KiB at 125 kB/s is about 1.05 s; per-connection limits would halve it.
	if took := last.Sub(start); took < 800*time.Millisecond {
		t.Fatalf("two connections sharing 1 Mbit/s moved 128 KiB in %v", took)
	}
}

// Latency adds at least the configured one-way delays to a round trip,
// without throttling a bulk transfer.
func TestLatency(t *testing.T) {
	noLeak(t)
	up := newServer(t, echo)
	p := startProxy(t, up.addr(), Every(Link{RTT: 150 * time.Millisecond}.Faults()))
	c := dial(t, p)
	for range 3 {
		start := time.Now()
		if err := roundTrip(c); err != nil {
			t.Fatal(err)
		}
		if rtt := time.Since(start); rtt < 150*time.Millisecond {
			t.Fatalf("round trip %v, want ≥ 150ms", rtt)
		}
	}

	// Pipelined: 4 MiB echoed through 150 ms RTT. In chunks of at most
	// 16 KiB (chunkFor, unthrottled), serialised latency would cost at
	// least 256 × 75 ms ≈ 19 s each way, 38 s in all; the generous bound
	// tells that from pipelining without measuring the machine.
	payload := randomBytes(t, 4<<20)
	start := time.Now()
	go func() { c.Write(payload); c.CloseWrite() }()
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("echo: %d bytes, err %v", len(got), err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("4 MiB through 150 ms RTT took %v: latency is serialising chunks", took)
	}
}

func TestCutAfterDuration(t *testing.T) {
	noLeak(t)
	up := newServer(t, echo)
	p := startProxy(t, up.addr(), Every(Faults{CutAfter: 200 * time.Millisecond, Mode: CutReset}))
	// The proxy's clock starts when it accepts the connection, during the
	// dial: start ours before it, or a slow dial makes the cut look early.
	start := time.Now()
	c := dial(t, p)
	var err error
	for err == nil && time.Since(start) < time.Minute { // a bound for failure only
		err = roundTrip(c)
	}
	if err == nil {
		t.Fatal("connection was not cut")
	}
	if took := time.Since(start); took < 190*time.Millisecond {
		t.Fatalf("cut after %v, want ≥ 200ms", took)
	}
	waitFor(t, "cut recorded", func() bool { cs, _ := p.Conn(0); return cs.Cut == "time" && !cs.Open })
}

// A hung connection goes silent both ways: no EOF, no RST, until Close.
func TestCutHang(t *testing.T) {
	noLeak(t)
	type res struct {
		n   int
		err error
	}
	got := make(chan res, 1)
	up := newServer(t, func(c net.Conn) {
		buf := make([]byte, 100)
		n, _ := io.ReadAtLeast(c, buf, 10)
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err := c.Read(buf)
		got <- res{n, err}
		// Then wait for the proxy's Close to end the connection.
		c.SetReadDeadline(time.Time{})
		c.Read(buf)
	})
	p := startProxy(t, up.addr(), Every(Faults{Up: DirFaults{CutAfterBytes: 10}, Mode: CutHang}))
	c := dial(t, p)
	c.Write(bytes.Repeat([]byte{'a'}, 100))
	r := <-got
	if r.n != 10 || !isTimeout(r.err) {
		t.Fatalf("upstream: %d bytes then %v, want 10 then a timeout", r.n, r.err)
	}
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("client read: %v, want a timeout", err)
	}
	p.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("after Close the client read %v, want EOF or reset", err)
	}
}

func TestRefuseNew(t *testing.T) {
	noLeak(t)
	up := newServer(t, echo)
	p := startProxy(t, up.addr(), nil)
	p.RefuseNew(true)
	if c, err := net.Dial("tcp", p.Addr()); err == nil {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := roundTrip(c); err == nil || isTimeout(err) {
			t.Fatalf("round trip while refusing: %v, want an error", err)
		}
		c.Close()
	}
	p.RefuseNew(false)
	if err := roundTrip(dial(t, p)); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Refused != 1 || st.Conns != 1 {
		t.Fatalf("stats %+v: a refused connection takes no index", st)
	}

	// A plan can refuse one connection; it keeps its index.
	p.SetPlan(Only(1, Faults{Refuse: true}, Faults{}))
	if c, err := net.Dial("tcp", p.Addr()); err == nil {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := roundTrip(c); err == nil || isTimeout(err) {
			t.Fatalf("refused by plan: %v", err)
		}
		c.Close()
	}
	waitFor(t, "refusal recorded", func() bool { cs, _ := p.Conn(1); return cs.Cut == "refused" })
}

func TestPauseResume(t *testing.T) {
	noLeak(t)
	up := newServer(t, echo)
	p := startProxy(t, up.addr(), nil)
	live := dial(t, p)
	if err := roundTrip(live); err != nil {
		t.Fatal(err)
	}
	p.Pause()
	fresh := dial(t, p) // accepted, held before dialing upstream
	for _, c := range []*net.TCPConn{live, fresh} {
		c.Write([]byte{'x'})
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); !isTimeout(err) {
			t.Fatalf("read while paused: %v, want a timeout", err)
		}
	}
	p.Resume()
	for _, c := range []*net.TCPConn{live, fresh} {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			t.Fatalf("after resume: %v", err)
		}
	}
}

func TestCutAll(t *testing.T) {
	noLeak(t)
	up := newServer(t, echo)
	p := startProxy(t, up.addr(), nil)
	a, b := dial(t, p), dial(t, p)
	for _, c := range []*net.TCPConn{a, b} {
		if err := roundTrip(c); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.CutAll(CutReset); n != 2 {
		t.Fatalf("CutAll cut %d, want 2", n)
	}
	for _, c := range []*net.TCPConn{a, b} {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := roundTrip(c); err == nil || isTimeout(err) {
			t.Fatalf("after CutAll: %v", err)
		}
	}
	if err := roundTrip(dial(t, p)); err != nil {
		t.Fatalf("new connection after CutAll: %v", err)
	}
}

func TestUpstreamDown(t *testing.T) {
	noLeak(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	p := startProxy(t, addr, nil)
	// The proxy resets the client at once; that may even fail the dial.
	if c, err := net.Dial("tcp", p.Addr()); err == nil {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := roundTrip(c); err == nil || isTimeout(err) {
			t.Fatalf("round trip with upstream down: %v", err)
		}
		c.Close()
	}
	waitFor(t, "dial error", func() bool { return p.Stats().DialErrors == 1 })
}

// Close in the middle of everything (transfers, throttled, paused, hung,
// latency) stops every goroutine the proxy started.
func TestCloseStopsEverything(t *testing.T) {
	for _, paused := range []bool{false, true} {
		t.Run(fmt.Sprintf("paused=%v", paused), func(t *testing.T) {
			noLeak(t)
			up := newServer(t, echo)
			p := startProxy(t, up.addr(), Sequence(Faults{},
				Faults{Up: DirFaults{BytesPerSecond: 1000}},
				Faults{Up: DirFaults{Latency: time.Hour}},
				Faults{Up: DirFaults{CutAfterBytes: 1}, Mode: CutHang},
				Faults{CutAfter: time.Hour},
			))
			var conns []*net.TCPConn
			for range 6 {
				c := dial(t, p)
				conns = append(conns, c)
				go c.Write(make([]byte, 1<<20))
			}
			conns = append(conns, dial(t, p)) // idle
			waitFor(t, "seven connections", func() bool { return p.Stats().Conns == 7 })
			if paused {
				p.Pause()
				dial(t, p) // held at the gate
				waitFor(t, "eighth connection", func() bool { return p.Stats().Conns == 8 })
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			if st := p.Stats(); st.Active != 0 {
				t.Fatalf("after Close: %+v", st)
			}
			if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
				t.Fatal("proxy still accepting after Close")
			}
			for _, c := range conns {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := io.Copy(io.Discard, c); isTimeout(err) {
					t.Fatal("a client connection is still open after Close")
				}
				c.Close()
			}
		})
	}
}

// HTTP through the proxy: a client uses p.URL() as its base URL.
func TestHTTP(t *testing.T) {
	noLeak(t)
	var mu sync.Mutex
	var served []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		mu.Lock()
		served = append(served, fmt.Sprintf("%d %v", n, err))
		mu.Unlock()
		if err != nil {
			return
		}
		fmt.Fprintf(w, "%x", h.Sum(nil))
	}))
	t.Cleanup(srv.Close)
	p := startProxy(t, srv.Listener.Addr().String(),
		Only(1, Faults{Up: DirFaults{CutAfterBytes: 100_000}, Mode: CutReset}, Faults{}))
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	body := randomBytes(t, 1<<20)
	post := func() (string, error) {
		resp, err := client.Post(p.URL()+"/upload", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	want := fmt.Sprintf("%x", sha256.Sum256(body))
	if got, err := post(); err != nil || got != want {
		t.Fatalf("first POST: %q %v", got, err)
	}
	if _, err := post(); err == nil {
		t.Fatal("POST over the cut connection succeeded")
	}
	if got, err := post(); err != nil || got != want {
		t.Fatalf("retry: %q %v", got, err)
	}
	if cs, _ := p.Conn(1); cs.Up != 100_000 || cs.Cut != "up-bytes" {
		t.Fatalf("conn 1: %+v", cs)
	}
	srv.Close() // waits for handlers
	mu.Lock()
	defer mu.Unlock()
	// Handlers finish in any order: the cut one may end after the retry.
	whole := 0
	for _, s := range served {
		if s == fmt.Sprintf("%d <nil>", len(body)) {
			whole++
		}
	}
	if len(served) != 3 || whole != 2 {
		t.Fatalf("server saw %q; the two clean requests must arrive whole and the cut one must not", served)
	}
}
