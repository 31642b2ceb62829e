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

	// After the visit: results, review, publication, follow-ups (the roles
	// of server/api/result.go, publication.go and followup.go).
	e.GET("/console/results", p.handleResults, p.console(api.AnyRole)...)
	e.GET("/console/results/overdue", p.handleResultsOverdue, p.console(api.StaffOnly)...)
	e.GET("/console/results/:id", p.handleResult, p.console(api.AnyRole)...)
	e.POST("/console/results/:id/enter", p.handleResultEnter(), p.console(api.DeptStaff)...)
	e.POST("/console/results/:id/return", p.handleResultReturn(), p.console(api.DeptStaff)...)
	e.POST("/console/results/:id/approve", p.handleResultApprove(), p.console(api.DeptStaff)...)
	e.POST("/console/results/:id/reopen", p.handleResultReopen(), p.console(api.DeptAdmins)...)
	e.GET("/console/packets/:id/record.pdf", p.handleRecordPDF, p.console(api.AnyRole)...)
	e.GET("/console/attachments/:id", p.handleAttachment, p.console(api.AnyRole)...)
	e.GET("/console/enterprises/:id/inspections", p.handleEnterpriseInspections, p.console(api.StaffOnly)...)
	e.GET("/console/publication", p.handlePublications, p.console(api.Coordinators)...)
	e.GET("/console/campaigns/:id/publication", p.handlePublication, p.console(api.Coordinators)...)
	e.POST("/console/campaigns/:id/publication", p.handlePublish, p.console(api.Coordinators)...)
	e.GET("/console/campaigns/:id/publication-export", p.handlePublicationExport, p.console(api.Coordinators)...)
	e.GET("/console/followups", p.handleFollowUps, p.console(api.AnyRole)...)
	e.GET("/console/followups/:id", p.handleFollowUp, p.console(api.AnyRole)...)
	e.POST("/console/followups/:id/assign", p.handleFollowUpAssign(), p.console(api.DeptAdmins)...)
	e.POST("/console/followups/:id/start", p.followUpEntryStep(server.FollowUpActionStart, "start_text", false, "已开始处理"), p.console(api.DeptStaff)...)
	e.POST("/console/followups/:id/actions", p.handleFollowUpNote(), p.consoleLimit(evidenceLimit, api.DeptStaff)...)
	e.POST("/console/followups/:id/request-closure", p.followUpEntryStep(server.FollowUpActionRequestClosure, "request_text", true, "已申请办结"), p.console(api.DeptStaff)...)
	e.POST("/console/followups/:id/refuse", p.followUpEntryStep(server.FollowUpActionRefuse, "refuse_text", true, "已退回办结申请"), p.console(api.DeptAdmins)...)
	e.POST("/console/followups/:id/close", p.followUpEntryStep(server.FollowUpActionClose, "close_text", false, "任务已办结"), p.console(api.DeptAdmins)...)
	e.GET("/console/evidence/*", p.handleEvidence, p.console(api.AnyRole)...)
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
