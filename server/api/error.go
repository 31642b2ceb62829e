package api

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// statuses maps each application error code to its HTTP status.
var statuses = map[string]int{
	server.EINVALID:        http.StatusBadRequest,
	server.EUNAUTHORIZED:   http.StatusUnauthorized,
	server.EFORBIDDEN:      http.StatusForbidden,
	server.ENOTFOUND:       http.StatusNotFound,
	server.ECONFLICT:       http.StatusConflict,
	server.ETOOLARGE:       http.StatusRequestEntityTooLarge,
	server.ERATELIMITED:    http.StatusTooManyRequests,
	server.EUNSUPPORTED:    http.StatusUnsupportedMediaType,
	server.EUPGRADE:        http.StatusUpgradeRequired,
	server.EUNAVAILABLE:    http.StatusServiceUnavailable,
	server.EINTERNAL:       http.StatusInternalServerError,
	server.EDEVICEREVOKED:  http.StatusForbidden,
	server.ETOKENREUSED:    http.StatusUnauthorized,
	server.EPASSWORDCHANGE: http.StatusForbidden,
	server.EREFUSED:        http.StatusUnprocessableEntity,
	server.EQUOTA:          http.StatusTooManyRequests,
	server.ENOSPACE:        http.StatusInsufficientStorage,
	server.ETOOEARLY:       http.StatusConflict,
}

// codeFor returns the application code for an HTTP status Echo produced itself
// (no route, wrong method, body too large…).
func codeFor(status int) string {
	switch status {
	case http.StatusNotFound:
		return server.ENOTFOUND
	case http.StatusMethodNotAllowed:
		return server.ENOTFOUND // an unsupported method on a path says no more than a missing path
	case http.StatusRequestEntityTooLarge:
		return server.ETOOLARGE
	case http.StatusUnauthorized:
		return server.EUNAUTHORIZED
	case http.StatusForbidden:
		return server.EFORBIDDEN
	case http.StatusTooManyRequests:
		return server.ERATELIMITED
	case http.StatusUnsupportedMediaType:
		return server.EUNSUPPORTED
	case http.StatusServiceUnavailable:
		return server.EUNAVAILABLE
	case http.StatusInsufficientStorage:
		return server.ENOSPACE
	}
	if status >= 400 && status < 500 {
		return server.EINVALID
	}
	return server.EINTERNAL
}

// messages are the safe messages for errors Echo produced itself.
var messages = map[string]string{
	server.ENOTFOUND:     "未找到 (not found).",
	server.ETOOLARGE:     "请求体过大 (request body too large).",
	server.EUNAUTHORIZED: "请先登录 (sign in first).",
	server.EINVALID:      "请求无效 (invalid request).",
	server.EINTERNAL:     "Internal error.",
}

// handleError is the one place that turns an error into a response: a stable
// code and a message safe to show. Internal errors are logged, never sent.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code := codeFor(he.Code)
		msg, ok := messages[code]
		if !ok {
			msg = fmt.Sprint(he.Message)
		}
		if he.Internal != nil && code == server.EINTERNAL {
			err = he.Internal
		} else {
			err = server.Errorf(code, "%s", msg)
		}
	}
	code := server.ErrorCode(err)
	if code == server.EINTERNAL {
		s.Logger.ErrorContext(c.Request().Context(), "request failed",
			slog.String("route", c.Path()), slog.String("request_id", requestID(c)), slog.Any("err", err))
	}
	if d := server.RetryAfter(err); d > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
	}
	if s.pages != nil && s.pages.ServesPage(c) {
		s.pages.RenderError(c, err)
		return
	}
	status, ok := statuses[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	body := syncproto.Error{Code: code, Message: server.ErrorMessage(err), RequestID: requestID(c)}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, body)
}

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}
