package api

import (
	"fmt"
	"log/slog"
	"net/http"
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
// by route pattern (never by raw path, which would make a series per object).
// It turns a handler's error into its response first, so the status is final.
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
			if route == "" {
				route = "unmatched"
			}
			if c.Get(longPollKey) != nil {
				// A long poll's time is mostly waiting, not serving: kept
				// apart so it does not swamp the pull's latency.
				route += "?wait"
			}
			status := c.Response().Status
			requests.WithLabelValues(c.Request().Method, route, strconv.Itoa(status)).Inc()
			latency.WithLabelValues(c.Request().Method, route).Observe(took.Seconds())
			attrs := []any{
				slog.String("method", c.Request().Method),
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
