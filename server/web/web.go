package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server/api"
)

// Pages is the HTML adapter: the console under /console/, the public pages
// at /, /campaigns/… and /results/…, and their static files under /assets/.
// It calls the same services as the JSON API, with the same user in the
// context, behind the same role gates.
type Pages struct {
	api.Services
	Logger *slog.Logger
	// SecureCookies marks the session cookies Secure even on a request
	// that did not come over TLS (a TLS-terminating proxy that is not
	// trusted to say so); requests over TLS always get Secure cookies.
	SecureCookies bool
	// PublicURL starts the verification line of the printed documents the
	// console serves, as api.Server.PublicURL does the API's.
	PublicURL string

	csrfKey []byte
	views   *views
}

// New returns the pages over svc. secret keys the forms' CSRF tokens: at
// least 32 random bytes kept across restarts and shared by replicas.
func New(svc api.Services, secret []byte, logger *slog.Logger) *Pages {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("spotcheck/web/csrf"))
	return &Pages{Services: svc, Logger: logger, csrfKey: mac.Sum(nil), views: mustParseViews()}
}

var _ api.Pages = (*Pages)(nil)

// Register adds every page route to e; see routes.go.
func (p *Pages) Register(e *echo.Echo) { p.routes(e) }

// ServesPage claims the errors of the page routes, and of unknown paths
// outside the JSON API asked for by a browser, so that they answer with a
// page in Chinese.
func (p *Pages) ServesPage(c echo.Context) bool {
	if isPagePath(c.Path()) {
		return true
	}
	path := c.Request().URL.Path
	for _, prefix := range apiPrefixes {
		if path == strings.TrimSuffix(prefix, "/") || strings.HasPrefix(path, prefix) {
			return false
		}
	}
	return strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "text/html")
}

// apiPrefixes are the paths whose errors stay JSON whoever asks.
var apiPrefixes = []string{"/v1/", "/public/", "/healthz/", "/readyz/", "/metrics/", "/openapi.json/", "/api-docs/"}

// isPagePath reports whether a route pattern is one of the pages'.
func isPagePath(route string) bool {
	return route == "/" || strings.HasPrefix(route, "/console") || strings.HasPrefix(route, "/campaigns") ||
		strings.HasPrefix(route, "/results") || strings.HasPrefix(route, "/assets/")
}

// secureHeaders go on every page: no script but our own file, no plugin,
// no framing, no base or form target elsewhere. The referrer stays within
// the site, so that a form's POST carries its Origin (with no-referrer a
// browser sends "Origin: null").
func secureHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
}

// ContentSecurityPolicy is the policy of every page.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
