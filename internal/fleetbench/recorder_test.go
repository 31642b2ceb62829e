package fleetbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spotcheck/spotcheck/syncproto"
)

// Request kinds, told apart by method and path.
const (
	kindPush         = "push"
	kindPull         = "pull"
	kindMissing      = "missing-query"
	kindUploadCreate = "upload-create"
	kindUploadBatch  = "upload-batch"
	kindUploadPatch  = "upload-patch"
	kindUploadHead   = "upload-head"
	kindLogin        = "login"
	kindRefresh      = "refresh"
	kindRegister     = "device-register"
	kindOther        = "other"
)

// kindOrder is the order of kinds in the report.
var kindOrder = []string{kindLogin, kindRegister, kindRefresh, kindMissing, kindUploadBatch, kindUploadCreate, kindUploadPatch, kindUploadHead, kindPush, kindPull, kindOther}

func classify(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == syncproto.PathPush:
		return kindPush
	case p == syncproto.PathPull:
		return kindPull
	case p == syncproto.PathAttachmentsMissing:
		return kindMissing
	case p == syncproto.PathAttachmentsBatch:
		return kindUploadBatch
	case p == syncproto.PathLogin:
		return kindLogin
	case p == syncproto.PathRefresh:
		return kindRefresh
	case p == syncproto.PathDevices && r.Method == http.MethodPost:
		return kindRegister
	case p == syncproto.PathUploads && r.Method == http.MethodPost:
		return kindUploadCreate
	case strings.HasPrefix(p, syncproto.PathUploads+"/") && r.Method == http.MethodPatch:
		return kindUploadPatch
	case strings.HasPrefix(p, syncproto.PathUploads+"/") && r.Method == http.MethodHead:
		return kindUploadHead
	}
	return kindOther
}

// key is a stage and a request kind.
type key struct{ stage, kind string }

// failure is one kind of failed attempt: a transport error, or an HTTP
// status with the syncproto error code of its body.
type failure struct{ stage, kind, what string }

// recorder collects every request of every device: the latency of each
// exchange that got a successful answer (from sending the request to the
// last byte of the response body), its bytes, and each failed attempt by
// kind. The SDK retries transient failures; every attempt passes through
// here, so each failed one is counted.
type recorder struct {
	mu        sync.Mutex
	stage     string
	lat       map[key][]time.Duration
	up, down  map[key]int64
	fails     map[failure]int
	syncFails map[failure]int // Sync calls that gave up after the SDK's own retries
}

func newRecorder() *recorder {
	return &recorder{
		lat: map[key][]time.Duration{}, up: map[key]int64{}, down: map[key]int64{},
		fails: map[failure]int{}, syncFails: map[failure]int{},
	}
}

// setStage names the stage later requests count under. Stages are run one
// after another with no request in flight in between.
func (r *recorder) setStage(s string) {
	r.mu.Lock()
	r.stage = s
	r.mu.Unlock()
}

func (r *recorder) currentStage() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stage
}

func (r *recorder) ok(k key, d time.Duration, up, down int64) {
	r.mu.Lock()
	r.lat[k] = append(r.lat[k], d)
	r.up[k] += up
	r.down[k] += down
	r.mu.Unlock()
}

func (r *recorder) fail(k key, what string) {
	r.mu.Lock()
	r.fails[failure{k.stage, k.kind, what}]++
	r.mu.Unlock()
}

func (r *recorder) syncFailed(stage string, err error) {
	r.mu.Lock()
	r.syncFails[failure{stage, "Sync", shorten(err.Error())}]++
	r.mu.Unlock()
}

// requests returns how many attempts of stage were made (answered or failed).
func (r *recorder) requests(stage string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for k, l := range r.lat {
		if k.stage == stage {
			n += len(l)
		}
	}
	for f, c := range r.fails {
		if f.stage == stage {
			n += c
		}
	}
	return n
}

// transport records every round trip of one device.
type transport struct {
	rec  *recorder
	next http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	k := key{t.rec.currentStage(), classify(req)}
	up := max(req.ContentLength, 0)
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.rec.fail(k, "transport: "+errKind(err))
		return nil, err
	}
	if resp.StatusCode >= 400 {
		// Read the (small) error body here to name the failure by its code,
		// then hand the same bytes on to the SDK.
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		what := fmt.Sprintf("HTTP %d", resp.StatusCode)
		var e syncproto.Error
		if json.Unmarshal(body, &e) == nil && e.Code != "" {
			what += " " + e.Code
		}
		if rerr != nil {
			what += " (body cut: " + errKind(rerr) + ")"
		}
		t.rec.fail(k, what)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	resp.Body = &timedBody{ReadCloser: resp.Body, rec: t.rec, k: k, start: start, up: up}
	return resp, nil
}

// timedBody records the exchange when its body has been read to the end (or
// fails while being read).
type timedBody struct {
	io.ReadCloser
	rec   *recorder
	k     key
	start time.Time
	up, n int64
	done  bool
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err != nil && !b.done {
		b.done = true
		if err == io.EOF {
			b.rec.ok(b.k, time.Since(b.start), b.up, b.n)
		} else {
			b.rec.fail(b.k, "transport (response body): "+errKind(err))
		}
	}
	return n, err
}

func (b *timedBody) Close() error {
	if !b.done {
		// Closed before the end: count it as answered at this point (the SDK
		// always reads to the end first, so this is not expected).
		b.done = true
		b.rec.ok(b.k, time.Since(b.start), b.up, b.n)
	}
	return b.ReadCloser.Close()
}

// errKind names a transport error without addresses or ports.
func errKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no free local port"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "server closed the connection (EOF)"
	}
	return shorten(err.Error())
}

// shorten drops what varies between occurrences of the same error (local
// ports, upload ids) so they count as one kind.
func shorten(s string) string {
	fields := strings.Fields(s)
	for i, f := range fields {
		if strings.Contains(f, "127.0.0.1:") || strings.Contains(f, "/v1/uploads/") {
			fields[i] = "…"
		}
	}
	s = strings.Join(fields, " ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// dist is the distribution of a set of durations.
type dist struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

func distOf(ds []time.Duration) dist {
	if len(ds) == 0 {
		return dist{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return dist{N: len(s), P50: pct(s, 50), P90: pct(s, 90), P99: pct(s, 99), Max: s[len(s)-1]}
}

// pct is the nearest-rank percentile of sorted durations.
func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fmtDur prints a duration in milliseconds below 10 s, else in seconds.
func fmtDur(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%.1f ms", ms(d))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}
