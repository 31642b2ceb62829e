package web_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/spotcheck/spotcheck/internal/browsertest"
	"github.com/spotcheck/spotcheck/server/app/apptest"
)

// The gallery: every page the router serves as HTML to a GET, opened in
// Chromium by the first of the walk's actors it is for, on the objects the
// page walk makes (routes_test.go). Each must answer 200, speak Chinese
// and log no error; its picture is docs/pages/<name>.png, listed in
// docs/pages/README.md. The pages come from policies() and the router, so
// a new page is in the gallery the day it is added.

// galleryNotPages are the GET routes of the pages that answer with
// something else than a page: a file, or a redirect. The gallery checks
// that each indeed does.
var galleryNotPages = map[string]string{
	"GET /assets/*":                                 "a static file",
	"GET /console":                                  "a redirect to /console/",
	"GET /console/imports/:id/errors.csv":           "a CSV download",
	"GET /console/campaigns/:id/letters.pdf":        "a PDF download",
	"GET /console/campaigns/:id/letters/proof":      "an image download",
	"GET /console/packets/:id/record.pdf":           "a PDF download",
	"GET /console/attachments/:id":                  "an image",
	"GET /console/campaigns/:id/publication-export": "a spreadsheet download",
	"GET /console/campaigns/:id/grouping-report":    "a CSV, XLSX or PDF download",
	"GET /console/evidence/*":                       "an image",
}

// galleryPaths replace the walk's path of a page that the walk tries on an
// object nobody may open (its walk only checks the role gate).
var galleryPaths = map[string]func(g *gallery, t *testing.T, actor string) string{
	"GET /console/imports/:id":            (*gallery).importReport,
	"GET /console/imports/:id/errors.csv": (*gallery).importReport,
}

// galleryDir is where the pictures go, under docs/.
const galleryDir = "pages"

type gallery struct {
	w       *walk
	reports map[string]string // import report ids by importer
}

// galleryPage is one GET route of the pages with what the gallery opens.
type galleryPage struct {
	key, name, actor, path string
}

// galleryName is the picture's file name for a route: its path's words
// joined by hyphens ("GET /console/campaigns/:id/teams" is
// "console-campaigns-id-teams"; "/" is "index").
func galleryName(key string) string {
	_, pattern, _ := strings.Cut(key, " ")
	words := regexp.MustCompile(`[a-z0-9]+`).FindAllString(strings.ToLower(pattern), -1)
	if len(words) == 0 {
		return "index"
	}
	return strings.Join(words, "-")
}

// galleryActor is the first of the walk's actors the route is for: ""
// (anonymous) for a public page.
func galleryActor(h *apptest.Harness, p policy) (string, bool) {
	if p.public {
		return "", true
	}
	for _, a := range actors[1:] {
		if slices.Contains(p.roles, h.Users[a].Role) {
			return a, true
		}
	}
	return "", false
}

func (g *gallery) path(t *testing.T, key, actor string, p policy) string {
	_, pattern, _ := strings.Cut(key, " ")
	if f := galleryPaths[key]; f != nil {
		return strings.Replace(pattern, ":id", f(g, t, actor), 1)
	}
	if p.path != nil {
		return p.path(g.w, t)
	}
	if p.param != nil {
		v := p.param(g.w, t)
		return strings.NewReplacer(":id", v, ":credit_code", v, "*", v).Replace(pattern)
	}
	return pattern
}

// importReport is the id of an import of inspectors that actor sent
// through the console's form, one row rejected: an import's report is its
// importer's alone.
func (g *gallery) importReport(t *testing.T, actor string) string {
	if id := g.reports[actor]; id != "" {
		return id
	}
	c := newClient(t, g.w.h)
	c.login(t, actor)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"csrf": c.token(t, "/console/imports"), "encoding": "utf-8"} {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", "inspectors.csv")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(fw, "部门,姓名,执法证号,执法证有效期起,执法证有效期止,执法领域,电话,状态\n"+
		"culture,李四,GAL-C-1,2024-01-01,2028-12-31,文化市场、网络文化,13900000001,\n"+
		"culture,赵六,GAL-C-2,2024-01-01,2023-12-31,,,\n")
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", g.w.h.URL+"/console/imports/inspectors", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", g.w.h.URL)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	id, ok := strings.CutPrefix(loc, "/console/imports/")
	if resp.StatusCode != http.StatusSeeOther || !ok {
		t.Fatalf("import as %s: %d %s", actor, resp.StatusCode, loc)
	}
	if g.reports == nil {
		g.reports = map[string]string{}
	}
	g.reports[actor] = id
	return id
}

