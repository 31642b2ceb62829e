package sdk

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"gorm.io/gorm"

	"github.com/spotcheck/spotcheck/syncproto"
)

// maxResponseBytes caps any response body the SDK reads.
const maxResponseBytes = 64 << 20

type deviceRow struct {
	ServerURL       string        `gorm:"column:server_url"`
	DeviceID        sql.NullInt64 `gorm:"column:device_id"`
	PrivateKey      []byte        `gorm:"column:private_key"`
	PublicKey       []byte        `gorm:"column:public_key"`
	Username        string        `gorm:"column:username"`
	UserJSON        string        `gorm:"column:user_json"`
	AccessToken     string        `gorm:"column:access_token"`
	AccessExpiresAt string        `gorm:"column:access_expires_at"`
	RefreshToken    string        `gorm:"column:refresh_token"`
	RevokedAt       string        `gorm:"column:revoked_at"`
	NeedsLogin      int           `gorm:"column:needs_login"`
}

func (c *Client) device(db *gorm.DB) (*deviceRow, error) {
	var rows []deviceRow
	if err := db.Raw(`SELECT * FROM device WHERE id = 1`).Scan(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, ErrNotEnrolled
	}
	return &rows[0], nil
}

// request is one HTTP exchange with the server.
type request struct {
	method string
	path   string // a path on the server, or an absolute URL
	body   []byte
	header http.Header
	auth   bool
	gzip   bool
	// stream, when body is nil, gives the body as a fresh reader for each
	// attempt, of streamSize bytes (a batch upload's files, read from disk
	// as they are sent).
	stream     func() (io.ReadCloser, error)
	streamSize int64
	// okStatus lists extra statuses returned to the caller without an error.
	okStatus []int
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (c *Client) serverURL(d *deviceRow) string {
	if d != nil && d.ServerURL != "" {
		return d.ServerURL
	}
	return c.cfg.ServerURL
}

// resolve returns path on the server at base: a path is appended to base
// (which may end in a proxy's path prefix); an absolute URL is taken as it is.
func resolve(base, path string) string {
	if isAbsolute(path) {
		return path
	}
	return strings.TrimRight(base, "/") + path
}

func isAbsolute(path string) bool {
	return strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://")
}

// origin is the scheme, host and port of a URL, with the default port
// spelled out; "" for a URL that does not parse.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return urlOrigin(u)
}

func urlOrigin(u *url.URL) string {
	scheme, port := strings.ToLower(u.Scheme), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// sameOrigin reports whether path, resolved on the server at base, stays on
// that server's origin: the only place the SDK sends its token and data.
func sameOrigin(base, path string) bool {
	o := origin(base)
	return o != "" && origin(resolve(base, path)) == o
}

// noForeignRedirects wraps a client's redirect policy: a redirect to another
// origin is refused, so the bearer token and the body never follow it.
func noForeignRedirects(hc *http.Client) *http.Client {
	out := *hc
	next := hc.CheckRedirect
	out.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if urlOrigin(req.URL) != urlOrigin(via[0].URL) {
			return fmt.Errorf("%w: a redirect to %s", ErrForeignOrigin, urlOrigin(req.URL))
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &out
}

// send makes one attempt. Network failures are ErrOffline; a status outside
// 2xx and okStatus is an *APIError.
func (c *Client) send(ctx context.Context, base, token string, r request) (*response, error) {
	body := r.body
	if r.gzip && body != nil {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
	}
	var rd io.Reader
	sent := int64(len(body))
	if body != nil {
		rd = bytes.NewReader(body)
	}
	if !sameOrigin(base, r.path) {
		return nil, fmt.Errorf("%w: %s is not on %s", ErrForeignOrigin, origin(resolve(base, r.path)), origin(base))
	}
	if body == nil && r.stream != nil {
		rc, err := r.stream()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		rd, sent = rc, r.streamSize
	}
	req, err := http.NewRequestWithContext(ctx, r.method, resolve(base, r.path), rd)
	if err != nil {
		return nil, err
	}
	if body == nil && r.stream != nil {
		req.ContentLength = r.streamSize
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	req.Header.Set(syncproto.HeaderProtocol, strconv.Itoa(syncproto.ProtocolVersion))
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.gzip && body != nil {
		req.Header.Set("Content-Encoding", "gzip")
	}
	req.Header.Set("Accept", "application/json")
	// Asked for explicitly (rather than left to net/http) so that the bytes
	// counted are those on the wire and a transport that does not
	// decompress still works; see gunzipBody.
	req.Header.Set("Accept-Encoding", "gzip")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	c.addBytes(sent, 0)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, ErrForeignOrigin) {
			return nil, err
		}
		return nil, offline(err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	c.addBytes(0, int64(len(rb)))
	if err == nil && strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		rb, err = gunzipBody(rb)
		resp.Header.Del("Content-Encoding")
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, offline(fmt.Errorf("reading the response: %w", err))
	}
	c.noteLimits(resp.Header)
	if len(body) <= rttSampleBytes && len(rb) <= rttSampleBytes && r.path != syncproto.PathPull {
		// A small exchange the server answers at once: a round trip.
		c.link.observeRTT(time.Since(start))
	}
	out := &response{status: resp.StatusCode, header: resp.Header, body: rb}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return out, nil
	}
	for _, s := range r.okStatus {
		if s == resp.StatusCode {
			return out, nil
		}
	}
	var e syncproto.Error
	if json.Unmarshal(rb, &e) != nil || e.Code == "" {
		e = syncproto.Error{Code: "http_" + strconv.Itoa(resp.StatusCode), Message: strings.TrimSpace(string(firstBytes(rb, 200)))}
	}
	var retry time.Duration
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			retry = time.Duration(n) * time.Second
		} else if t, err := http.ParseTime(s); err == nil {
			retry = time.Until(t)
		}
	}
	return out, newAPIError(resp.StatusCode, &e, retry)
}

