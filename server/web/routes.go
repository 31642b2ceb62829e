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

	// Directory and administration screens.
	e.GET("/console/departments", p.handleDepartments, p.console(api.AnyRole)...)
	e.POST("/console/departments", p.handleDepartmentCreate, p.console(api.PlatformOnly)...)
	e.POST("/console/departments/:id", p.handleDepartmentUpdate, p.console(api.PlatformOnly)...)
	e.GET("/console/enterprises", p.handleEnterprises, p.console(api.StaffOnly)...)
	e.GET("/console/enterprises/new", p.handleEnterpriseNew, p.console(api.PlatformOnly)...)
	e.POST("/console/enterprises", p.handleEnterpriseCreate, p.console(api.PlatformOnly)...)
	e.GET("/console/enterprises/:id", p.handleEnterprise, p.console(api.StaffOnly)...)
	e.POST("/console/enterprises/:id", p.handleEnterpriseUpdate, p.console(api.PlatformOnly)...)
	e.GET("/console/inspectors", p.handleInspectors, p.console(api.AnyRole)...)
	e.GET("/console/inspectors/new", p.handleInspectorNew, p.console(api.AdminOnly)...)
	e.POST("/console/inspectors", p.handleInspectorCreate, p.console(api.AdminOnly)...)
	e.GET("/console/inspectors/:id", p.handleInspector, p.console(api.AnyRole)...)
	e.POST("/console/inspectors/:id", p.handleInspectorUpdate, p.console(api.AdminOnly)...)
	e.GET("/console/imports", p.handleImports, p.console(api.AdminOnly)...)
	e.POST("/console/imports/enterprises", p.handleImportEnterprises, p.consoleUpload(api.PlatformOnly)...)
	e.POST("/console/imports/inspectors", p.handleImportInspectors, p.consoleUpload(api.AdminOnly)...)
	e.GET("/console/imports/:id", p.handleImportResult, p.console(api.AdminOnly)...)
	e.GET("/console/imports/:id/errors.csv", p.handleImportErrorsCSV, p.console(api.AdminOnly)...)
	e.GET("/console/declarations", p.handleDeclarations, p.console(api.AnyRole)...)
	e.POST("/console/declarations", p.handleDeclarationCreate, p.console(api.AdminOrField)...)
	e.POST("/console/declarations/:id/approve", p.handleDeclarationApprove, p.console(api.AdminOnly)...)
	e.POST("/console/declarations/:id/reject", p.handleDeclarationReject, p.console(api.AdminOnly)...)
	e.POST("/console/declarations/:id/withdraw", p.handleDeclarationWithdraw, p.console(api.AdminOrField)...)
	e.GET("/console/devices", p.handleDevices, p.console(api.AnyRole)...)
	e.POST("/console/devices/:id/revoke", p.handleDeviceRevoke, p.console(api.AdminOnly)...)
	e.POST("/console/devices/:id/import", p.handleDeviceImport, p.consoleUpload(api.AdminOnly)...)
	e.GET("/console/users", p.handleUsers, p.console(api.AdminOnly)...)
	e.POST("/console/users", p.handleUserCreate, p.console(api.AdminOnly)...)
	e.GET("/console/users/:id", p.handleUser, p.console(api.AnyRole)...)
	e.POST("/console/users/:id/disable", p.handleUserDisable, p.console(api.AdminOnly)...)
	e.POST("/console/users/:id/password-reset", p.handleUserPasswordReset, p.console(api.AdminOnly)...)
	e.GET("/console/account", p.handleAccount, p.console(api.AnyRole)...)
	e.GET("/console/audit", p.handleAudit, p.console(api.PlatformOnly)...)
	// Campaign screens: check items, drafts, commit, draw, confirmation,
	// teams, packets and progress (console_campaign*.go, console_check_items.go).
	e.GET("/console/check-items", p.handleCheckItems, p.console(api.AnyRole)...)
	e.POST("/console/check-items", p.handleCheckItemCreate, p.console(api.AdminOnly)...)
	e.POST("/console/check-items/:id/retire", p.handleCheckItemRetire, p.console(api.AdminOnly)...)
	e.GET("/console/campaigns", p.handleCampaigns, p.console(api.StaffOnly)...)
	e.GET("/console/campaigns/new", p.handleCampaignNewForm, p.console(api.Coordinators)...)
	e.POST("/console/campaigns/new", p.handleCampaignCreate, p.console(api.Coordinators)...)
	e.GET("/console/campaigns/:id", p.handleCampaign, p.console(api.StaffOnly)...)
	e.GET("/console/campaigns/:id/edit", p.handleCampaignEditForm, p.console(api.Coordinators)...)
	e.POST("/console/campaigns/:id/edit", p.handleCampaignUpdate, p.console(api.Coordinators)...)
	e.GET("/console/campaigns/:id/commit", p.handleCampaignCommitForm, p.console(api.Coordinators)...)
	e.POST("/console/campaigns/:id/commit", p.handleCampaignCommit, p.console(api.Coordinators)...)
	e.GET("/console/campaigns/:id/draw", p.handleCampaignDrawPage, p.console(api.StaffOnly)...)
	e.POST("/console/campaigns/:id/draw", p.handleCampaignDraw, p.console(api.Coordinators)...)
	e.POST("/console/campaigns/:id/confirm", p.handleCampaignConfirm, p.console(api.AdminOnly)...)
	e.POST("/console/campaigns/:id/replacements", p.handleCampaignReplace, p.console(api.StaffOnly)...)
	e.GET("/console/campaigns/:id/teams", p.handleCampaignTeams, p.console(api.StaffOnly)...)
	e.POST("/console/campaigns/:id/teams", p.handleCampaignDrawTeams, p.console(api.Coordinators)...)
	e.GET("/console/campaigns/:id/packets", p.handleCampaignPackets, p.console(api.StaffOnly)...)
	e.POST("/console/campaigns/:id/packets", p.handleCampaignIssuePackets, p.console(api.Coordinators)...)
	e.GET("/console/campaigns/:id/grouping-report", p.handleGroupingReport, p.console(api.StaffOnly)...)
	e.POST("/console/campaigns/:id/grouping-report/filing", p.handleGroupingFile, p.console(api.AdminOnly)...)
	// Notification letter screens: the letters, the contact line and
	// materials, delivery records and the targets not yet served.
	e.GET("/console/campaigns/:id/letters", p.handleLetters, p.console(api.StaffOnly)...)
	e.GET("/console/campaigns/:id/letters.pdf", p.handleLettersPDF, p.console(api.StaffOnly)...)
	e.POST("/console/campaigns/:id/letters/contact", p.handleLetterContact, p.console(api.Coordinators)...)
	e.POST("/console/campaigns/:id/letters/materials", p.handleLetterMaterials, p.console(api.Coordinators)...)
	e.GET("/console/campaigns/:id/letters/targets/:credit_code", p.handleLetterTarget, p.console(api.StaffOnly)...)
	e.POST("/console/campaigns/:id/letters/targets/:credit_code", p.handleLetterDelivery, p.consoleProofForm(api.Coordinators)...)
	e.GET("/console/campaigns/:id/letters/proof", p.handleLetterProof, p.console(api.StaffOnly)...)
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
