package api

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/report"
)

// publicationRoutes: reopening an approved result, publishing a campaign's
// approved results and the export for the national publicity system
// (mounted at /v1).
func (s *Server) publicationRoutes(g *echo.Group) {
	g.POST("/results/:id/reopen", s.handleResultReopen, allow([]server.Role{server.RoleDepartmentAdmin}))
	g.POST("/campaigns/:id/publication", s.handlePublish, allow(coordinators))
	g.GET("/campaigns/:id/publication-export", s.handlePublicationExport, allow(coordinators))
}

// publicResultRoutes: the published results, for anyone.
func (s *Server) publicResultRoutes(e *echo.Echo) {
	e.GET("/public/campaigns/:id/results", s.handlePublicCampaignResults)
	e.GET("/public/enterprises/:credit_code/results", s.handlePublicEnterpriseResults)
}

// ResultReopen is the body of "POST /v1/results/:id/reopen".
type ResultReopen struct {
	Reason string `json:"reason"`
}

func (s *Server) handleResultReopen(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req ResultReopen
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	r, err := s.Results.ReopenResult(c.Request().Context(), id, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// handlePublish handles "POST /v1/campaigns/:id/publication".
func (s *Server) handlePublish(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	p, err := s.Results.Publish(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, p)
}

// handlePublicationExport handles "GET /v1/campaigns/:id/publication-export?format=csv|xlsx".
func (s *Server) handlePublicationExport(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	format, err := report.PublicationFormat(c.QueryParam("format"))
	if err != nil {
		return err
	}
	e, err := s.Results.FindPublicationExport(c.Request().Context(), id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := report.WritePublication(&buf, format, e); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, `attachment; filename="publication-`+strconv.FormatInt(id, 10)+"."+format+`"`)
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, report.PublicationMediaType(format), buf.Bytes())
}

func (s *Server) handlePublicCampaignResults(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := s.Results.FindPublicCampaignResults(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) handlePublicEnterpriseResults(c echo.Context) error {
	out, err := s.Results.FindPublicEnterpriseResults(c.Request().Context(), c.Param("credit_code"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
