// Command loadtest runs the hardening load test against one real server
// process on loopback and checks that it holds: the built binary runs
// `spotcheck serve --demo` on SQLite in a temporary directory, and these
// run against it at once —
//
//  1. requests whose method is 30 KB of garbage (metric-label exhaustion);
//  2. an inspectors import of a zip-bomb .xlsx, one row holding one huge
//     cell, as a department admin (culture-admin);
//  3. slow bodies: connections that announce Content-Length 100000, send 3
//     bytes and stall;
//  4. wrong-password logins at once from many loopback addresses, each with
//     its own X-Forwarded-For;
//  5. upload creations (32 MiB each) by one inspector's device;
//
// while /healthz is polled every 200 ms (every poll must answer 200 within
// two seconds) and the server's resident memory is read from
// /proc/PID/status. It prints the peak RSS (VmHWM), the health polls and
// what each attack got, and exits 1 when the peak is over -max-rss or a
// health poll failed. Everything is bounded in count and time and talks to
// 127.0.0.0/8 only.
//
//	go run ./internal/loadtest            # builds the server, the full run
//	go run ./internal/loadtest -h         # the knobs
//
// Linux only (it reads /proc).
package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spotcheck/spotcheck/internal/serverproc"
	"github.com/spotcheck/spotcheck/syncproto"
)

// Config sizes a run; Full is the documented one.
type Config struct {
	Bin     string        // the spotcheck binary; empty: go build it
	Attack  time.Duration // how long the attacks may run before everything stops
	MaxRSS  int64         // bytes; the run fails above it
	Methods int           // requests with a garbage method
	// MethodBytes is each garbage method's length.
	MethodBytes int
	XLSXCell    int64 // bytes of spaces in the bomb's one cell
	SlowConns   int   // slow-body connections
	Logins      int   // concurrent wrong-password logins
	Uploads     int   // upload creations by one device
	Log         io.Writer
}

// Full is the run the issue asks for.
var Full = Config{
	Attack: 40 * time.Second, MaxRSS: 512 << 20,
	Methods: 2000, MethodBytes: 30_000, XLSXCell: 2 << 30,
	SlowConns: 3000, Logins: 200, Uploads: 300,
}

// Result is what a run saw.
type Result struct {
	PeakRSS, LastRSS int64 // VmHWM and the last VmRSS, bytes
	HealthOK         int
	HealthFailed     int
	HealthMaxLatency time.Duration
	HealthErrors     []string // the first few failures
	Attacks          map[string]string
}

// Failed says why the run failed, or "".
func (r *Result) Failed(cfg Config) string {
	var why []string
	if r.PeakRSS > cfg.MaxRSS {
		why = append(why, fmt.Sprintf("peak RSS %s over %s", mib(r.PeakRSS), mib(cfg.MaxRSS)))
	}
	if r.HealthFailed > 0 || r.HealthOK == 0 {
		why = append(why, fmt.Sprintf("%d of %d health polls failed", r.HealthFailed, r.HealthOK+r.HealthFailed))
	}
	return strings.Join(why, "; ")
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func main() {
	cfg := Full
	flag.StringVar(&cfg.Bin, "bin", "", "spotcheck binary to run; empty: build ./server/cmd/spotcheck into a temporary directory")
	flag.DurationVar(&cfg.Attack, "duration", cfg.Attack, "how long the attacks run at most")
	maxRSS := flag.Int64("max-rss-mib", cfg.MaxRSS>>20, "fail when the server's peak RSS exceeds this many MiB")
	flag.IntVar(&cfg.Methods, "methods", cfg.Methods, "requests with a garbage method")
	flag.IntVar(&cfg.MethodBytes, "method-bytes", cfg.MethodBytes, "length of each garbage method")
	flag.Int64Var(&cfg.XLSXCell, "xlsx-cell", cfg.XLSXCell, "bytes of spaces in the bomb .xlsx's one cell (0: no import)")
	flag.IntVar(&cfg.SlowConns, "slow-conns", cfg.SlowConns, "slow-body connections (bounded by the open-files limit)")
	flag.IntVar(&cfg.Logins, "logins", cfg.Logins, "concurrent wrong-password logins")
	flag.IntVar(&cfg.Uploads, "uploads", cfg.Uploads, "upload creations by one device")
	flag.Parse()
	cfg.MaxRSS = *maxRSS << 20
	cfg.Log = os.Stderr
	res, err := Run(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(2)
	}
	res.Print(os.Stdout, cfg)
	if why := res.Failed(cfg); why != "" {
		fmt.Printf("FAIL: %s\n", why)
		os.Exit(1)
	}
	fmt.Println("PASS")
}

// Print writes the figures.
func (r *Result) Print(w io.Writer, cfg Config) {
	fmt.Fprintf(w, "server peak RSS (VmHWM): %s (limit %s); RSS at the end: %s\n", mib(r.PeakRSS), mib(cfg.MaxRSS), mib(r.LastRSS))
	fmt.Fprintf(w, "healthz: %d ok, %d failed, slowest %v\n", r.HealthOK, r.HealthFailed, r.HealthMaxLatency.Round(time.Millisecond))
	for _, e := range r.HealthErrors {
		fmt.Fprintf(w, "  healthz failure: %s\n", e)
	}
	names := make([]string, 0, len(r.Attacks))
	for n := range r.Attacks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "%s: %s\n", n, r.Attacks[n])
	}
}

