package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// validator is a request that can check itself.
type validator interface{ Validate() error }

// decodeJSON strictly decodes the body into v: JSON content type, no unknown
// fields, exactly one value; then runs v.Validate() if v has one. Body size
// is limited by the route's BodyLimit middleware.
func decodeJSON(c echo.Context, v any) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != echo.MIMEApplicationJSON {
		return server.Errorf(server.EUNSUPPORTED, "请求须为JSON (Content-Type must be application/json).")
	}
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return server.Errorf(server.EINVALID, "请求体只能包含一个JSON值 (body must hold exactly one JSON value).")
	}
	// No request field may carry a control character other than tab and
	// line breaks: PostgreSQL refuses NUL, and the rest only corrupt
	// exports. Single-line fields refuse tabs and line breaks too, in their
	// own Validate.
	if field, ok := syncproto.ControlField(v); ok {
		return server.Errorf(server.EINVALID, "字段%q含有控制字符（如NUL） (field %q contains a control character such as NUL).", field, field)
	}
	if val, ok := v.(validator); ok {
		if err := val.Validate(); err != nil {
			var se *server.Error
			if errors.As(err, &se) {
				return se
			}
			return server.Errorf(server.EINVALID, "%s", err)
		}
	}
	return nil
}

// rejectControlURL answers EINVALID to a request whose path or query holds
// a control character (a %00 in a filter would reach PostgreSQL, which
// cannot take NUL).
func rejectControlURL(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := c.Request().URL
		bad := server.ControlChar(u.Path, false)
		for _, vs := range c.QueryParams() {
			for _, v := range vs {
				bad = bad || server.ControlChar(v, false)
			}
		}
		if bad {
			return server.Errorf(server.EINVALID, "地址含有控制字符（如NUL） (the URL contains a control character such as NUL).")
		}
		return next(c)
	}
}

// jsonError turns a decoding error into a safe EINVALID (or ETOOLARGE).
func jsonError(err error) error {
	var (
		syntax    *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		maxErr    *http.MaxBytesError
		domainErr *server.Error
		echoErr   *echo.HTTPError
	)
	switch {
	case errors.As(err, &maxErr), errors.As(err, &echoErr) && echoErr.Code == http.StatusRequestEntityTooLarge:
		return server.Errorf(server.ETOOLARGE, "请求体过大 (request body too large).")
	case errors.As(err, &domainErr):
		return domainErr
	case errors.As(err, &syntax):
		return server.Errorf(server.EINVALID, "JSON格式错误，位置%d (malformed JSON at byte %d).", syntax.Offset, syntax.Offset)
	case errors.As(err, &typeErr):
		return server.Errorf(server.EINVALID, "字段%q类型错误 (field %q has the wrong type).", typeErr.Field, typeErr.Field)
	case errors.Is(err, io.EOF):
		return server.Errorf(server.EINVALID, "请求体为空 (empty body).")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return server.Errorf(server.EINVALID, "JSON不完整 (truncated JSON).")
	}
	var unknown string
	if _, scanErr := fmt.Sscanf(err.Error(), "json: unknown field %q", &unknown); scanErr == nil {
		return server.Errorf(server.EINVALID, "未知字段%q (unknown field %q).", unknown, unknown)
	}
	return server.Errorf(server.EINVALID, "请求体无效 (invalid body).")
}

// pathID reads the positive integer path parameter name. A malformed id is
// ENOTFOUND: no object has it.
func pathID(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, server.Errorf(server.ENOTFOUND, "未找到 (not found).")
	}
	return id, nil
}

// pageParams reads ?offset= and ?limit=.
func pageParams(c echo.Context) (offset, limit int, err error) {
	if v := c.QueryParam("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, server.Errorf(server.EINVALID, "offset须为非负整数 (offset must be a non-negative integer).")
		}
	}
	if v := c.QueryParam("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			return 0, 0, server.Errorf(server.EINVALID, "limit须为1-1000 (limit must be 1-1000).")
		}
	}
	return offset, limit, nil
}

// List is the envelope of every list response.
type List[T any] struct {
	Items []T `json:"items"`
	Total int `json:"total"`
}

// sizeString writes n bytes for Echo's BodyLimit, which reads "K" as 1,000
// bytes and "KiB" as 1,024.
func sizeString(n int64) string { return strconv.FormatInt(n>>10, 10) + "KiB" }