// errCut marks a request whose established connection was cut (reset or
// closed mid-exchange): the server was there a moment ago, so the request is
// worth trying again at once. A connection that cannot be opened is not a cut.
var errCut = errors.New("the connection was cut")

// offline wraps a network failure in ErrOffline, and in errCut when it is a
// cut.
func offline(err error) error {
	if isCut(err) {
		return fmt.Errorf("%w: %w: %v", ErrOffline, errCut, err)
	}
	return fmt.Errorf("%w: %v", ErrOffline, err)
}

// isCut: an established connection was reset or closed mid-exchange. A
// reset read while the body is still being written closes the connection
// under the writer, which then fails with net.ErrClosed ("use of closed
// network connection"): that is the same cut, seen from the other side.
func isCut(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// gunzipBody decompresses a gzip answer, at most maxResponseBytes of it. A
// truncated one (a cut mid-answer) is an error, so the request is retried
// and nothing of it is applied.
func gunzipBody(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("gzip answer: %w", err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxResponseBytes+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("gzip answer: %w", err)
	case len(out) > maxResponseBytes:
		return nil, fmt.Errorf("gzip answer over %d bytes", maxResponseBytes)
	}
	return out, nil
}

// noteLimits keeps the batch sizes a server announces, within the
// protocol's bounds.
func (c *Client) noteLimits(h http.Header) {
	for _, l := range []struct {
		header string
		max    int64
		dst    *atomic.Int64
	}{
		{syncproto.HeaderPushLimit, syncproto.PushLimitMax, &c.pushLimit},
		{syncproto.HeaderPullLimit, syncproto.PullLimitMax, &c.pullLimit},
	} {
		if n, err := strconv.ParseInt(h.Get(l.header), 10, 64); err == nil && n > 0 {
			l.dst.Store(min(n, l.max))
		}
	}
}

// batchLimit is the announced limit, or the one every server takes.
func batchLimit(announced *atomic.Int64, floor int) int {
	return max(int(announced.Load()), floor)
}

func firstBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// call sends r with the device's session, refreshing the access token once on
// a 401, and retries transient failures with backoff.
func (c *Client) call(ctx context.Context, r request) (*response, error) {
	var out *response
	err := c.retry(ctx, func() error {
		var err error
		out, err = c.callOnce(ctx, r)
		return err
	})
	return out, err
}

func (c *Client) callOnce(ctx context.Context, r request) (*response, error) {
	d, err := c.device(c.db)
	if err != nil {
		return nil, err
	}
	if d.RevokedAt != "" {
		return nil, fmt.Errorf("%w (since %s)", ErrRevoked, d.RevokedAt)
	}
	if r.auth && (d.NeedsLogin != 0 || d.AccessToken == "") {
		return nil, fmt.Errorf("%w: the session ended", ErrAuth)
	}
	token := ""
	if r.auth {
		token = d.AccessToken
	}
	resp, err := c.send(ctx, c.serverURL(d), token, r)
	var ae *APIError
	if r.auth && errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
		if err := c.refresh(ctx, token); err != nil {
			return nil, err
		}
		if d, err = c.device(c.db); err != nil {
			return nil, err
		}
		resp, err = c.send(ctx, c.serverURL(d), d.AccessToken, r)
		if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			c.markNeedsLogin()
		}
	}
	if errors.Is(err, ErrRevoked) {
		c.markRevoked()
	}
	return resp, err
}