// Run starts the server, runs the attacks and stops everything.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	began := time.Now()
	logf := func(format string, args ...any) {
		fmt.Fprintf(cfg.Log, "loadtest: %5.1fs "+format+"\n", append([]any{time.Since(began).Seconds()}, args...)...)
	}
	raiseFileLimit()
	tmp, err := os.MkdirTemp("", "spotcheck-loadtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := cfg.Bin
	if bin == "" {
		bin = filepath.Join(tmp, "spotcheck")
		logf("building the server")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/spotcheck/spotcheck/server/cmd/spotcheck")
		build.Stdout, build.Stderr = cfg.Log, cfg.Log
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("build the server: %w", err)
		}
	}

	logf("starting %s serve --demo", bin)
	srv, base, err := startServer(ctx, bin, filepath.Join(tmp, "data"), cfg.Log)
	if err != nil {
		return nil, err
	}
	defer func() { srv.Stop(); logf("server stopped") }()

	setup, err := prepare(ctx, base, cfg)
	if err != nil {
		return nil, err
	}

	res := &Result{Attacks: map[string]string{}}
	actx, cancel := context.WithTimeout(ctx, cfg.Attack)
	defer cancel()
	var bg sync.WaitGroup
	// RSS, every 100 ms.
	bg.Add(1)
	go func() {
		defer bg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if hwm, rss, err := readRSS(srv.Cmd.Process.Pid); err == nil {
				res.PeakRSS, res.LastRSS = max(res.PeakRSS, hwm, rss), rss
			}
			select {
			case <-actx.Done():
				return
			case <-t.C:
			}
		}
	}()
	// /healthz, every 200 ms, on its own connections.
	var hmu sync.Mutex
	bg.Add(1)
	go func() {
		defer bg.Done()
		client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			start := time.Now()
			resp, err := client.Get(base + "/healthz")
			took := time.Since(start)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			hmu.Lock()
			res.HealthMaxLatency = max(res.HealthMaxLatency, took)
			if err != nil && actx.Err() == nil {
				res.HealthFailed++
				if len(res.HealthErrors) < 5 {
					res.HealthErrors = append(res.HealthErrors, fmt.Sprintf("at %v: %v", time.Since(setup.start).Round(time.Millisecond), err))
				}
			} else if err == nil {
				res.HealthOK++
			}
			hmu.Unlock()
			select {
			case <-actx.Done():
				return
			case <-t.C:
			}
		}
	}()

	attacks := map[string]func(context.Context) string{
		"1 garbage methods":  func(ctx context.Context) string { return garbageMethods(ctx, setup.addr, cfg.Methods, cfg.MethodBytes) },
		"3 xlsx bomb import": func(ctx context.Context) string { return xlsxBomb(ctx, base, setup.adminToken, setup.bomb) },
		"4 slow bodies":      func(ctx context.Context) string { return slowBodies(ctx, setup.addr, cfg.SlowConns) },
		"5 wrong-password logins": func(ctx context.Context) string {
			return wrongLogins(ctx, setup.addr, cfg.Logins)
		},
		"8 upload creations": func(ctx context.Context) string { return uploadCreations(ctx, base, setup.deviceToken, cfg.Uploads) },
	}
	var amu sync.Mutex
	var aw sync.WaitGroup
	logf("attacking for at most %v", cfg.Attack)
	setup.start = time.Now()
	for name, fn := range attacks {
		aw.Add(1)
		go func() {
			defer aw.Done()
			start := time.Now()
			out := fn(actx)
			amu.Lock()
			res.Attacks[name] = fmt.Sprintf("%s (%v)", out, time.Since(start).Round(time.Millisecond))
			amu.Unlock()
			logf("%s done", name)
		}()
	}
	aw.Wait()
	// Let the health poll and the sampler see the server after the attacks
	// too, briefly, then stop.
	time.Sleep(min(2*time.Second, max(0, time.Until(deadlineOf(actx)))))
	cancel()
	bg.Wait()
	if hwm, rss, err := readRSS(srv.Cmd.Process.Pid); err == nil {
		res.PeakRSS, res.LastRSS = max(res.PeakRSS, hwm), rss
	}
	return res, nil
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// raiseFileLimit lifts the soft open-files limit to the hard one, for the
// slow connections; the server inherits it.
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

