package api

import "github.com/labstack/echo/v4"

// campaignFieldworkRoutes: confirmations, replacements, teams, packets and
// grouping reports (mounted at /v1).
func (s *Server) campaignFieldworkRoutes(g *echo.Group) {}
