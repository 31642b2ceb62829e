package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server/api/apidoc"
	"github.com/spotcheck/spotcheck/syncproto"
)

// Where the API's reference is served.
const (
	openAPIPath = "/openapi.json"
	apiDocsPath = "/api-docs"
)

// docsRoutes serves the API's reference, to anyone: the OpenAPI document and
// a page that reads it.
func (s *Server) docsRoutes(e *echo.Echo) {
	e.GET(openAPIPath, s.handleOpenAPI)
	e.GET(apiDocsPath, s.handleAPIDocs)
	e.GET(apiDocsPath+"/style.css", handleAPIDocsStyle)
}

// apiDocs is the document and its renderings, built once: they depend only
// on the code.
type apiDocs struct {
	doc        *openapi3.T
	json, page []byte
	jsonTag    string
	pageTag    string
}

var (
	docsOnce  sync.Once
	docsBuilt *apiDocs
	docsErr   error
)

// OpenAPIDocument returns the API's OpenAPI 3.1 document.
func OpenAPIDocument() (*openapi3.T, error) {
	d, err := loadDocs()
	if err != nil {
		return nil, err
	}
	return d.doc, nil
}

func loadDocs() (*apiDocs, error) {
	docsOnce.Do(func() { docsBuilt, docsErr = buildDocs() })
	return docsBuilt, docsErr
}

func buildDocs() (*apiDocs, error) {
	doc, err := apidoc.Build(apidoc.Spec{
		Title:   "spotcheck API",
		Version: "v1",
		Description: "“双随机、一公开”跨部门联合抽查系统的 HTTP 接口。JSON 请求体严格解码（未知字段被拒绝，须为 application/json，" +
			"一般最大1 MiB），字段中不得有控制字符；每个错误都带稳定的错误码和可展示的说明。时间为 RFC 3339，日期为 YYYY-MM-DD。",
		Operations:  apiOperations(),
		Tags:        apiTags,
		Schemes:     apiSchemes,
		ErrorType:   reflect.TypeFor[syncproto.Error](),
		ErrorCodes:  statuses,
		ErrorTitles: errorTitles,
	})
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	js, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	var page bytes.Buffer
	if err := apidoc.WritePage(&page, doc, apiDocsPath+"/style.css", openAPIPath); err != nil {
		return nil, fmt.Errorf("openapi page: %w", err)
	}
	return &apiDocs{doc: doc, json: js, page: page.Bytes(), jsonTag: etag(js), pageTag: etag(page.Bytes())}, nil
}

// errorTitles name each error status in the document.
var errorTitles = map[int]string{
	http.StatusBadRequest:            "请求无效",
	http.StatusUnauthorized:          "未登录或凭据无效",
	http.StatusForbidden:             "无权进行此操作",
	http.StatusNotFound:              "未找到（或无权查看）",
	http.StatusConflict:              "与当前状态冲突",
	http.StatusRequestEntityTooLarge: "请求体过大",
	http.StatusUnsupportedMediaType:  "不支持的内容类型",
	http.StatusUnprocessableEntity:   "内容被拒绝",
	http.StatusUpgradeRequired:       "须升级客户端",
	http.StatusTooManyRequests:       "请求过多或配额用尽，见 Retry-After",
	http.StatusInternalServerError:   "内部错误",
	http.StatusServiceUnavailable:    "暂不可用，见 Retry-After",
	http.StatusInsufficientStorage:   "服务器磁盘空间不足",
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// serveCached answers body with a strong ETag, or 304 when the client has it.
func serveCached(c echo.Context, contentType, tag string, body []byte) error {
	h := c.Response().Header()
	h.Set("ETag", tag)
	h.Set(echo.HeaderCacheControl, "public, max-age=300")
	if match := c.Request().Header.Get("If-None-Match"); match != "" && match == tag {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, contentType, body)
}

// handleOpenAPI handles "GET /openapi.json".
func (s *Server) handleOpenAPI(c echo.Context) error {
	d, err := loadDocs()
	if err != nil {
		return err
	}
	return serveCached(c, echo.MIMEApplicationJSON, d.jsonTag, d.json)
}

// handleAPIDocs handles "GET /api-docs": the document as a page, with no
// script and its style sheet from this server.
func (s *Server) handleAPIDocs(c echo.Context) error {
	d, err := loadDocs()
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Security-Policy", apidoc.PageCSP)
	return serveCached(c, echo.MIMETextHTMLCharsetUTF8, d.pageTag, d.page)
}

var styleTag = etag(apidoc.StyleCSS)

func handleAPIDocsStyle(c echo.Context) error {
	return serveCached(c, "text/css; charset=utf-8", styleTag, apidoc.StyleCSS)
}
