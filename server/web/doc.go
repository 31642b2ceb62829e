// Package web is the HTML adapter beside server/api: the console under
// /console/, the public pages at /, /campaigns/… and /results/…, and their
// static files under /assets/. It is served by the same binary on the same
// router (api.Server.Mount), and calls the same services (api.Services) with
// the signed-in user in the context, so the store applies the same
// object-level rules to a page as to the JSON route that serves the same
// data. Pages are Simplified Chinese; the JSON API stays at /v1/ and
// /public/.
//
// # Sessions, CSRF and headers
//
// A console session is an API login: its access and refresh tokens live in
// HttpOnly, SameSite=Lax cookies (Secure over TLS or with SecureCookies).
// Every request authenticates the access token against the database, so a
// logout, a disabled account or a password change elsewhere ends the
// session at once; an expired access token is refreshed transparently. A
// user who must change a one-time password reaches only the password form.
// Every form carries a CSRF token (hidden field "csrf", also in the meta tag
// "csrf-token") bound to the browser and the login; a POST without it, or
// from another Origin, gets the 403 page. Every page has the
// Content-Security-Policy ContentSecurityPolicy: no inline script and no
// style attribute (the policy refuses both); styles go in assets/app.css,
// behaviour in assets/app.js (the draw page also loads assets/verify.js,
// its in-browser verifier).
//
// # Adding a console screen
//
// One screen is one handler file, one template, one line in routes.go, one
// policy in routes_test.go and a browser test.
//
// Handler, in console_<screen>.go: a method of *Pages that reads the
// request, calls a service of p (p.Campaigns, p.Results…) with
// c.Request().Context() and renders its template:
//
//	func (p *Pages) handleCampaigns(c echo.Context) error {
//		cs, total, err := p.Campaigns.FindCampaigns(c.Request().Context(), server.CampaignFilter{})
//		if err != nil {
//			return err // the error page, in Chinese, with the API's status
//		}
//		return p.render(c, http.StatusOK, "campaigns", &page{Title: "抽查活动", Data: campaignsData{cs, total}})
//	}
//
// A form posts back to its own path. On a bad value, render the same
// template again with a *Form (newForm(values)) whose Errors (by field) or
// Message say what is wrong, with status 400 (or statusOf(code) for a
// service's error, with errorText(err) as the message), so that the values
// the user typed are kept. On success set a flash (p.setFlash) and redirect
// with 303 (http.StatusSeeOther) to the page that shows the result.
//
// Template, templates/<screen>.html: {{define "content"}}…{{end}}, shown in
// the layout (header with the user and role, menu, flash, footer). Every
// <form method="post"> holds <input type="hidden" name="csrf"
// value="{{.CSRF}}">. Show field errors with {{with .Form.Err "name"}}…{{end}}
// and values with {{.Form.Get "name"}}. Labels, headings and messages are
// Chinese; data that is not (codes, digests, usernames, file names) goes in
// <code> or an element with translate="no", which the Chinese-text check
// skips. Helpers (labels.go): time, timep and stamp (Asia/Shanghai),
// roleLabel, campaignStatus, resultState, errorTitle, short, asset. Pieces
// shared by screens go in templates/partials.html.
//
// Route, in routes.go, with the role set of the API route that serves the
// same data (api.StaffOnly, api.Coordinators…; never a looser one):
//
//	e.GET("/console/campaigns", p.handleCampaigns, p.console(api.StaffOnly)...)
//	e.POST("/console/campaigns/:id/commit", p.handleCampaignCommit, p.console(api.Coordinators)...)
//
// p.console gives the session, the role gate (the 403 page), the CSRF check
// and a 1 MiB form limit; a form that uploads a file is read as a stream,
// never parsed whole into memory: p.consoleUpload(roles) (fields first,
// the file left unread for the handler) or, as the delivery form,
// p.consoleProofForm(roles) (the file spooled to disk). A menu entry goes in
// nav (views.go) with the same roles.
//
// Policy, in routes_test.go's policies(): the route with the same roles, and
// a param func that makes an object for :id. The page walk fails for a page
// route without a policy, and tries each one anonymously (sent to sign in)
// and as every role (the 403 page where the role may not see it).
//
// Browser test, in browser_test.go: browsertest.Run(t, func(t, h, b)) runs
// on both dialects with a real server and headless Chromium. Sign in through
// the form (signIn), act with chromedp, and assert what the page shows
// (browsertest.Text) against what the API returns. Call assertChinese(t,
// ctx) on each page, and browsertest.Screenshot(t, ctx, "<screen>") to have
// docs/web-<screen>.png written when SPOTCHECK_UPDATE_SCREENSHOTS=1. Console
// errors and CSP violations in the tab fail the test by themselves.
//
// The gallery (browser_gallery_test.go) opens every GET page of the router
// in Chromium, as the first walk actor it is for, on the page walk's
// objects: a new page needs a line in docs/pages/README.md and its
// picture, docs/pages/<name>.png (written with the screenshots); a new
// file download, a line in galleryNotPages.
package web