func fileLimit() int {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) != nil {
		return 1024
	}
	return int(min(l.Cur, 1<<20))
}

// readRSS returns VmHWM and VmRSS of pid in bytes.
func readRSS(pid int) (hwm, rss int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmHWM" && k != "VmRSS") {
			continue
		}
		f := strings.Fields(v)
		if len(f) < 1 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		if k == "VmHWM" {
			hwm = n << 10
		} else {
			rss = n << 10
		}
	}
	return hwm, rss, nil
}

// startServer runs `bin serve --demo` on SQLite in dataDir on a free
// loopback port and waits for it to listen.
func startServer(ctx context.Context, bin, dataDir string, log io.Writer) (*serverproc.Proc, string, error) {
	cmd := exec.Command(bin, "serve", "--demo", "--addr", "127.0.0.1:0", "--data-dir", dataDir)
	cmd.Env = append(os.Environ(), "SPOTCHECK_LOG_LEVEL=error", "SPOTCHECK_DATABASE_URL=")
	cmd.Stderr = log
	p, err := serverproc.Start(ctx, cmd, 90*time.Second)
	if err != nil {
		return nil, "", err
	}
	return p, p.URL, nil
}

// setup is what the attacks need, made before they start.
type setup struct {
	addr        string // host:port
	adminToken  string // culture-admin
	deviceToken string // inspector01 on a registered device
	bomb        []byte // the .xlsx
	start       time.Time
}

const demoPassword = "spotcheck-demo"

func prepare(ctx context.Context, base string, cfg Config) (*setup, error) {
	s := &setup{addr: strings.TrimPrefix(base, "http://")}
	var err error
	if s.adminToken, err = login(ctx, base, "culture-admin", nil); err != nil {
		return nil, err
	}
	insp, err := login(ctx, base, "inspector01", nil)
	if err != nil {
		return nil, err
	}
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	var dev struct{ ID int64 }
	if err := call(ctx, base, "POST", "/v1/devices", insp, map[string]any{"name": "loadtest", "public_key": pub}, http.StatusCreated, &dev); err != nil {
		return nil, fmt.Errorf("register a device: %w", err)
	}
	if s.deviceToken, err = login(ctx, base, "inspector01", &dev.ID); err != nil {
		return nil, err
	}
	if cfg.XLSXCell > 0 {
		if s.bomb, err = bombXLSX(cfg.XLSXCell); err != nil {
			return nil, err
		}
		fmt.Fprintf(cfg.Log, "loadtest: the bomb .xlsx is %d bytes, %d once its cell is inflated\n", len(s.bomb), cfg.XLSXCell)
	}
	return s, nil
}