// galleryPages are the GET routes that serve a page, with their actor and
// path (the objects made at once, so that the lists show them), in the
// order of the actors. The GET routes that are not pages are checked to
// be none.
func galleryPages(t *testing.T, h *apptest.Harness, g *gallery) []galleryPage {
	pol := policies()
	routes := pageRoutes(h)
	for key := range routes {
		if _, ok := pol[key]; !ok {
			t.Errorf("page %s has no policy in routes_test.go: the gallery cannot open it", key)
		}
	}
	for key := range galleryNotPages {
		if !routes[key] {
			t.Errorf("galleryNotPages names %s, which is not a page route", key)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	var pages []galleryPage
	names := map[string]string{}
	for _, key := range slices.Sorted(func(yield func(string) bool) {
		for k := range routes {
			if strings.HasPrefix(k, "GET ") && !yield(k) {
				return
			}
		}
	}) {
		p := pol[key]
		actor, ok := galleryActor(h, p)
		if !ok {
			t.Fatalf("%s: none of %q may open it", key, actors[1:])
		}
		path := g.path(t, key, actor, p)
		if why, ok := galleryNotPages[key]; ok {
			c := newClient(t, h)
			if actor != "" {
				c.login(t, actor)
			}
			r := c.get(t, path)
			html := strings.HasPrefix(r.Header.Get("Content-Type"), "text/html")
			if r.Status/100 == 3 && html || r.Status/100 != 3 && (r.Status != http.StatusOK || html) {
				t.Errorf("%s (%s) as %q: %d %s: not %s", key, path, actor, r.Status, r.Header.Get("Content-Type"), why)
			}
			continue
		}
		name := galleryName(key)
		if other, ok := names[name]; ok {
			t.Fatalf("%s and %s have the same picture name %s", key, other, name)
		}
		names[name] = key
		pages = append(pages, galleryPage{key: key, name: name, actor: actor, path: path})
	}
	order := func(a string) int { return slices.Index(actors, a) }
	slices.SortStableFunc(pages, func(a, b galleryPage) int { return order(a.actor) - order(b.actor) })
	return pages
}

func TestBrowser_Gallery(t *testing.T) {
	browsertest.Run(t, func(t *testing.T, h *apptest.Harness, b *browsertest.Browser) {
		g := &gallery{w: &walk{h: h}}
		pages := galleryPages(t, h, g)

		// The picture list names every page, and no picture is left of a
		// page that is gone.
		dir := filepath.Join(browsertest.DocsDir(t), galleryDir)
		readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for _, p := range pages {
			want[p.name+".png"] = true
			_, pattern, _ := strings.Cut(p.key, " ")
			if !bytes.Contains(readme, []byte("("+p.name+".png)")) || !bytes.Contains(readme, []byte("`"+pattern+"`")) {
				t.Errorf("docs/pages/README.md does not list %s with its picture %s.png", p.key, p.name)
			}
		}
		if !browsertest.UpdateScreenshots {
			files, _ := filepath.Glob(filepath.Join(dir, "*.png"))
			for _, f := range files {
				if !want[filepath.Base(f)] {
					t.Errorf("docs/pages/%s is the picture of no page", filepath.Base(f))
				}
			}
			for name := range want {
				if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
					t.Errorf("no picture docs/pages/%s (SPOTCHECK_UPDATE_SCREENSHOTS=1 writes it)", name)
				}
			}
		}

		// One sign-in per actor; a tab per page, the tabs sharing the
		// session, so that each page has the browser's time bound.
		signedIn := ""
		for _, p := range pages {
			if p.actor != signedIn {
				signedInTab(t, b, h, p.actor)
				signedIn = p.actor
			}
			t.Run(p.name, func(t *testing.T) {
				ctx := b.Tab(t)
				where := fmt.Sprintf("%s (%s) as %q", p.key, p.path, p.actor)
				resp := browsertest.Open(t, ctx, h.URL+p.path)
				if resp.Status != http.StatusOK {
					t.Errorf("%s: status %d", where, resp.Status)
				}
				if loc := browsertest.Get(t, ctx, chromedp.Location()); loc != h.URL+p.path {
					t.Errorf("%s: at %s", where, loc)
				}
				if p.actor != "" {
					if got := browsertest.Text(t, ctx, "header .user"); !strings.Contains(got, p.actor) {
						t.Errorf("%s: the header does not show the user: %q", where, got)
					}
				}
				heading := browsertest.Text(t, ctx, "h1")
				if heading == "" {
					t.Errorf("%s: no heading", where)
				}
				t.Logf("%s: %s", where, heading)
				assertChinese(t, ctx)
				for _, e := range b.Errors() {
					t.Errorf("%s: browser: %s", where, e)
				}
				browsertest.ScreenshotIn(t, ctx, galleryDir, p.name)
			})
		}
	})
}
