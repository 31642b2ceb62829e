package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/store"
	"github.com/spotcheck/spotcheck/server/store/storetest"
	"github.com/spotcheck/spotcheck/syncproto"
)

// The HTTP edge: metrics, connection and body limits, headers. These are
// properties of the HTTP layer, not of the database, so most run on SQLite
// alone.

// sqliteHarness is a harness on SQLite.
func sqliteHarness(t *testing.T) *apptest.Harness {
	t.Helper()
	return apptest.New(t, storetest.MustOpenDB(t, store.SQLite))
}

// edgeServer is a second API server on the harness's services, configured
// by setup before it serves; it returns the base URL.
func edgeServer(t *testing.T, h *apptest.Harness, logger *slog.Logger, setup func(s *api.Server)) (*api.Server, string) {
	t.Helper()
	s := api.New(h.App.API.Services, h.App.DB, logger)
	if setup != nil {
		setup(s)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		<-done
	})
	return s, "http://" + s.Addr().String()
}

// rawExchange writes req on a new connection and reads until the server
// closes it (the request should say Connection: close), or 20 s pass.
func rawExchange(t *testing.T, addr string, parts ...string) (string, error) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	for _, p := range parts {
		if _, err := io.WriteString(conn, p); err != nil {
			return "", err
		}
	}
	b, err := io.ReadAll(conn)
	return string(b), err
}

func hostOf(url string) string { return strings.TrimPrefix(url, "http://") }

// Metric labels come from a closed set: a made-up method or path adds no
// series, however many requests carry one.
func TestMetrics_LabelsFromAClosedSet(t *testing.T) {
	h := sqliteHarness(t)
	addr := hostOf(h.URL)
	long := "M" + strings.Repeat("A", 4000)
	for i := range 5 {
		method := fmt.Sprintf("%s%d", long, i)
		for _, path := range []string{"/x", "/healthz", fmt.Sprintf("/v1/nothing/%d", i)} {
			if _, err := rawExchange(t, addr, method+" "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
		}
		h.Do(t, "GET", fmt.Sprintf("/no/such/path/%d", i), "", nil)
	}
	h.Do(t, "GET", "/healthz", "", nil)
	body := string(h.Do(t, "GET", "/metrics", apptest.MetricsToken, nil).Body)
	if strings.Contains(body, "MAAAA") || strings.Contains(body, "/no/such/path") || strings.Contains(body, "/v1/nothing") {
		t.Fatalf("client-chosen methods or paths became labels:\n%s", grepLines(body, "spotcheck_http_requests_total"))
	}
	for _, want := range []string{`method="other"`, `route="unmatched"`, `method="GET",route="/healthz"`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(body, "spotcheck_http_requests_total"))
		}
	}
}