func login(ctx context.Context, base, username string, device *int64) (string, error) {
	var s struct {
		AccessToken string `json:"access_token"`
	}
	body := map[string]any{"username": username, "password": demoPassword}
	if device != nil {
		body["device_id"] = *device
	}
	if err := call(ctx, base, "POST", "/v1/auth/login", "", body, http.StatusOK, &s); err != nil {
		return "", fmt.Errorf("login %s: %w", username, err)
	}
	return s.AccessToken, nil
}

func call(ctx context.Context, base, method, path, token string, body any, want int, out any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, rb)
	}
	return json.Unmarshal(rb, out)
}

// tally counts outcomes by name, for the report.
type tally struct {
	mu sync.Mutex
	n  map[string]int
}

func (t *tally) add(k string) {
	t.mu.Lock()
	if t.n == nil {
		t.n = map[string]int{}
	}
	t.n[k]++
	t.mu.Unlock()
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := make([]string, 0, len(t.n))
	for k := range t.n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", t.n[k], k))
	}
	return strings.Join(parts, ", ")
}

func outcome(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return "?"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "closed by server"
	}
	return "error"
}

// statusOf reads the status line of a raw HTTP response.
func statusOf(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return "", fmt.Errorf("bad status line %q", line)
	}
	return f[1], nil
}

// garbageMethods sends n requests, 50 at a time, each on its own connection,
// whose method is size bytes of letters.
func garbageMethods(ctx context.Context, addr string, n, size int) string {
	var t tally
	method := "M" + strings.Repeat("A", max(size-1, 0))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(50, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				func() {
					c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
					if err != nil {
						t.add("dial " + outcome(err))
						return
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(10 * time.Second))
					fmt.Fprintf(c, "%s%d /x HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", method, i%10, addr)
					st, err := statusOf(bufio.NewReader(c))
					if err != nil {
						t.add(outcome(err))
						return
					}
					t.add(st)
				}()
			}
		}()
	}
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
			t.add("not sent (time up)")
		}
	}
	close(work)
	wg.Wait()
	return t.String()
}

// bombXLSX is a workbook whose one data row holds a cell of size spaces,
// deflated: a few MB that inflate to size.
func bombXLSX(size int64) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	files := []struct{ name, body string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`},
	}
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			return nil, err
		}
		io.WriteString(w, f.body)
	}
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		return nil, err
	}
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`+
		`<row r="1"><c r="A1" t="inlineStr"><is><t>department</t></is></c><c r="B1" t="inlineStr"><is><t>certificate_number</t></is></c>`+
		`<c r="C1" t="inlineStr"><is><t>certificate_valid_from</t></is></c><c r="D1" t="inlineStr"><is><t>certificate_valid_until</t></is></c>`+
		`<c r="E1" t="inlineStr"><is><t>name</t></is></c></row>`+
		`<row r="2"><c r="A2" t="inlineStr"><is><t>culture</t></is></c><c r="B2" t="inlineStr"><is><t>BOMB-0001</t></is></c>`+
		`<c r="C2" t="inlineStr"><is><t>2025-01-01</t></is></c><c r="D2" t="inlineStr"><is><t>2030-12-31</t></is></c>`+
		`<c r="E2" t="inlineStr"><is><t xml:space="preserve">`)
	spaces := bytes.Repeat([]byte{' '}, 1<<20)
	for left := size; left > 0; left -= int64(len(spaces)) {
		if _, err := w.Write(spaces[:min(int64(len(spaces)), left)]); err != nil {
			return nil, err
		}
	}
	io.WriteString(w, `</t></is></c></row></sheetData></worksheet>`)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// xlsxBomb posts the bomb as an inspectors import and reports the answer.
func xlsxBomb(ctx context.Context, base, token string, bomb []byte) string {
	if bomb == nil {
		return "skipped"
	}
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/v1/imports/inspectors", bytes.NewReader(bomb))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "no answer before the time was up"
		}
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 400))
	return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
}

