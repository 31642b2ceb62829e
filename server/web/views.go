package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/api"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/*
var assetFS embed.FS

// views are the parsed templates: templates/layout.html and the pieces in
// templates/partials.html, plus one template per screen that defines
// "content".
type views struct {
	pages map[string]*template.Template
}

func mustParseViews() *views {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	v := &views{pages: map[string]*template.Template{}}
	for _, name := range names {
		if base := path.Base(name); base == "layout.html" || base == "partials.html" {
			continue
		}
		t := template.Must(template.Must(base.Clone()).ParseFS(templateFS, name))
		v.pages[strings.TrimSuffix(path.Base(name), ".html")] = t
	}
	return v
}

// page is what the layout and a screen's template see.
type page struct {
	Title string
	// Set by render:
	User    *server.User
	CSRF    string
	Flash   string
	Nav     []navLink
	Console bool // the console's layout (else the public one)
	Path    string
	// Form is the screen's form, with the values submitted and the errors
	// found, when there is one.
	Form *Form
	// Data is the screen's own.
	Data any
}

// render writes the screen name (templates/NAME.html) in the layout.
func (p *Pages) render(c echo.Context, status int, name string, pg *page) error {
	t, ok := p.views.pages[name]
	if !ok {
		return server.Errorf(server.EINTERNAL, "no template %q", name)
	}
	pg.User = server.UserFromContext(c.Request().Context())
	pg.CSRF, _ = c.Get(csrfKeyCtx).(string)
	if ck, err := c.Cookie(cookieCSRF); pg.CSRF == "" && err == nil {
		pg.CSRF = p.csrfToken(c, ck.Value) // an error page, shown before the check ran
	}
	pg.Flash = p.takeFlash(c)
	pg.Path = c.Request().URL.Path
	pg.Console = strings.HasPrefix(pg.Path, "/console")
	if pg.User != nil && pg.Console && !pg.User.PasswordChangeRequired {
		pg.Nav = navFor(pg.User.Role, pg.Path)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", pg); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// Form is a submitted form: its values, shown again, and its errors.
type Form struct {
	Values url.Values
	// Errors are by field name; Message is the form's own, above the fields.
	Errors  map[string]string
	Message string
}

func newForm(v url.Values) *Form {
	if v == nil {
		v = url.Values{}
	}
	return &Form{Values: v, Errors: map[string]string{}}
}

// Get is the value submitted for field.
func (f *Form) Get(field string) string { return f.Values.Get(field) }

// Err is the error of field, or "".
func (f *Form) Err(field string) string { return f.Errors[field] }

// navLink is an entry of the console's menu.
type navLink struct {
	Label, Href string
	Current     bool
}

// nav is the console's menu: an entry shows for the roles that may open its
// screen (the same set the route is registered with).
var nav = []struct {
	Label, Href string
	Roles       []server.Role
}{
	{"工作台", consolePath, nil},
	// After the visit.
	{"检查结果", "/console/results", api.AnyRole},
	{"逾期提醒", "/console/results/overdue", api.StaffOnly},
	{"结果公示", "/console/publication", api.Coordinators},
	{"后续处理", "/console/followups", api.AnyRole},
	{"修改密码", passwordPath, nil},
	// Directory and administration screens.
	{"企业名录", "/console/enterprises", api.StaffOnly},
	{"执法人员", "/console/inspectors", api.AnyRole},
	{"部门", "/console/departments", api.AnyRole},
	{"批量导入", "/console/imports", api.AdminOnly},
	{"利益冲突申报", "/console/declarations", api.AnyRole},
	{"执法终端", "/console/devices", api.AnyRole},
	{"账号管理", "/console/users", api.AdminOnly},
	{"审计链", "/console/audit", api.PlatformOnly},
	{"我的账号", "/console/account", nil},
}

func navFor(role server.Role, current string) []navLink {
	var out []navLink
	for _, n := range nav {
		if n.Roles == nil || slices.Contains(n.Roles, role) {
			out = append(out, navLink{Label: n.Label, Href: n.Href, Current: current == n.Href})
		}
	}
	return out
}

// assetHashes are the first 12 hex digits of each asset's SHA-256: the
// version in its URL, so that a new build's file is never served from an old
// cache.
var assetHashes = func() map[string]string {
	m := map[string]string{}
	entries, err := fs.ReadDir(assetFS, "assets")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := fs.ReadFile(assetFS, "assets/"+e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		m[e.Name()] = hex.EncodeToString(sum[:6])
	}
	return m
}()

// assetURL is the versioned URL of an asset.
func assetURL(name string) string {
	h, ok := assetHashes[name]
	if !ok {
		panic("no asset " + name)
	}
	return "/assets/" + name + "?v=" + h
}

// handleAsset handles "GET /assets/*": the embedded files. A request for
// the current version may be kept a year; any other an hour.
func (p *Pages) handleAsset(c echo.Context) error {
	name := c.Param("*")
	h, ok := assetHashes[name]
	if !ok || strings.Contains(name, "/") {
		return server.Errorf(server.ENOTFOUND, "未找到 (not found).")
	}
	b, err := fs.ReadFile(assetFS, "assets/"+name)
	if err != nil {
		return err
	}
	hdr := c.Response().Header()
	secureHeaders(hdr)
	if c.QueryParam("v") == h {
		hdr.Set(echo.HeaderCacheControl, "public, max-age=31536000, immutable")
	} else {
		hdr.Set(echo.HeaderCacheControl, "public, max-age=3600")
	}
	hdr.Set("ETag", `"`+h+`"`)
	if c.Request().Header.Get("If-None-Match") == `"`+h+`"` {
		return c.NoContent(http.StatusNotModified)
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	return c.Blob(http.StatusOK, ctype, b)
}
