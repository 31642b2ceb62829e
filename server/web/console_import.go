package web

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
	"github.com/spotcheck/spotcheck/server/report"
)

// Imports: a CSV or XLSX file of enterprises or inspectors through the
// import service the API's POST /v1/imports/… calls, then a page with the
// counts and the row errors. The report is kept for its importer alone
// (ReportDir, a day) so that the result page can be opened again and the
// errors downloaded as CSV.

// uploadLimit is the body limit of an upload form: the API's import limit.
var uploadLimit = middleware.BodyLimit(strconv.FormatInt(api.ImportBodyLimit>>10, 10) + "K")

// reportTTL is how long an import's report is kept.
const reportTTL = 24 * time.Hour

// consoleUpload is console for a form that uploads one file, streamed: the
// form's small fields must come before the file (the templates put them
// first), so that the CSRF check reads them without the body being
// spooled; the file is left unread for the handler (uploadFile).
func (p *Pages) consoleUpload(roles []server.Role) []echo.MiddlewareFunc {
	return []echo.MiddlewareFunc{pageHeaders("no-store"), uploadLimit, p.requireSession, api.Allow(roles), p.uploadFields, p.csrf}
}

const uploadFileKey = "web.upload"

// upload is the file part of an upload form.
type upload struct {
	Name        string
	ContentType string
	Body        io.Reader
}

// uploadFields reads a multipart form's fields up to its file part, puts
// them in the request's form and keeps the file part, unread.
func (p *Pages) uploadFields(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
		if err != nil || mt != "multipart/form-data" {
			return next(c) // not an upload: the form check as usual, then "no file"
		}
		mr, err := r.MultipartReader()
		if err != nil {
			return server.Errorf(server.EINVALID, "表单无效 (the form could not be read).")
		}
		form := url.Values{}
		for fields := 0; ; fields++ {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return uploadError(err)
			}
			if part.FileName() != "" || fields >= 20 {
				c.Set(uploadFileKey, &upload{Name: part.FileName(), ContentType: part.Header.Get(echo.HeaderContentType), Body: part})
				break
			}
			b, err := io.ReadAll(io.LimitReader(part, 1<<10))
			if err != nil {
				return uploadError(err)
			}
			form.Add(part.FormName(), string(b))
		}
		r.Form, r.PostForm = form, form
		if p.FreeDiskGate != nil {
			return p.FreeDiskGate(next)(c)
		}
		return next(c)
	}
}

// uploadFile is the form's file, or nil.
func uploadFile(c echo.Context) *upload {
	u, _ := c.Get(uploadFileKey).(*upload)
	return u
}

// uploadError maps a body cut off by the size limit to ETOOLARGE, as the API.
func uploadError(err error) error {
	var (
		maxErr  *http.MaxBytesError
		echoErr *echo.HTTPError
	)
	if errors.As(err, &maxErr) || errors.As(err, &echoErr) && echoErr.Code == http.StatusRequestEntityTooLarge {
		return server.Errorf(server.ETOOLARGE, "文件过大 (the file is too large).")
	}
	return err
}

// importKinds are the directories one may import, with the API's role sets.
var importKinds = map[string]struct {
	Label string
	Roles []server.Role
}{
	"enterprises": {"企业名录", api.PlatformOnly},
	"inspectors":  {"执法人员名单", api.AdminOnly},
}

type importFormData struct {
	Kinds []importKindView
}

type importKindView struct {
	Kind, Label string
	Form        *Form
}

// handleImports handles "GET /console/imports": the upload forms the user may use.
func (p *Pages) handleImports(c echo.Context) error {
	return p.renderImports(c, http.StatusOK, "", nil)
}

func (p *Pages) renderImports(c echo.Context, status int, kind string, form *Form) error {
	u := server.UserFromContext(c.Request().Context())
	var d importFormData
	for _, k := range []string{"enterprises", "inspectors"} {
		ik := importKinds[k]
		if !roleIn(u.Role, ik.Roles) {
			continue
		}
		f := newForm(nil)
		if k == kind && form != nil {
			f = form
		}
		d.Kinds = append(d.Kinds, importKindView{Kind: k, Label: ik.Label, Form: f})
	}
	return p.render(c, status, "imports", &page{Title: "批量导入", Data: d})
}

func roleIn(r server.Role, roles []server.Role) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

// handleImportEnterprises handles "POST /console/imports/enterprises" (as
// POST /v1/imports/enterprises).
func (p *Pages) handleImportEnterprises(c echo.Context) error {
	return p.handleImport(c, "enterprises", p.Imports.ImportEnterprises)
}

// handleImportInspectors handles "POST /console/imports/inspectors" (as
// POST /v1/imports/inspectors).
func (p *Pages) handleImportInspectors(c echo.Context) error {
	return p.handleImport(c, "inspectors", p.Imports.ImportInspectors)
}

var importEncodings = map[string]string{
	"": server.ImportEncodingAuto, "utf-8": server.ImportEncodingUTF8, "gb18030": server.ImportEncodingGB18030,
}

