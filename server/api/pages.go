package api

import (
	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

// Pages is an HTML adapter served on the API's router (server/web): it
// registers its own routes and renders, as pages, the errors of the requests
// it claims. Every other error stays JSON.
type Pages interface {
	// Register adds the adapter's routes to e.
	Register(e *echo.Echo)
	// ServesPage reports whether an error on c's request is to be a page.
	ServesPage(c echo.Context) bool
	// RenderError writes err as a page; internal errors were logged already.
	RenderError(c echo.Context, err error)
}

// Mount registers p's routes on the router and hands it the errors of the
// requests it claims. Call it once, before serving.
func (s *Server) Mount(p Pages) {
	p.Register(s.echo)
	s.pages = p
	for _, r := range s.echo.Routes() {
		s.routeLabels[r.Path] = true
	}
}

// The role sets the API's routes are gated on, for adapters that gate the
// same screens the same way (server/web): one list, never a looser copy.
var (
	AnyRole      = anyRole
	StaffOnly    = staffOnly
	AdminOnly    = adminOnly
	PlatformOnly = platform
	FieldOnly    = fieldOnly
	AdminOrField = adminOrField
	Coordinators = coordinators
	DeptStaff    = deptStaff
	DeptAdmins   = deptAdmins
)

// Allow is the API's role gate (allow), for adapters: it refuses with
// EUNAUTHORIZED without a user in the context and EFORBIDDEN for a role not
// in roles.
func Allow(roles []server.Role) echo.MiddlewareFunc { return allow(roles) }
