package api

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/report"
)

// importRoutes registers the directory imports. The body is the file itself,
// streamed into the importer; the group's body limit caps its size.
func (s *Server) importRoutes(g *echo.Group) {
	g.POST("/enterprises", s.handleImportEnterprises, allow(platform))
	g.POST("/inspectors", s.handleImportInspectors, allow(adminOnly))
}

// handleImportEnterprises handles "POST /v1/imports/enterprises": a CSV or
// XLSX file of enterprises, upserted by credit code. It answers 200 with the
// report even when rows were rejected.
func (s *Server) handleImportEnterprises(c echo.Context) error {
	return s.handleImport(c, s.Imports.ImportEnterprises)
}

// handleImportInspectors handles "POST /v1/imports/inspectors": a CSV or
// XLSX file of inspectors, upserted by certificate number.
func (s *Server) handleImportInspectors(c echo.Context) error {
	return s.handleImport(c, s.Imports.ImportInspectors)
}

type importFunc func(ctx context.Context, r io.Reader, opt server.ImportOptions) (*server.ImportReport, error)

// handleImport streams the body into run: CSV is read as it arrives, XLSX is
// spooled to a temporary file by the importer.
func (s *Server) handleImport(c echo.Context, run importFunc) error {
	if s.Imports == nil {
		return server.Errorf(server.EUNAVAILABLE, "导入服务不可用 (imports are not available).")
	}
	format, charset, err := importFormat(c.Request().Header.Get(echo.HeaderContentType))
	if err != nil {
		return err
	}
	// A CSV file's encoding: ?encoding=, else the charset parameter, else detected.
	enc := c.QueryParam("encoding")
	if enc == "" {
		enc = charset
	}
	rep, err := run(c.Request().Context(), c.Request().Body, server.ImportOptions{Format: format, Encoding: enc})
	if err != nil {
		return importError(err)
	}
	return c.JSON(http.StatusOK, rep)
}

// importFormat picks the file format, and a CSV file's charset, from the
// request's content type.
func importFormat(contentType string) (server.ImportFormat, string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err == nil {
		switch mt {
		case "text/csv":
			return server.ImportCSV, params["charset"], nil
		case report.MediaTypeXLSX:
			return server.ImportXLSX, "", nil
		}
	}
	return "", "", server.Errorf(server.EUNSUPPORTED, "请上传CSV或XLSX文件 (Content-Type must be text/csv or %s).", report.MediaTypeXLSX)
}

// importError maps a body cut off by the size limit to ETOOLARGE; other
// errors pass through to the error handler.
func importError(err error) error {
	var (
		maxErr  *http.MaxBytesError
		echoErr *echo.HTTPError
	)
	if errors.As(err, &maxErr) || errors.As(err, &echoErr) && echoErr.Code == http.StatusRequestEntityTooLarge {
		return server.Errorf(server.ETOOLARGE, "文件过大 (the file is too large).")
	}
	return err
}
