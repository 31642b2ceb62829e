package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/spotcheck/spotcheck/syncproto"
)

// routes registers every route. Each group of routes lives in its own file;
// the route-walk test (authz_test.go) fails for a route without a policy.
func (s *Server) routes() {
	e := s.echo
	body := middleware.BodyLimit(sizeString(DefaultBodyLimit))

	// Public: health, readiness, metrics.
	e.GET("/healthz", s.handleHealthz)
	e.GET("/readyz", s.handleReadyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})))

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
	s.syncRoutes(v1) // field devices: sync, uploads, attachments; bodies limited per route

	// Public: the record of every committed draw, for anyone to re-verify.
	s.publicRoutes(e)
}

func (s *Server) handleHealthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 only when the database answers.
func (s *Server) handleReadyz(c echo.Context) error {
	if err := s.DB.Ping(c.Request().Context()); err != nil {
		s.Logger.WarnContext(c.Request().Context(), "database not ready", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