// refresh exchanges the refresh token for a new session, proving the device
// holds its key. A lost response is retried with the same token: the server
// answers a repeat within its grace window with the same new token.
func (c *Client) refresh(ctx context.Context, staleAccess string) error {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	d, err := c.device(c.db)
	if err != nil {
		return err
	}
	if d.AccessToken != staleAccess {
		return nil // another caller refreshed meanwhile
	}
	if d.RefreshToken == "" || !d.DeviceID.Valid {
		c.markNeedsLogin()
		return fmt.Errorf("%w: no refresh token", ErrAuth)
	}
	id := d.DeviceID.Int64
	req := syncproto.RefreshRequest{
		RefreshToken: d.RefreshToken, DeviceID: &id,
		DeviceProof: ed25519.Sign(ed25519.PrivateKey(d.PrivateKey), syncproto.RefreshProofMessage(d.RefreshToken)),
	}
	body, _ := json.Marshal(req)
	var sess syncproto.Session
	err = c.retry(ctx, func() error {
		resp, err := c.send(ctx, c.serverURL(d), "", request{method: http.MethodPost, path: syncproto.PathRefresh, body: body})
		if err != nil {
			return err
		}
		return json.Unmarshal(resp.body, &sess)
	})
	var ae *APIError
	switch {
	case errors.Is(err, ErrRevoked):
		c.markRevoked()
		return err
	case errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusNotFound):
		c.markNeedsLogin()
		return fmt.Errorf("%w: %s", ErrAuth, ae.Message)
	case err != nil:
		return err
	}
	return c.tx(func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE device SET access_token = ?, access_expires_at = ?, refresh_token = ?, needs_login = 0 WHERE id = 1`,
			sess.AccessToken, ts(sess.AccessExpiresAt), sess.RefreshToken).Error
	})
}

func (c *Client) markNeedsLogin() {
	if err := c.tx(func(tx *gorm.DB) error { return tx.Exec(`UPDATE device SET needs_login = 1 WHERE id = 1`).Error }); err != nil {
		c.log.Warn("record that the session ended", "err", err)
	}
}

func (c *Client) markRevoked() {
	err := c.tx(func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE device SET revoked_at = ? WHERE id = 1 AND revoked_at = ''`, ts(c.now())).Error
	})
	if err != nil {
		c.log.Warn("record that the device was revoked", "err", err)
	}
}

// retry runs fn until it succeeds, fails permanently, or MaxAttempts
// transient failures have passed, sleeping with jittered exponential backoff
// (or the server's Retry-After) in between. A first failure that is a cut
// connection is retried at once: the link dropped under a live exchange,
// and waiting would only leave it idle. Failures after that back off.
func (c *Client) retry(ctx context.Context, fn func() error) error {
	var err error
	deadline := time.Now().Add(c.cfg.RetryFor)
	waits := 0
	for attempt := 0; ; attempt++ {
		if err = fn(); err == nil || !isTransient(err) {
			return err
		}
		if c.cfg.MaxAttempts > 0 && attempt >= c.cfg.MaxAttempts-1 {
			break
		}
		if attempt == 0 && errors.Is(err, errCut) {
			c.log.Debug("retrying a cut request at once", "err", err)
			continue
		}
		wait := c.backoff(waits)
		waits++
		var ae *APIError
		if errors.As(err, &ae) && ae.RetryAfter > 0 {
			wait = min(ae.RetryAfter, c.cfg.BackoffMax)
		}
		// Retrying stops once the next try would start after RetryFor: a
		// server restarting for a few seconds is ridden out, a link that
		// is down is reported.
		if time.Now().Add(wait).After(deadline) {
			break
		}
		c.log.Debug("retrying after a transient error", "err", err, "wait", wait)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
	if !errors.Is(err, ErrOffline) {
		err = fmt.Errorf("%w: %w", ErrOffline, err)
	}
	return err
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.BackoffBase << min(attempt, 20)
	if d > c.cfg.BackoffMax || d <= 0 {
		d = c.cfg.BackoffMax
	}
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// getJSON / postJSON are authenticated JSON calls.
func (c *Client) postJSON(ctx context.Context, path string, in, out any, gz bool) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.postBody(ctx, path, body, out, gz)
}

// postBody is postJSON with the request's JSON already written.
func (c *Client) postBody(ctx context.Context, path string, body []byte, out any, gz bool) error {
	resp, err := c.call(ctx, request{method: http.MethodPost, path: path, body: body, auth: true, gzip: gz})
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return fmt.Errorf("%w: undecodable response from %s: %v", ErrOffline, path, err)
	}
	return nil
}

func (c *Client) addBytes(up, down int64) {
	if up == 0 && down == 0 {
		return
	}
	c.progMu.Lock()
	c.prog.BytesUp += up
	c.prog.BytesDown += down
	c.prog.SessionBytesUp += up
	c.prog.SessionBytesDown += down
	p := c.prog
	c.progMu.Unlock()
	if c.cfg.Progress != nil {
		c.cfg.Progress(p)
	}
}

func (c *Client) updateProgress(fn func(p *Progress)) {
	c.progMu.Lock()
	up, down := c.prog.ItemsUp, c.prog.ItemsDown
	fn(&c.prog)
	c.prog.SessionItemsUp += c.prog.ItemsUp - up
	c.prog.SessionItemsDown += c.prog.ItemsDown - down
	p := c.prog
	c.progMu.Unlock()
	if c.cfg.Progress != nil {
		c.cfg.Progress(p)
	}
}