// slowBodies opens n connections (fewer if the open-files limit is lower),
// each announcing a 100,000-byte login body and sending 3 bytes, then waits
// until the server closes them or the time is up.
func slowBodies(ctx context.Context, addr string, n int) string {
	if limit := fileLimit() - 500; n > limit {
		n = max(limit, 0)
	}
	var t tally
	var open, closed atomic.Int32
	var firstClose, lastClose atomic.Int64 // ms after start
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 200) // dial 200 at a time
	for range n {
		if ctx.Err() != nil {
			t.add("not opened (time up)")
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
			<-sem
			if err != nil {
				t.add("dial " + outcome(err))
				return
			}
			defer c.Close()
			open.Add(1)
			fmt.Fprintf(c, "POST /v1/auth/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"u", addr)
			stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()) })
			defer stop()
			st, err := statusOf(bufio.NewReader(c))
			if ctx.Err() != nil {
				t.add("still open at the end")
				return
			}
			ms := time.Since(start).Milliseconds()
			closed.Add(1)
			firstClose.CompareAndSwap(0, ms)
			for {
				old := lastClose.Load()
				if ms <= old || lastClose.CompareAndSwap(old, ms) {
					break
				}
			}
			if err != nil {
				t.add(outcome(err))
			} else {
				t.add("answered " + st)
			}
		}()
	}
	wg.Wait()
	if closed.Load() == 0 {
		return fmt.Sprintf("%d opened; %s; the server ended none", open.Load(), t.String())
	}
	return fmt.Sprintf("%d opened; %s; the server ended %d, between %.1f s and %.1f s", open.Load(), t.String(), closed.Load(),
		float64(firstClose.Load())/1000, float64(lastClose.Load())/1000)
}

// wrongLogins sends n wrong-password logins at once, each from its own
// loopback address (127.0.1.x…) with its own X-Forwarded-For, over the
// demo's accounts.
func wrongLogins(ctx context.Context, addr string, n int) string {
	users := []string{"culture-admin", "market-admin", "coordinator"}
	for i := 1; i <= 40; i++ {
		users = append(users, fmt.Sprintf("inspector%02d", i))
	}
	var t tally
	var slowest atomic.Int64
	var wg sync.WaitGroup
	startGate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+i/250), byte(1+i%250))}
			tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}).DialContext, DisableKeepAlives: true}
			client := &http.Client{Transport: tr, Timeout: 40 * time.Second}
			body := fmt.Sprintf(`{"username":%q,"password":"wrong-%d"}`, users[i%len(users)], i)
			req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/v1/auth/login", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.%d.%d", i/250, 1+i%250))
			<-startGate
			start := time.Now()
			resp, err := client.Do(req)
			took := time.Since(start).Milliseconds()
			for {
				old := slowest.Load()
				if took <= old || slowest.CompareAndSwap(old, took) {
					break
				}
			}
			if err != nil {
				t.add(outcome(err))
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			t.add(strconv.Itoa(resp.StatusCode))
		}()
	}
	close(startGate)
	wg.Wait()
	return fmt.Sprintf("%s; slowest answer %.1f s", t.String(), float64(slowest.Load())/1000)
}

// uploadCreations creates n uploads of 32 MiB each as one device, 50 at a
// time, and reports the answers.
func uploadCreations(ctx context.Context, base, token string, n int) string {
	var t tally
	work := make(chan int)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 20 * time.Second}
	for range min(50, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				sum := sha256.Sum256([]byte("loadtest upload " + strconv.Itoa(i)))
				sha := hex.EncodeToString(sum[:])
				req, _ := http.NewRequestWithContext(ctx, "POST", base+syncproto.PathUploads, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set(syncproto.HeaderProtocol, strconv.Itoa(syncproto.ProtocolVersion))
				req.Header.Set("Tus-Resumable", "1.0.0")
				req.Header.Set("Upload-Length", strconv.Itoa(32<<20))
				req.Header.Set("Upload-Metadata", "sha256 "+base64.StdEncoding.EncodeToString([]byte(sha))+",content_type "+base64.StdEncoding.EncodeToString([]byte("image/png")))
				resp, err := client.Do(req)
				if err != nil {
					t.add(outcome(err))
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				t.add(strconv.Itoa(resp.StatusCode))
			}
		}()
	}
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
			t.add("not sent (time up)")
		}
	}
	close(work)
	wg.Wait()
	return t.String()
}
