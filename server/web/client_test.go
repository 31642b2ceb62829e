package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/spotcheck/spotcheck/server/app/apptest"
)

// client is a cookie-keeping HTTP client that does not follow redirects:
// a browser without the browser, for checks of status, headers and HTML.
type client struct {
	h    *apptest.Harness
	http *http.Client
}

func newClient(t *testing.T, h *apptest.Harness) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{h: h, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// page is a response read whole.
type page struct {
	Status int
	Header http.Header
	Body   string
}

func (c *client) do(t *testing.T, method, path string, form url.Values) *page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.h.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", c.h.URL)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &page{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

func (c *client) get(t *testing.T, path string) *page { t.Helper(); return c.do(t, "GET", path, nil) }

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)">`)

// token is the CSRF token of the page at path (its meta tag, which every
// page has).
func (c *client) token(t *testing.T, path string) string {
	t.Helper()
	p := c.get(t, path)
	m := csrfMeta.FindStringSubmatch(p.Body)
	if m == nil || m[1] == "" {
		t.Fatalf("GET %s: no CSRF token: %d %s", path, p.Status, p.Body)
	}
	return m[1]
}

// post sends form with the CSRF token of the page at from.
func (c *client) post(t *testing.T, from, path string, form url.Values) *page {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", c.token(t, from))
	return c.do(t, "POST", path, form)
}

// login signs in through the form as username with the harness password.
func (c *client) login(t *testing.T, username string) {
	t.Helper()
	p := c.post(t, "/console/login", "/console/login", url.Values{"username": {username}, "password": {apptest.Password}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/console/" {
		t.Fatalf("sign in as %s: %d %s %s", username, p.Status, p.Header.Get("Location"), p.Body)
	}
}
