package web

import (
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

// A console session is the API's own: the access token and the refresh
// token of one login, each in an HttpOnly cookie. Every request
// authenticates the access token against the database (so a logout, a
// disabled account or a password change elsewhere ends the session at
// once) and, once it has expired, rotates the refresh token transparently.
const (
	cookieAccess  = "sc_access"
	cookieRefresh = "sc_refresh"
	cookieFlash   = "sc_flash"
	consolePath   = "/console/"
	loginPath     = "/console/login"
	passwordPath  = "/console/password"
)

// passwordChangePaths are all a user with a one-time password may open.
var passwordChangePaths = map[string]bool{passwordPath: true, "/console/logout": true}

// requireSession puts the session's user in the context, or sends the
// browser to the sign-in form (and back here afterwards, for a GET).
func (p *Pages) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, err := p.sessionUser(c)
		if err != nil {
			return err
		}
		if u == nil {
			target := loginPath
			if c.Request().Method == http.MethodGet {
				target += "?next=" + url.QueryEscape(c.Request().URL.RequestURI())
			}
			return c.Redirect(http.StatusSeeOther, target)
		}
		if u.PasswordChangeRequired && !passwordChangePaths[c.Path()] {
			return c.Redirect(http.StatusSeeOther, passwordPath)
		}
		c.SetRequest(c.Request().WithContext(server.NewContextWithUser(c.Request().Context(), u)))
		return next(c)
	}
}

// sessionUser returns the signed-in user, refreshing an expired access
// token; nil when there is no live session (its cookies are then cleared).
func (p *Pages) sessionUser(c echo.Context) (*server.User, error) {
	ctx := c.Request().Context()
	if ck, err := c.Cookie(cookieAccess); err == nil && ck.Value != "" {
		u, err := p.Auth.Authenticate(ctx, ck.Value)
		if err == nil {
			return u, nil
		}
		if !sessionEnded(err) {
			return nil, err
		}
	}
	ck, err := c.Cookie(cookieRefresh)
	if err != nil || ck.Value == "" {
		return nil, nil
	}
	sess, err := p.Auth.Refresh(ctx, server.RefreshRequest{RefreshToken: ck.Value, Address: clientAddress(c)})
	if err != nil {
		if !sessionEnded(err) {
			return nil, err
		}
		p.clearSession(c)
		return nil, nil
	}
	p.setSession(c, sess)
	u, err := p.Auth.Authenticate(ctx, sess.AccessToken)
	if err != nil && sessionEnded(err) {
		p.clearSession(c)
		return nil, nil
	}
	return u, err
}

// sessionEnded reports whether err means "sign in again" rather than a
// failure of the server.
func sessionEnded(err error) bool {
	switch server.ErrorCode(err) {
	case server.EUNAUTHORIZED, server.ETOKENREUSED, server.EDEVICEREVOKED:
		return true
	}
	return false
}

// setSession stores a session's tokens. They are session cookies (gone
// when the browser closes); the tokens' own expiry still applies.
func (p *Pages) setSession(c echo.Context, sess *server.Session) {
	c.SetCookie(p.cookie(c, cookieAccess, sess.AccessToken, "/console"))
	c.SetCookie(p.cookie(c, cookieRefresh, sess.RefreshToken, "/console"))
}

func (p *Pages) clearSession(c echo.Context) {
	for _, name := range []string{cookieAccess, cookieRefresh} {
		ck := p.cookie(c, name, "", "/console")
		ck.MaxAge = -1
		c.SetCookie(ck)
	}
}

// cookie is an HttpOnly, SameSite=Lax cookie, Secure over TLS (or when
// configured): never readable by a script, never sent with another site's
// form.
func (p *Pages) cookie(c echo.Context, name, value, path string) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: path, HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: p.SecureCookies || c.Scheme() == "https",
	}
}

// setFlash leaves a one-line message for the next page shown.
func (p *Pages) setFlash(c echo.Context, msg string) {
	ck := p.cookie(c, cookieFlash, url.QueryEscape(msg), "/")
	ck.MaxAge = 300
	c.SetCookie(ck)
}

// takeFlash returns and clears the message left for this page.
func (p *Pages) takeFlash(c echo.Context) string {
	ck, err := c.Cookie(cookieFlash)
	if err != nil || ck.Value == "" {
		return ""
	}
	clear := p.cookie(c, cookieFlash, "", "/")
	clear.MaxAge = -1
	c.SetCookie(clear)
	msg, err := url.QueryUnescape(ck.Value)
	if err != nil || len(msg) > 300 {
		return ""
	}
	return msg
}