func (p *Pages) handleImport(c echo.Context, kind string, run func(context.Context, io.Reader, server.ImportOptions) (*server.ImportReport, error)) error {
	form := newForm(url.Values{"encoding": {c.FormValue("encoding")}})
	enc, ok := importEncodings[c.FormValue("encoding")]
	if !ok {
		form.Errors["encoding"] = "请选择文件编码"
	}
	f := uploadFile(c)
	var format server.ImportFormat
	switch {
	case f == nil:
		form.Errors["file"] = "请选择要导入的文件"
	case strings.HasSuffix(strings.ToLower(f.Name), ".csv"):
		format = server.ImportCSV
	case strings.HasSuffix(strings.ToLower(f.Name), ".xlsx"):
		format = server.ImportXLSX
	default:
		form.Errors["file"] = "请上传扩展名为 .csv 或 .xlsx 的文件"
	}
	if len(form.Errors) > 0 {
		return p.renderImports(c, http.StatusBadRequest, kind, form)
	}
	if p.Imports == nil {
		return server.Errorf(server.EUNAVAILABLE, "导入服务不可用 (imports are not available).")
	}
	ctx := c.Request().Context()
	rep, err := run(ctx, f.Body, server.ImportOptions{Format: format, Encoding: enc})
	if err != nil {
		err = uploadError(err)
		code := server.ErrorCode(err)
		if code == server.EINTERNAL || code == server.EFORBIDDEN {
			return err
		}
		form.Errors["file"] = errorText(err)
		return p.renderImports(c, statusOf(code), kind, form)
	}
	id, err := p.saveImportReport(ctx, &storedImport{Kind: kind, FileName: filepath.Base(f.Name), Report: rep})
	if err != nil {
		return err
	}
	p.setFlash(c, "导入完成")
	return c.Redirect(http.StatusSeeOther, "/console/imports/"+id)
}

// storedImport is an import's report as kept for its importer.
type storedImport struct {
	Owner    int64                `json:"owner"`
	Kind     string               `json:"kind"`
	FileName string               `json:"file_name"`
	At       time.Time            `json:"at"`
	Report   *server.ImportReport `json:"report"`
}

// reportIDPattern is what rand.Text gives: 26 base32 characters.
var reportIDPattern = regexp.MustCompile(`^[A-Z2-7]{26}$`)

// reportDir is where reports are kept: ReportDir, else beside the uploads.
func (p *Pages) reportDir() string {
	if p.ReportDir != "" {
		return p.ReportDir
	}
	if p.UploadDir != "" {
		return filepath.Join(p.UploadDir, "..", "tmp", "import-reports")
	}
	return ""
}

// saveImportReport keeps si for the signed-in user and returns its id; old
// reports are removed on the way.
func (p *Pages) saveImportReport(ctx context.Context, si *storedImport) (string, error) {
	dir := p.reportDir()
	if dir == "" {
		return "", server.Errorf(server.EUNAVAILABLE, "无法保存导入报告 (no directory for import reports).")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	p.pruneImportReports(ctx, dir)
	si.Owner = server.UserFromContext(ctx).ID
	si.At = time.Now().UTC()
	b, err := json.Marshal(si)
	if err != nil {
		return "", err
	}
	id := rand.Text()
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return id, os.Rename(tmp.Name(), filepath.Join(dir, id+".json"))
}

// pruneImportReports removes the reports older than reportTTL.
func (p *Pages) pruneImportReports(ctx context.Context, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-reportTTL)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				p.Logger.WarnContext(ctx, "import report not removed", "err", err)
			}
		}
	}
}

// loadImportReport is the report id if the signed-in user made it and it
// has not expired; anything else is not found.
func (p *Pages) loadImportReport(c echo.Context) (string, *storedImport, error) {
	notFound := server.Errorf(server.ENOTFOUND, "导入报告不存在或已过期 (no such import report).")
	id := c.Param("id")
	dir := p.reportDir()
	if !reportIDPattern.MatchString(id) || dir == "" {
		return "", nil, notFound
	}
	b, err := os.ReadFile(filepath.Join(dir, id+".json"))
	if err != nil {
		return "", nil, notFound
	}
	var si storedImport
	if err := json.Unmarshal(b, &si); err != nil || si.Report == nil {
		return "", nil, notFound
	}
	if si.Owner != server.UserFromContext(c.Request().Context()).ID || time.Since(si.At) > reportTTL {
		return "", nil, notFound
	}
	return id, &si, nil
}

type importResultData struct {
	ID     string
	Label  string
	Import *storedImport
}

// handleImportResult handles "GET /console/imports/:id": the counts and
// the row errors of one's own import.
func (p *Pages) handleImportResult(c echo.Context) error {
	id, si, err := p.loadImportReport(c)
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "import_result", &page{Title: "导入结果", Data: importResultData{
		ID: id, Label: importKinds[si.Kind].Label, Import: si,
	}})
}

// handleImportErrorsCSV handles "GET /console/imports/:id/errors.csv": the
// row errors as a CSV file (UTF-8 with a byte-order mark, for spreadsheets).
func (p *Pages) handleImportErrorsCSV(c echo.Context) error {
	id, si, err := p.loadImportReport(c)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, report.MediaTypeCSV)
	h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": "import-errors-" + strings.ToLower(id[:8]) + ".csv"}))
	c.Response().WriteHeader(http.StatusOK)
	return writeImportErrorsCSV(c.Response(), si.Report)
}

// writeImportErrorsCSV writes the report's row errors: row, column, code and
// the Chinese message. A cell that a spreadsheet would run as a formula is
// quoted with a leading apostrophe.
func writeImportErrorsCSV(w io.Writer, rep *server.ImportReport) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"行号", "列", "错误代码", "说明"}); err != nil {
		return err
	}
	for _, e := range rep.Errors {
		if err := cw.Write([]string{strconv.Itoa(e.Row), safeCell(e.Column), safeCell(e.Code), safeCell(importMessage(e.Message))}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// importMessage is the Chinese part of a row error's message.
func importMessage(msg string) string {
	return errorText(server.Errorf(server.EINVALID, "%s", msg))
}
