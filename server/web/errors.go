package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

// errorData is the error page's.
type errorData struct {
	Code, Message string
	Status        int
}

// RenderError writes err as a page in Chinese: the sign-in form for a
// console page without a session, the password form for a one-time
// password, else an error page with the status the API would give.
func (p *Pages) RenderError(c echo.Context, err error) {
	code := server.ErrorCode(err)
	secureHeaders(c.Response().Header())
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	console := strings.HasPrefix(c.Request().URL.Path, "/console")
	switch {
	case code == server.EUNAUTHORIZED && console:
		target := loginPath
		if c.Request().Method == http.MethodGet {
			target += "?next=" + url.QueryEscape(c.Request().URL.RequestURI())
		}
		_ = c.Redirect(http.StatusSeeOther, target)
		return
	case code == server.EPASSWORDCHANGE && console:
		_ = c.Redirect(http.StatusSeeOther, passwordPath)
		return
	}
	status := statusOf(code)
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	msg := errorText(err)
	if code == server.ENOTFOUND {
		msg = "您要找的页面不存在，或您无权查看。"
	}
	if rerr := p.render(c, status, "error", &page{Title: errorTitle(code), Data: errorData{Code: code, Message: msg, Status: status}}); rerr != nil {
		p.Logger.ErrorContext(c.Request().Context(), "error page failed", "err", rerr)
		_ = c.String(status, errorTitle(code))
	}
}
