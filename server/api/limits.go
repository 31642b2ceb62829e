package api

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

// Slow clients: a request body must keep arriving at a minimum average rate
// (rateBody), one write of a response may block only so long (guardedWriter),
// and every request's body is read or discarded before its answer goes out
// (so that closing the connection never resets it under an unread body).

// maxDrain is the most of an unread body that is discarded before the answer;
// a larger remainder closes the connection instead.
const maxDrain = DefaultBodyLimit

// guardBody puts the request body behind a minimum-rate reader and the
// response behind a writer that drains the body before the first byte of the
// answer and bounds each write.
func (s *Server) guardBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		res, req := c.Response(), c.Request()
		rc := http.NewResponseController(res.Writer)
		w := &guardedWriter{ResponseWriter: res.Writer, rc: rc, idle: s.WriteIdle}
		if req.Body != nil && req.Body != http.NoBody {
			b := newRateBody(req.Body, s.BodyGrace, s.MinBodyRate, time.Now, rc.SetReadDeadline)
			req.Body = b
			if req.ContentLength <= maxDrain {
				w.body = b
			}
		}
		res.Writer = w
		err := next(c)
		w.drain() // an answer nobody wrote is written after this, by net/http
		return err
	}
}

// rateBody is a request body that must arrive, from the start of the request,
// within grace plus one second per rate bytes read so far. Before each read
// it moves the connection's read deadline accordingly; once the body is
// read to its end it clears the deadline again (net/http does too, when it
// starts watching the connection for the client going away), so a long poll
// waiting for its answer is not cut.
type rateBody struct {
	src         io.ReadCloser
	start       time.Time
	grace       time.Duration
	rate        int64 // bytes per second; 0 or less: no bound
	n           int64
	eof         bool
	setDeadline func(time.Time) error
}

func newRateBody(src io.ReadCloser, grace time.Duration, rate int64, now func() time.Time, setDeadline func(time.Time) error) *rateBody {
	return &rateBody{src: src, start: now(), grace: grace, rate: rate, setDeadline: setDeadline}
}

// deadline is when the bytes read so far, and the next ones, must have come.
func (b *rateBody) deadline() time.Time {
	return b.start.Add(b.grace + time.Duration(float64(b.n)/float64(b.rate)*float64(time.Second)))
}

func (b *rateBody) Read(p []byte) (int, error) {
	if b.eof {
		return 0, io.EOF
	}
	if b.rate > 0 {
		_ = b.setDeadline(b.deadline()) // not supported: a test recorder, no connection
	}
	n, err := b.src.Read(p)
	b.n += int64(n)
	switch {
	case errors.Is(err, io.EOF):
		b.eof = true
		if b.rate > 0 {
			_ = b.setDeadline(time.Time{})
		}
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = errBodyTooSlow
	}
	return n, err
}

func (b *rateBody) Close() error { return b.src.Close() }

// errBodyTooSlow is the read error of a body that fell below the minimum
// rate: an application error, so that whichever handler reads the body
// answers it as such rather than as an internal error.
var errBodyTooSlow = server.Errorf(server.EINVALID, "请求体传输过慢，已中断 (the request body arrived too slowly and was cut off).")

// guardedWriter drains the unread rest of the request body (at most
// maxDrain bytes, still at the minimum rate) before the answer starts, and
// gives each write at most idle to go through.
type guardedWriter struct {
	http.ResponseWriter
	rc   *http.ResponseController
	idle time.Duration
	body *rateBody // nil once drained, or when there is none to drain
	// own is set while the handler keeps its own write deadline (a public
	// stream's, shorter than idle); then extend leaves the deadline alone.
	own bool
}

// SetWriteDeadline is what http.ResponseController calls first: a handler
// that sets its own deadline keeps it (the zero time hands it back).
func (w *guardedWriter) SetWriteDeadline(t time.Time) error {
	w.own = !t.IsZero()
	return w.rc.SetWriteDeadline(t)
}

func (w *guardedWriter) drain() {
	if w.body != nil {
		_, _ = io.CopyN(io.Discard, w.body, maxDrain)
		w.body = nil
	}
}

// WriteHeader also gives the headers their time: an answer of headers alone
// (204) goes out after the handler, maybe long after the request began.
func (w *guardedWriter) WriteHeader(status int) {
	w.drain()
	w.extend()
	w.ResponseWriter.WriteHeader(status)
}

func (w *guardedWriter) Write(p []byte) (int, error) {
	w.drain()
	w.extend()
	return w.ResponseWriter.Write(p)
}

func (w *guardedWriter) extend() {
	if w.idle > 0 && !w.own {
		_ = w.rc.SetWriteDeadline(time.Now().Add(w.idle))
	}
}

// Unwrap lets http.ResponseController (echo's Flush, tusd's deadlines) reach
// the connection.
func (w *guardedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
