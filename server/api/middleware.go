package api

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// recoverPanics turns a panic in a handler into a logged internal error.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		return next(c)
	}
}

// observe writes one JSON log line per request and counts it in the metrics,
// by route pattern (never by raw path, which would make a series per object)
// and method. Both labels come from closed sets, the router's patterns and
// the standard methods, so no client can make the metrics grow: anything
// else is "unmatched" or "other". It turns a handler's error into its
// response first, so the status is final.
func (s *Server) observe() echo.MiddlewareFunc {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "spotcheck_http_requests_total", Help: "HTTP requests by method, route and status.",
	}, []string{"method", "route", "status"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "spotcheck_http_request_duration_seconds", Help: "HTTP request latency by method and route.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route"})
	s.registry.MustRegister(requests, latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			took := time.Since(start)
			route := c.Path()
			if !s.routeLabels[route] {
				route = "unmatched"
			}
			method := methodLabel(c.Request().Method)
			if c.Get(longPollKey) != nil {
				// A long poll's time is mostly waiting, not serving: kept
				// apart so it does not swamp the pull's latency.
				route += "?wait"
			}
			status := c.Response().Status
			requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
			latency.WithLabelValues(method, route).Observe(took.Seconds())
			attrs := []any{
				slog.String("method", method),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Int64("bytes_out", c.Response().Size),
				slog.Duration("took", took),
				slog.String("request_id", requestID(c)),
				slog.String("remote", clientAddress(c)), // not a client-chosen X-Forwarded-For
			}
			if u := server.UserFromContext(c.Request().Context()); u != nil {
				attrs = append(attrs, slog.Int64("user_id", u.ID))
			}
			s.Logger.InfoContext(c.Request().Context(), "request", attrs...)
			return nil
		}
	}
}

// passwordChangeRoutes are all a user with a one-time password may call.
var passwordChangeRoutes = map[string]bool{syncproto.PathMe: true, syncproto.PathPassword: true}

// requireAuth authenticates the bearer token and puts the user in the
// context. A user who must change a one-time password reaches only
// passwordChangeRoutes; anything else is EPASSWORDCHANGE.
func (s *Server) requireAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		raw, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || raw == "" {
			return server.Errorf(server.EUNAUTHORIZED, "请先登录 (sign in first).")
		}
		u, err := s.Auth.Authenticate(c.Request().Context(), raw)
		if err != nil {
			return err
		}
		if u.PasswordChangeRequired && !passwordChangeRoutes[c.Path()] {
			return server.Errorf(server.EPASSWORDCHANGE, "请先修改一次性密码 (change your one-time password first: POST %s).", syncproto.PathPassword)
		}
		c.SetRequest(c.Request().WithContext(server.NewContextWithUser(c.Request().Context(), u)))
		return next(c)
	}
}

// methodLabel is m if it is a standard method, else "other".
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// requestIDPattern is what a client-supplied X-Request-Id may look like: it
// reaches logs and error bodies, so it is short and plain.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// assignRequestID keeps a client's X-Request-Id when it is plain and short,
// and otherwise makes one; the response carries it.
func assignRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !requestIDPattern.MatchString(id) {
			id = rand.Text()
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// noStore marks every API answer (tokens, personal data) as not to be kept
// by any cache on the way.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if strings.HasPrefix(c.Request().URL.Path, "/v1/") {
			c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		}
		return next(c)
	}
}

// forwardedHeaders are the headers a proxy sets about the original request.
var forwardedHeaders = []string{
	echo.HeaderXForwardedFor, echo.HeaderXForwardedProto, echo.HeaderXForwardedProtocol,
	echo.HeaderXForwardedSsl, echo.HeaderXUrlScheme, echo.HeaderXRealIP, "X-Forwarded-Host", "Forwarded",
}

// TrustProxies names the proxies (by address range) whose X-Forwarded-For
// and X-Forwarded-Proto are believed; from anyone else those headers are
// dropped before any handler sees them. Call it before serving.
func (s *Server) TrustProxies(nets []*net.IPNet) {
	s.trustedProxies = nets
	if len(nets) == 0 {
		s.echo.IPExtractor = nil
		return
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range nets {
		opts = append(opts, echo.TrustIPRange(n))
	}
	s.echo.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
}

// distrustForwarded drops the forwarded headers of a request that does not
// come straight from a trusted proxy.
func (s *Server) distrustForwarded(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !s.fromTrustedProxy(c.Request()) {
			for _, h := range forwardedHeaders {
				c.Request().Header.Del(h)
			}
		}
		return next(c)
	}
}

func (s *Server) fromTrustedProxy(r *http.Request) bool {
	if len(s.trustedProxies) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	for _, n := range s.trustedProxies {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}
