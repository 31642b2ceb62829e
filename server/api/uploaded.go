package api

import (
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
)

// UploadedCSP is the Content-Security-Policy of a file someone uploaded (a
// photo, a piece of evidence, a delivery proof): should a browser ever
// render it, it runs in a sandbox of its own, with nothing to load and no
// script on this origin.
const UploadedCSP = "sandbox; default-src 'none'"

// uploadedExt is the file name extension of each stored content type.
var uploadedExt = map[string]string{mimePDF: ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}

// serveUploaded streams a stored upload with its checked type, as an
// attachment (named by its hash, never by anything a user typed) in the
// sandbox, and with cache as its Cache-Control.
func serveUploaded(c echo.Context, b *server.Blob, f io.ReadSeeker, cache string) {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, b.ContentType)
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+b.SHA256[:12]+uploadedExt[b.ContentType]+`"`)
	h.Set("Content-Security-Policy", UploadedCSP)
	h.Set("Cache-Control", cache)
	h.Set("ETag", `"`+b.SHA256+`"`)
	http.ServeContent(c.Response(), c.Request(), "", b.CreatedAt, f)
}