// /metrics is not public: on the API's listener only with the metrics token
// (and not at all without one configured); a separate metrics address serves
// it to whoever reaches that address.
func TestMetrics_NotPublic(t *testing.T) {
	h := sqliteHarness(t)
	if r := h.Do(t, "GET", "/metrics", "", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("without the token: %d, want 401", r.Status)
	}
	if r := h.Do(t, "GET", "/metrics", "wrong-token-wrong-token", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("with a wrong token: %d, want 401", r.Status)
	}
	if r := h.Do(t, "GET", "/metrics", apptest.MetricsToken, nil); r.Status != http.StatusOK || !bytes.Contains(r.Body, []byte("spotcheck_http_requests_total")) {
		t.Errorf("with the token: %d", r.Status)
	}

	s, url := edgeServer(t, h, nil, func(s *api.Server) {
		if err := s.ListenMetrics("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	})
	if r := h.Send(t, mustRequest(t, "GET", url+"/metrics")); r.Status != http.StatusNotFound {
		t.Errorf("no token configured, API listener: %d, want 404", r.Status)
	}
	r := h.Send(t, mustRequest(t, "GET", "http://"+s.MetricsAddr().String()+"/metrics"))
	if r.Status != http.StatusOK || !bytes.Contains(r.Body, []byte("go_goroutines")) {
		t.Errorf("metrics listener: %d", r.Status)
	}
	if r := h.Send(t, mustRequest(t, "GET", "http://"+s.MetricsAddr().String()+"/v1/me")); r.Status != http.StatusNotFound {
		t.Errorf("metrics listener serves the API: %d", r.Status)
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// A Shutdown that comes before Serve (a signal during start-up) stops the
// server: Serve returns instead of serving on.
func TestServer_ShutdownBeforeServe(t *testing.T) {
	h := sqliteHarness(t)
	s := api.New(h.App.API.Services, h.App.DB, nil)
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if err := s.ListenMetrics("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after Shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		s.Shutdown(ctx)
		t.Fatal("Serve kept serving after Shutdown")
	}
}

// slowLimits makes the body rate bound small enough to watch in a test:
// 0.5 s of grace, then 2,000 bytes a second on average.
func slowLimits(s *api.Server) {
	s.BodyGrace, s.MinBodyRate = 500*time.Millisecond, 2000
}

// A client that sends 3 bytes of a 100,000-byte body and stops is cut off;
// the connection does not stay open.
func TestServer_SlowBodyIsCutOff(t *testing.T) {
	h := sqliteHarness(t)
	_, url := edgeServer(t, h, nil, slowLimits)
	root := "Authorization: Bearer " + h.Token(t, "root") + "\r\n"
	for path, ct := range map[string]string{syncproto.PathLogin: "application/json", "/v1/imports/enterprises": "text/csv", syncproto.PathUploads + "/abc": "application/offset+octet-stream"} {
		out, err := rawExchange(t, hostOf(url), "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Type: "+ct+"\r\n"+root+
			"Content-Length: 100000\r\n\r\n{\"u")
		if err != nil {
			t.Fatalf("%s: the connection stayed open: %v (read %q)", path, err, out)
		}
		if strings.HasPrefix(out, "HTTP/1.1 2") || strings.HasPrefix(out, "HTTP/1.1 5") {
			t.Fatalf("%s: a truncated body was answered %q", path, out)
		}
	}
}

// A body that arrives slowly but steadily, above the minimum rate, goes
// through whole.
func TestServer_SlowSteadyBodyPasses(t *testing.T) {
	h := sqliteHarness(t)
	_, url := edgeServer(t, h, nil, slowLimits)
	body := fmt.Sprintf(`{"username":"root","password":%q}`, apptest.Password) + strings.Repeat(" ", 6000)
	conn, err := net.Dial("tcp", hostOf(url))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", syncproto.PathLogin, len(body))
	// 500 bytes every 100 ms: 5,000 bytes a second, above the 2,000 needed,
	// for 1.2 s in all, well past the grace.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for rest := body; rest != ""; <-tick.C {
		n := min(500, len(rest))
		if _, err := io.WriteString(conn, rest[:n]); err != nil {
			t.Fatalf("the server cut a steady body off: %v", err)
		}
		rest = rest[n:]
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
}

// Connections beyond the cap wait until one closes.
func TestServer_ConnectionCap(t *testing.T) {
	h := sqliteHarness(t)
	_, url := edgeServer(t, h, nil, func(s *api.Server) { s.MaxConns = 2 })
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", hostOf(url))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	// Both slots are taken once each connection is being served: a request
	// on the first answers when it is.
	if _, err := io.WriteString(held[0], "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(held[0])
	held[0].SetDeadline(time.Now().Add(10 * time.Second))
	if resp, err := http.ReadResponse(br, nil); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if _, err := io.WriteString(held[1], "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	held[1].SetDeadline(time.Now().Add(10 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(held[1]), nil); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}

	third, err := net.Dial("tcp", hostOf(url))
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if _, err := io.WriteString(third, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	third.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := third.Read(make([]byte, 1)); !errors.Is(err, nil) {
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("third connection: %v", err)
		}
	} else {
		t.Fatal("a third connection was served beyond the cap of 2")
	}
	held[0].Close()
	third.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(third), nil)
	if err != nil {
		t.Fatalf("the third connection was not served once a slot was free: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// Every handler's body is read or discarded before the answer: a handler
// that ignores its body, asked with Connection: close, still answers whole
// (an unread body made the close reset the connection mid-answer).
func TestServer_UnreadBodyDoesNotResetTheAnswer(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		is := h.IssueCampaign(t, apptest.CampaignSpec{})
		token := h.Token(t, "coord-a")
		path := fmt.Sprintf("/v1/campaigns/%d/packets", is.Campaign.ID)
		// The body is valid JSON ({} and spaces), large enough that the
		// server cannot have it buffered when the handler answers.
		body := "{}" + strings.Repeat(" ", 200<<10)
		var wg sync.WaitGroup
		errs := make(chan string, 20)
		for range 20 {
			wg.Go(func() {
				out, err := rawExchange(t, hostOf(h.URL), "POST "+path+" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+token+
					"\r\nContent-Type: application/json\r\nConnection: close\r\n"+fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)), body)
				if err != nil {
					errs <- fmt.Sprintf("%v after %d bytes", err, len(out))
					return
				}
				resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(out)), nil)
				if err != nil {
					errs <- fmt.Sprintf("unreadable answer: %v", err)
					return
				}
				b, err := io.ReadAll(resp.Body)
				if err != nil || resp.StatusCode != http.StatusOK || !bytes.HasSuffix(b, []byte("}\n")) {
					errs <- fmt.Sprintf("status %d, %d bytes of body: %v", resp.StatusCode, len(b), err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	})
}

// API answers are not for caches; a client's request id is kept only when
// it is short and plain.
func TestServer_HeadersNoStoreAndRequestID(t *testing.T) {
	h := sqliteHarness(t)
	for _, path := range []string{"/v1/me", syncproto.PathLogin} {
		r := h.Do(t, "GET", path, h.Token(t, "admin-a"), nil)
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", path, got)
		}
	}
	r := h.Do(t, "POST", syncproto.PathLogin, "", map[string]string{"username": "admin-a", "password": apptest.Password})
	if r.Status != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("login: %d, Cache-Control %q", r.Status, r.Header.Get("Cache-Control"))
	}

	for _, tt := range []struct {
		sent string
		keep bool
	}{
		{"req-42.a_b:c", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"<script>alert(1)</script>", false},
		{"a b", false},
		{"日志", false},
	} {
		req := mustRequest(t, "GET", h.URL+"/v1/nothing")
		req.Header.Set("X-Request-Id", tt.sent)
		r := h.Send(t, req)
		got := r.Header.Get("X-Request-Id")
		if tt.keep && got != tt.sent {
			t.Errorf("X-Request-Id %q came back as %q", tt.sent, got)
		}
		if !tt.keep && (got == tt.sent || got == "" || len(got) > 64) {
			t.Errorf("X-Request-Id %q came back as %q, want a fresh one", tt.sent, got)
		}
		if e := r.Error(); e.RequestID != got {
			t.Errorf("body request_id %q, header %q", e.RequestID, got)
		}
	}
}

// X-Forwarded-For is believed only from a trusted proxy.
func TestServer_TrustedProxy(t *testing.T) {
	h := sqliteHarness(t)
	remoteOf := func(trusted string) string {
		var buf syncBuffer
		_, url := edgeServer(t, h, slog.New(slog.NewJSONHandler(&buf, nil)), func(s *api.Server) {
			if trusted != "" {
				_, n, err := net.ParseCIDR(trusted)
				if err != nil {
					t.Fatal(err)
				}
				s.TrustProxies([]*net.IPNet{n})
			}
		})
		req := mustRequest(t, "GET", url+"/healthz")
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		req.Header.Set("X-Forwarded-Proto", "https")
		h.Send(t, req)
		for _, line := range strings.Split(buf.String(), "\n") {
			if i := strings.Index(line, `"remote":"`); i >= 0 {
				rest := line[i+len(`"remote":"`):]
				return rest[:strings.IndexByte(rest, '"')]
			}
		}
		t.Fatalf("no request log line: %s", buf.String())
		return ""
	}
	if got := remoteOf(""); got != "127.0.0.1" {
		t.Errorf("no trusted proxy: remote %q, want 127.0.0.1", got)
	}
	if got := remoteOf("10.0.0.0/8"); got != "127.0.0.1" {
		t.Errorf("loopback not trusted: remote %q, want 127.0.0.1", got)
	}
	if got := remoteOf("127.0.0.0/8"); got != "203.0.113.7" {
		t.Errorf("trusted proxy: remote %q, want 203.0.113.7", got)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// An upload's Location is a path (or on the configured public URL), never
// built from the Host header; the upload's files are private to the server.
func TestUploads_LocationAndFileModes(t *testing.T) {
	h := sqliteHarness(t)
	d := newFieldDevice(t, h, "insp-a1")
	content := pngBytes("location", 300)
	ref := attachment(content)
	create := func(base string) *apptest.Response {
		req := d.request(t, "POST", syncproto.PathUploads, nil)
		u, err := neturl.Parse(base + syncproto.PathUploads)
		if err != nil {
			t.Fatal(err)
		}
		req.URL = u
		req.Host = "attacker.example:8443" // a forged Host header
		req.Header.Set("X-Forwarded-Host", "attacker.example")
		req.Header.Set("X-Forwarded-Proto", "http")
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Upload-Length", strconv.Itoa(len(content)))
		req.Header.Set("Upload-Metadata", syncproto.UploadMetaSHA256+" "+base64.StdEncoding.EncodeToString([]byte(ref.SHA256))+","+
			syncproto.UploadMetaContentType+" "+base64.StdEncoding.EncodeToString([]byte(ref.ContentType)))
		r := h.Send(t, req)
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		return r
	}

	loc := create(h.URL).Header.Get("Location")
	if !strings.HasPrefix(loc, syncproto.PathUploads+"/") || strings.Contains(loc, "attacker") {
		t.Fatalf("Location %q, want a path under %s", loc, syncproto.PathUploads)
	}
	id := strings.TrimPrefix(loc, syncproto.PathUploads+"/")
	for _, p := range []string{filepath.Join(h.App.UploadDir, id), filepath.Join(h.App.UploadDir, id+".info")} {
		if st, err := os.Stat(p); err != nil {
			t.Fatal(err)
		} else if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(p), st.Mode().Perm())
		}
	}
	if r := d.patch(t, loc, 0, content); r.Status != http.StatusNoContent {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	if st, err := os.Stat(h.App.Blobs.Path(ref.SHA256)); err != nil {
		t.Fatal(err)
	} else if st.Mode().Perm() != 0o600 {
		t.Errorf("blob: mode %o, want 600", st.Mode().Perm())
	}

	_, url := edgeServer(t, h, nil, func(s *api.Server) { s.PublicURL = "https://spotcheck.example.org/field" })
	loc = create(url).Header.Get("Location")
	if !strings.HasPrefix(loc, "https://spotcheck.example.org/field"+syncproto.PathUploads+"/") {
		t.Fatalf("Location %q, want one on the public URL", loc)
	}
}

// The body-rate bound, on a fake clock: a 32 MiB upload chunk over a steady
// 1 Mbit/s link always reads within its deadline, while a client that sent
// 3 bytes must have sent more within the grace.
func TestRateBody_Bound(t *testing.T) {
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	start := now
	var deadline time.Time
	const link = 1_000_000 / 8 // bytes per second
	src := io.NopCloser(io.LimitReader(zeros{}, 32<<20))
	b := api.NewRateBody(src, api.DefaultBodyGrace, api.DefaultMinBodyRate, func() time.Time { return now },
		func(d time.Time) error { deadline = d; return nil })
	buf := make([]byte, 32<<10)
	for {
		n, err := b.Read(buf)
		now = now.Add(time.Duration(float64(n) / link * float64(time.Second)))
		if n > 0 && now.After(deadline) {
			t.Fatalf("at %v and %d bytes, past the deadline %v", now.Sub(start), n, deadline.Sub(start))
		}
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if !deadline.IsZero() {
		t.Errorf("the deadline is left at %v after the body ended; it would cut a long poll", deadline)
	}

	now = start
	b = api.NewRateBody(io.NopCloser(threeBytes{}), api.DefaultBodyGrace, api.DefaultMinBodyRate, func() time.Time { return now },
		func(d time.Time) error { deadline = d; return nil })
	b.Read(make([]byte, 100))
	b.Read(make([]byte, 100)) // the deadline for what follows the 3 bytes
	if got := deadline.Sub(start); got > 11*time.Second {
		t.Errorf("a stalled body may wait %v, want about the %v grace", got, api.DefaultBodyGrace)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// threeBytes is a body whose every read gives 3 bytes.
type threeBytes struct{}

func (threeBytes) Read(p []byte) (int, error) { return copy(p, "abc"), nil }

// A long poll waits past the body's deadline: once the body is read, the
// connection has no read deadline left to cut the wait off.
func TestServer_LongPollOutlivesTheBodyDeadline(t *testing.T) {
	h := sqliteHarness(t)
	d := newFieldDevice(t, h, "insp-a1")
	_, url := edgeServer(t, h, nil, func(s *api.Server) {
		slowLimits(s) // the body's deadline: 0.5 s after the start
		s.MaxPullWait = 2 * time.Second
	})
	_, head := d.pullAll(t, 0)
	req := d.request(t, "POST", syncproto.PathPull, []byte(fmt.Sprintf(`{"device_id":%d,"cursor":%q,"limit":10,"wait_seconds":2}`, d.ID, head.Cursor)))
	u, err := neturl.Parse(url + syncproto.PathPull)
	if err != nil {
		t.Fatal(err)
	}
	req.URL = u
	r := h.Send(t, req)
	if r.Status != http.StatusOK {
		t.Fatalf("long poll: %d %s", r.Status, r.Body)
	}
}