// clientAddress is the address login limits are keyed on, as the API's:
// the peer's own unless trusted proxies were configured.
func clientAddress(c echo.Context) string {
	if c.Echo().IPExtractor != nil {
		return c.RealIP()
	}
	return echo.ExtractIPDirect()(c.Request())
}

// safeNext is where to go after signing in: a console path of this site,
// never another site ("//evil", "/\evil").
func safeNext(next string) string {
	if strings.HasPrefix(next, consolePath) && !strings.ContainsAny(next, "\\\r\n") && !strings.HasPrefix(next, "//") {
		return next
	}
	return consolePath
}

// loginData is the sign-in form's.
type loginData struct{ Next string }

// handleLoginForm handles "GET /console/login".
func (p *Pages) handleLoginForm(c echo.Context) error {
	if u, err := p.sessionUser(c); err == nil && u != nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	return p.render(c, http.StatusOK, "login", &page{Title: "登录", Data: loginData{Next: safeNext(c.QueryParam("next"))}, Form: newForm(nil)})
}

// handleLogin handles "POST /console/login": the auth service checks the
// password and holds back repeated failures.
func (p *Pages) handleLogin(c echo.Context) error {
	vals, err := c.FormParams()
	if err != nil {
		return server.Errorf(server.EINVALID, "表单无效 (the form could not be read).")
	}
	form := newForm(maps.Clone(vals))
	form.Values.Del("password") // never shown back
	next := safeNext(c.FormValue("next"))
	username, password := strings.TrimSpace(c.FormValue("username")), c.FormValue("password")
	if username == "" {
		form.Errors["username"] = "请填写用户名"
	}
	if password == "" {
		form.Errors["password"] = "请填写密码"
	}
	if len(form.Errors) > 0 {
		return p.render(c, http.StatusBadRequest, "login", &page{Title: "登录", Data: loginData{Next: next}, Form: form})
	}
	sess, err := p.Auth.Login(c.Request().Context(), server.LoginRequest{Username: username, Password: password, Address: clientAddress(c)})
	if err != nil {
		code := server.ErrorCode(err)
		if code == server.EINTERNAL {
			return err
		}
		form.Message = errorText(err)
		return p.render(c, statusOf(code), "login", &page{Title: "登录", Data: loginData{Next: next}, Form: form})
	}
	// A session this browser held before (another user's, left signed
	// in) ends rather than living on without its cookies.
	if ck, err := c.Cookie(cookieRefresh); err == nil && ck.Value != "" {
		if err := p.Auth.Logout(c.Request().Context(), ck.Value); err != nil && !sessionEnded(err) {
			p.Logger.WarnContext(c.Request().Context(), "ending the previous session at sign-in", "err", err)
		}
	}
	p.setSession(c, sess)
	if sess.User.PasswordChangeRequired {
		p.setFlash(c, "首次登录或密码已被重置，请先修改密码")
		return c.Redirect(http.StatusSeeOther, passwordPath)
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// handleLogout handles "POST /console/logout": the login's refresh-token
// family is revoked, so its access token stops working at once too.
func (p *Pages) handleLogout(c echo.Context) error {
	if ck, err := c.Cookie(cookieRefresh); err == nil && ck.Value != "" {
		if err := p.Auth.Logout(c.Request().Context(), ck.Value); err != nil {
			return err
		}
	}
	p.clearSession(c)
	p.setFlash(c, "已退出登录")
	return c.Redirect(http.StatusSeeOther, loginPath)
}

// handlePasswordForm handles "GET /console/password".
func (p *Pages) handlePasswordForm(c echo.Context) error {
	return p.render(c, http.StatusOK, "password", &page{Title: "修改密码", Form: newForm(nil)})
}

// handlePassword handles "POST /console/password": the user's own
// password, given the current one. The user's other sessions end; this
// one goes on.
func (p *Pages) handlePassword(c echo.Context) error {
	form := newForm(nil)
	current, next, again := c.FormValue("current_password"), c.FormValue("new_password"), c.FormValue("new_password_again")
	switch {
	case current == "":
		form.Errors["current_password"] = "请填写当前密码"
	case next == "":
		form.Errors["new_password"] = "请填写新密码"
	case next != again:
		form.Errors["new_password_again"] = "两次输入的新密码不一致"
	}
	if len(form.Errors) == 0 {
		err := p.Users.ChangePassword(c.Request().Context(), current, next)
		if err == nil {
			p.setFlash(c, "密码已修改")
			return c.Redirect(http.StatusSeeOther, consolePath)
		}
		code := server.ErrorCode(err)
		if code == server.EINTERNAL {
			return err
		}
		form.Message = errorText(err)
		return p.render(c, statusOf(code), "password", &page{Title: "修改密码", Form: form})
	}
	return p.render(c, http.StatusBadRequest, "password", &page{Title: "修改密码", Form: form})
}
