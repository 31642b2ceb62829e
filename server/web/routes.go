package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
)

// routes registers every page. A console screen is one line here with its
// role set (the API's, from server/api), one handler file and one template;
// the route walk (routes_test.go) fails for a route without a policy there.
func (p *Pages) routes(e *echo.Echo) {
	e.GET("/assets/*", p.handleAsset)

	// Public pages: no sign-in.
	e.GET("/", p.handlePublicIndex, p.public()...)
	e.GET("/campaigns/:id", p.handlePublicCampaign, p.public()...)
	e.GET("/campaigns/:id/results", p.handlePublicCampaignResults, p.public()...)
	e.GET("/results", p.handlePublicResultSearch, p.public()...)
	e.GET("/results/:credit_code", p.handlePublicEnterpriseResults, p.public()...)

	// Signing in and out, and the password.
	e.GET("/console", p.handleConsoleRoot, p.public()...)
	e.GET("/console/login", p.handleLoginForm, p.signIn()...)
	e.POST("/console/login", p.handleLogin, p.signIn()...)
	e.POST("/console/logout", p.handleLogout, p.console(api.AnyRole)...)
	e.GET("/console/password", p.handlePasswordForm, p.console(api.AnyRole)...)
	e.POST("/console/password", p.handlePassword, p.console(api.AnyRole)...)

	// The console's screens.
	e.GET("/console/", p.handleHome, p.console(api.AnyRole)...)

	// Notification letter screens: the letters, the contact line and
	// materials, delivery records and the targets not yet served.
	e.GET("/console/campaigns/:id/letters", p.handleLetters, p.console(api.StaffOnly)...)
	e.GET("/console/campaigns/:id/letters.pdf", p.handleLettersPDF, p.console(api.StaffOnly)...)
	e.POST("/console/campaigns/:id/letters/contact", p.handleLetterContact, p.console(api.Coordinators)...)
	e.POST("/console/campaigns/:id/letters/materials", p.handleLetterMaterials, p.console(api.Coordinators)...)
	e.GET("/console/campaigns/:id/letters/targets/:credit_code", p.handleLetterTarget, p.console(api.StaffOnly)...)
	e.POST("/console/campaigns/:id/letters/targets/:credit_code", p.handleLetterDelivery, p.consoleLimit(proofFormLimit, api.Coordinators)...)
	e.GET("/console/campaigns/:id/letters/proof", p.handleLetterProof, p.console(api.StaffOnly)...)
}

// public is the middleware of a public page.
func (p *Pages) public() []echo.MiddlewareFunc {
	return []echo.MiddlewareFunc{pageHeaders("no-cache"), formLimit, p.csrf}
}

// signIn is the middleware of the sign-in form: a console page without a
// session.
func (p *Pages) signIn() []echo.MiddlewareFunc {
	return []echo.MiddlewareFunc{pageHeaders("no-store"), formLimit, p.csrf}
}

// console is the middleware of a console page that roles may see: a
// session (or a redirect to the sign-in form), the API's role gate, then
// the CSRF check of a form. extra runs last, before the handler.
func (p *Pages) console(roles []server.Role, extra ...echo.MiddlewareFunc) []echo.MiddlewareFunc {
	return p.consoleLimit(formLimit, roles, extra...)
}

// consoleLimit is console with another body limit, for a form that
// uploads a file: middleware.BodyLimit("256M").
func (p *Pages) consoleLimit(limit echo.MiddlewareFunc, roles []server.Role, extra ...echo.MiddlewareFunc) []echo.MiddlewareFunc {
	return append([]echo.MiddlewareFunc{pageHeaders("no-store"), limit, p.requireSession, api.Allow(roles), p.csrf}, extra...)
}

// formLimit caps a form's body (the CSRF check reads the form).
var formLimit = middleware.BodyLimit("1M")

// pageHeaders sets the security headers and the cache policy of a page.
func pageHeaders(cache string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			secureHeaders(h)
			h.Set(echo.HeaderCacheControl, cache)
			return next(c)
		}
	}
}

// handleConsoleRoot sends /console to /console/.
func (p *Pages) handleConsoleRoot(c echo.Context) error {
	return c.Redirect(http.StatusMovedPermanently, "/console/")
}
