package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/syncproto"
)

// tusd answers its own errors as "ERR_CODE: message" in text/plain, and an
// internal one with the Go error's text. Every error a client sees must be a
// stable code and a safe message in the API's JSON body, so the upload
// routes rewrite those answers (the hooks' errors are JSON already).

// tusMessages are the safe messages for tusd's error codes. The answer's
// status is the code's usual one, so a busy or interrupted upload is a 409
// like a wrong offset, which a device answers by asking for the offset.
var tusMessages = map[string]struct{ code, message string }{
	"ERR_MISMATCHED_OFFSET":     {server.ECONFLICT, "上传偏移量与服务器不符，请先用HEAD查询 (the offset does not match the server's; ask for it with HEAD)."},
	"ERR_UPLOAD_LOCKED":         {server.ECONFLICT, "该上传正被另一请求写入，请稍后查询偏移量 (another request is writing this upload; ask for the offset shortly)."},
	"ERR_UPLOAD_INTERRUPTED":    {server.ECONFLICT, "该上传被另一请求中断，请查询偏移量 (another request for this upload interrupted this one; ask for the offset)."},
	"ERR_UPLOAD_SIZE_EXCEEDED":  {server.ETOOLARGE, "上传超出声明的大小 (the upload exceeds its declared length)."},
	"ERR_MAX_SIZE_EXCEEDED":     {server.ETOOLARGE, "附件超出大小上限 (the attachment exceeds the size limit)."},
	"ERR_INVALID_CONTENT_TYPE":  {server.EINVALID, "Content-Type须为application/offset+octet-stream (Content-Type must be application/offset+octet-stream)."},
	"ERR_UNSUPPORTED_VERSION":   {server.EINVALID, "须带Tus-Resumable: 1.0.0 (the Tus-Resumable: 1.0.0 header is required)."},
	"ERR_INVALID_UPLOAD_LENGTH": {server.EINVALID, "须给出有效的Upload-Length (a valid Upload-Length is required)."},
	"ERR_INVALID_OFFSET":        {server.EINVALID, "须给出有效的Upload-Offset (a valid Upload-Offset is required)."},
	"ERR_UNEXPECTED_EOF":        {server.EINVALID, "上传数据不完整，请从服务器偏移量续传 (the upload ended early; resume from the server's offset)."},
	"ERR_UPLOAD_NOT_FOUND":      {server.ENOTFOUND, "上传不存在 (upload not found)."},
	"ERR_READ_TIMEOUT":          {server.EUNAVAILABLE, "读取上传数据超时，请从服务器偏移量续传 (timed out reading the upload; resume from the server's offset)."},
	"ERR_LOCK_TIMEOUT":          {server.EUNAVAILABLE, "服务器繁忙，请稍后重试 (the server is busy; retry shortly)."},
	"ERR_SERVER_SHUTDOWN":       {server.EUNAVAILABLE, "服务器正在重启，请稍后重试 (the server is restarting; retry shortly)."},
}

// tusErrorWriter holds back a plain-text error answer so that it can be
// rewritten; anything else passes straight through. It also makes tusd's
// Location (built from the request's Host, always http://) a path, or one on
// the configured public URL: never a host a client's Host header named.
type tusErrorWriter struct {
	http.ResponseWriter
	publicURL string
	status    int // of a held-back error answer; 0 when passing through
	body      bytes.Buffer
}

func (w *tusErrorWriter) WriteHeader(status int) {
	if loc := w.Header().Get("Location"); loc != "" {
		if u, err := url.Parse(loc); err == nil {
			w.Header().Set("Location", strings.TrimRight(w.publicURL, "/")+u.EscapedPath())
		} else {
			w.Header().Del("Location")
		}
	}
	if status >= 400 && strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		w.status = status
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *tusErrorWriter) Write(b []byte) (int, error) {
	if w.status != 0 {
		return w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets tusd's http.ResponseController reach the connection (it sets
// read and write deadlines through it).
func (w *tusErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withTusErrors serves h with its plain-text errors rewritten as API errors.
func (s *Server) withTusErrors(c echo.Context, h http.Handler) {
	w := &tusErrorWriter{ResponseWriter: c.Response(), publicURL: s.PublicURL} // echo's writer, so the status reaches the metrics
	h.ServeHTTP(w, c.Request())
	if w.status == 0 {
		return
	}
	tusCode, detail, _ := strings.Cut(strings.TrimSpace(w.body.String()), ": ")
	m, ok := tusMessages[tusCode]
	status := w.status
	switch {
	case ok:
		status = statuses[m.code]
	case w.status >= 500:
		s.Logger.ErrorContext(c.Request().Context(), "upload failed", slog.String("route", c.Path()),
			slog.String("request_id", requestID(c)), slog.String("tusd", tusCode), slog.String("err", detail))
		m.code, m.message = server.EINTERNAL, "Internal error."
	default:
		m.code, m.message = codeFor(w.status), "上传请求无效 (invalid upload request: "+tusCode+")."
	}
	hdr := w.ResponseWriter.Header()
	hdr.Set("Content-Type", echo.MIMEApplicationJSONCharsetUTF8)
	hdr.Del("Content-Length")
	body, _ := json.Marshal(syncproto.Error{Code: m.code, Message: m.message, RequestID: requestID(c)})
	if c.Request().Method == http.MethodHead {
		body = nil
	} else {
		hdr.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.ResponseWriter.WriteHeader(status)
	w.ResponseWriter.Write(body)
}
