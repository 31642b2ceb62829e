package api

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// routes registers every route. Each group of routes lives in its own file;
// the route-walk test (authz_test.go) fails for a route without a policy.
func (s *Server) routes() {
	e := s.echo
	body := middleware.BodyLimit(sizeString(DefaultBodyLimit))

	// Public: health, readiness. Metrics only with the metrics token.
	e.GET("/healthz", s.handleHealthz)
	e.GET("/readyz", s.handleReadyz)
	e.GET("/metrics", s.handleMetrics)

	// Public: sign in and refresh.
	e.POST(syncproto.PathLogin, s.handleLogin, body)
	e.POST(syncproto.PathRefresh, s.handleRefresh, body)
	e.POST(syncproto.PathLogout, s.handleLogout, body)

	// Everything else needs a valid access token.
	v1 := e.Group("/v1", s.requireAuth)
	v1.GET("/me", s.handleMe)
	v1.POST("/me/password", s.handlePasswordChange, body)
	s.departmentRoutes(v1.Group("/departments", body))
	s.enterpriseRoutes(v1.Group("/enterprises", body))
	s.inspectorRoutes(v1.Group("/inspectors", body))
	s.declarationRoutes(v1.Group("/declarations", body))
	s.userRoutes(v1.Group("/users", body))
	s.deviceRoutes(v1.Group("/devices", body))
	s.deviceImportRoutes(v1)
	s.importRoutes(v1.Group("/imports", middleware.BodyLimit(sizeString(ImportBodyLimit))))
	s.campaignRoutes(v1.Group("", body))
	s.campaignFieldworkRoutes(v1.Group("", body))
	s.auditRoutes(v1.Group("/audit"))
	s.resultRoutes(v1.Group("", body))
	s.publicationRoutes(v1.Group("", body))
	s.followUpRoutes(v1)
	s.letterRoutes(v1)
	s.syncRoutes(v1) // field devices: sync, uploads, attachments; bodies limited per route

	// Public: the record of every committed draw, for anyone to re-verify.
	s.publicRoutes(e)
	s.publicResultRoutes(e)

	// Public: this API's own reference (openapi.go).
	s.docsRoutes(e)
}

// handleMetrics serves the metrics on the API's listener, only to a caller
// with the metrics token; without a configured token, as if there were none.
func (s *Server) handleMetrics(c echo.Context) error {
	if s.MetricsToken == "" {
		return server.Errorf(server.ENOTFOUND, "未找到 (not found).")
	}
	if !s.metricsAuthorized(c.Request()) {
		return server.Errorf(server.EUNAUTHORIZED, "须提供指标令牌 (the metrics token is required).")
	}
	promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}).ServeHTTP(c.Response(), c.Request())
	return nil
}

// metricsHandler serves GET /metrics alone, for the metrics listener: open
// to whoever reaches that address unless a metrics token is set.
func (s *Server) metricsHandler() http.Handler {
	prom := promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if s.MetricsToken != "" && !s.metricsAuthorized(r) {
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "the metrics token is required", http.StatusUnauthorized)
			return
		}
		prom.ServeHTTP(w, r)
	})
	return mux
}

// metricsAuthorized reports whether r carries the metrics token.
func (s *Server) metricsAuthorized(r *http.Request) bool {
	raw, ok := strings.CutPrefix(r.Header.Get(echo.HeaderAuthorization), "Bearer ")
	return ok && s.MetricsToken != "" && subtle.ConstantTimeCompare([]byte(raw), []byte(s.MetricsToken)) == 1
}

// Health is the answer of /healthz and /readyz.
type Health struct {
	Status string `json:"status"`
}

func (s *Server) handleHealthz(c echo.Context) error {
	return c.JSON(http.StatusOK, Health{Status: "ok"})
}

// handleReadyz answers 200 only when the database answers.
func (s *Server) handleReadyz(c echo.Context) error {
	if err := s.DB.Ping(c.Request().Context()); err != nil {
		s.Logger.WarnContext(c.Request().Context(), "database not ready", "err", err)
		return c.JSON(http.StatusServiceUnavailable, Health{Status: "database unavailable"})
	}
	return c.JSON(http.StatusOK, Health{Status: "ready"})
}
