package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

// CSRF: every form carries a token in the hidden field "csrf", and every
// state-changing request must bring it back. The token is an HMAC, under
// the server's key, of a random per-browser nonce (an HttpOnly cookie) and
// the session's id: a token lifted from one browser or one login is worth
// nothing in another. A request whose Origin header names another site is
// refused before the token is looked at.
const (
	cookieCSRF = "sc_csrf"
	csrfField  = "csrf"
	csrfKeyCtx = "web.csrf"
)

var errCSRF = server.Errorf(server.EFORBIDDEN, "表单已过期或来源不明，请刷新页面后重试 (the form's CSRF token is missing or wrong).")

// csrf issues the nonce cookie when the browser has none, keeps the page's
// token for the templates, and checks the token (and the Origin) of every
// request that is not a GET, HEAD or OPTIONS.
func (p *Pages) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		nonce := ""
		if ck, err := c.Cookie(cookieCSRF); err == nil && len(ck.Value) == 43 {
			nonce = ck.Value
		}
		unsafe := !isSafeMethod(c.Request().Method)
		if unsafe {
			if !p.sameOrigin(c) || nonce == "" {
				return errCSRF
			}
			// From the body only: a token in a URL would end up in logs
			// and Referer headers.
			got := c.Request().PostFormValue(csrfField)
			if !hmac.Equal([]byte(got), []byte(p.csrfToken(c, nonce))) {
				return errCSRF
			}
		}
		if nonce == "" {
			nonce = rand.Text() + rand.Text()[:17] // 43 characters, 215 bits
			c.SetCookie(p.cookie(c, cookieCSRF, nonce, "/"))
		}
		c.Set(csrfKeyCtx, p.csrfToken(c, nonce))
		return next(c)
	}
}

// csrfToken is the token of this browser's nonce and this session.
func (p *Pages) csrfToken(c echo.Context, nonce string) string {
	session := ""
	if u := server.UserFromContext(c.Request().Context()); u != nil {
		session = u.SessionID
	}
	mac := hmac.New(sha256.New, p.csrfKey)
	mac.Write([]byte(nonce))
	mac.Write([]byte{0})
	mac.Write([]byte(session))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func isSafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin reports whether the request's Origin, when it has one, is
// this site: as the request came, or as PublicURL names it. Browsers send
// Origin with every POST; a request without one (an old browser, a
// script) still needs the token.
func (p *Pages) sameOrigin(c echo.Context) bool {
	origin := c.Request().Header.Get("Origin")
	if origin == "" {
		return true
	}
	return origin == c.Scheme()+"://"+c.Request().Host || p.PublicURL != "" && origin == publicOrigin(p.PublicURL)
}

// publicOrigin is the origin (scheme://host[:port]) of a public URL that
// may have a path.
func publicOrigin(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			return u[:i+3+j]
		}
	}
	return u
}
