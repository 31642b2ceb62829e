package web_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/spotcheck/spotcheck/server"
	"github.com/spotcheck/spotcheck/server/app"
	"github.com/spotcheck/spotcheck/server/app/apptest"
)

func TestSession_Cookies(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		c := newClient(t, h)
		tok := c.token(t, "/console/login")
		r := c.do(t, "POST", "/console/login", url.Values{"csrf": {tok}, "username": {"coord-a"}, "password": {apptest.Password}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("sign in: %d %s", r.Status, r.Body)
		}
		names := map[string]bool{}
		for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
			names[ck.Name] = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure {
				t.Errorf("cookie %s: HttpOnly %v SameSite %v Secure %v over plain HTTP", ck.Name, ck.HttpOnly, ck.SameSite, ck.Secure)
			}
		}
		if !names["sc_access"] || !names["sc_refresh"] {
			t.Fatalf("session cookies %v", names)
		}

		// Behind a TLS proxy named by --public-url the cookies are Secure.
		h.App.Web.SecureCookies = true
		defer func() { h.App.Web.SecureCookies = false }()
		c2 := newClient(t, h)
		r = c2.do(t, "POST", "/console/login", url.Values{"csrf": {c2.token(t, "/console/login")}, "username": {"coord-a"}, "password": {apptest.Password}})
		for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
			if !ck.Secure {
				t.Errorf("cookie %s not Secure with SecureCookies", ck.Name)
			}
		}
	})
}

func TestSession_EndsAtOnce(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		// A disabled account's session ends at the next request, although
		// its access token has not expired.
		c := newClient(t, h)
		c.login(t, "insp-a2")
		if r := c.get(t, "/console/"); r.Status != http.StatusOK {
			t.Fatalf("home: %d", r.Status)
		}
		if err := h.App.Users.DisableUser(app.SystemContext(context.Background()), h.Users["insp-a2"].ID); err != nil {
			t.Fatal(err)
		}
		if r := c.get(t, "/console/"); !isToLogin(r) {
			t.Fatalf("disabled user: %d %s", r.Status, r.Header.Get("Location"))
		}

		// After signing out, the old access cookie, replayed, opens nothing.
		c = newClient(t, h)
		c.login(t, "coord-a")
		u, _ := url.Parse(h.URL + "/console/")
		stolen := c.http.Jar.Cookies(u)
		if r := c.post(t, "/console/", "/console/logout", nil); !isToLogin(r) {
			t.Fatalf("logout: %d", r.Status)
		}
		jar, _ := cookiejar.New(nil)
		jar.SetCookies(u, stolen)
		replay := newClient(t, h)
		replay.http.Jar = jar
		if r := replay.get(t, "/console/"); !isToLogin(r) {
			t.Fatalf("replayed cookies after logout: %d", r.Status)
		}

		// Signing in as someone else on the same browser ends the session
		// it held: the first user's cookies, replayed, open nothing.
		c = newClient(t, h)
		c.login(t, "coord-a")
		stolen = c.http.Jar.Cookies(u)
		// (The sign-in form sends a signed-in browser on; a public page
		// carries the same session-less token.)
		if r := c.post(t, "/", "/console/login", url.Values{"username": {"admin-a"}, "password": {apptest.Password}}); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/console/" {
			t.Fatalf("sign in as admin-a over coord-a: %d %s", r.Status, r.Header.Get("Location"))
		}
		jar, _ = cookiejar.New(nil)
		jar.SetCookies(u, stolen)
		replay.http.Jar = jar
		if r := replay.get(t, "/console/"); !isToLogin(r) {
			t.Fatalf("the previous user's cookies after another sign-in: %d", r.Status)
		}
		if r := c.get(t, "/console/"); r.Status != http.StatusOK || !strings.Contains(r.Body, "admin-a") {
			t.Fatalf("the new session: %d", r.Status)
		}
	})
}

func TestSession_RefreshesExpiredAccess(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		c := newClient(t, h)
		c.login(t, "coord-a")
		u, _ := url.Parse(h.URL + "/console/")
		before := cookieValue(c, u, "sc_refresh")
		h.Advance(time.Hour) // the access token (10 minutes) has expired
		r := c.get(t, "/console/")
		if r.Status != http.StatusOK || !strings.Contains(r.Body, "工作台") {
			t.Fatalf("home after the access token expired: %d %s", r.Status, r.Header.Get("Location"))
		}
		if after := cookieValue(c, u, "sc_refresh"); after == "" || after == before {
			t.Fatalf("refresh token not rotated: %q → %q", before, after)
		}
		if r := c.get(t, "/console/"); r.Status != http.StatusOK {
			t.Fatalf("home with the new tokens: %d", r.Status)
		}
	})
}

func TestSession_PasswordChangeRequired(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		u := &server.User{Username: "fresh-admin", Role: server.RoleDepartmentAdmin, DepartmentID: &h.DeptA.ID}
		if err := h.App.Users.CreateUserUnchecked(context.Background(), u, "one-time-pass", true); err != nil {
			t.Fatal(err)
		}
		c := newClient(t, h)
		r := c.post(t, "/console/login", "/console/login", url.Values{"username": {"fresh-admin"}, "password": {"one-time-pass"}})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/console/password" {
			t.Fatalf("sign in with a one-time password: %d %s", r.Status, r.Header.Get("Location"))
		}
		// Every other console page sends the user back to the form.
		if r := c.get(t, "/console/"); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/console/password" {
			t.Fatalf("home before the change: %d %s", r.Status, r.Header.Get("Location"))
		}
		if r := c.get(t, "/console/password"); !strings.Contains(r.Body, "一次性密码") {
			t.Fatalf("the form does not say why: %s", r.Body)
		}
		// Mismatched new passwords: the form again, with the error on the field.
		r = c.post(t, "/console/password", "/console/password", url.Values{
			"current_password": {"one-time-pass"}, "new_password": {"a-long-new-password"}, "new_password_again": {"another"},
		})
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "两次输入的新密码不一致") {
			t.Fatalf("mismatch: %d %s", r.Status, r.Body)
		}
		r = c.post(t, "/console/password", "/console/password", url.Values{
			"current_password": {"one-time-pass"}, "new_password": {"a-long-new-password"}, "new_password_again": {"a-long-new-password"},
		})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/console/" {
			t.Fatalf("change: %d %s %s", r.Status, r.Header.Get("Location"), r.Body)
		}
		if r := c.get(t, "/console/"); r.Status != http.StatusOK || !strings.Contains(r.Body, "密码已修改") {
			t.Fatalf("home after the change: %d", r.Status)
		}
	})
}

func TestCSRF(t *testing.T) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		c := newClient(t, h)
		c.login(t, "coord-a")
		other := newClient(t, h)
		other.login(t, "coord-a")
		for name, form := range map[string]url.Values{
			"no token":              {},
			"wrong token":           {"csrf": {"x"}},
			"another login's token": {"csrf": {other.token(t, "/console/")}},
		} {
			r := c.do(t, "POST", "/console/logout", form)
			if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "表单已过期或来源不明") {
				t.Errorf("%s: %d %s", name, r.Status, r.Body)
			}
		}
		// The right token from another site's page is refused too.
		tok := c.token(t, "/console/")
		// So is the right token in the URL rather than the form.
		if r := c.do(t, "POST", "/console/logout?csrf="+url.QueryEscape(tok), url.Values{}); r.Status != http.StatusForbidden {
			t.Errorf("token in the query string: %d %s", r.Status, r.Header.Get("Location"))
		}
		req, _ := http.NewRequest("POST", h.URL+"/console/logout", strings.NewReader(url.Values{"csrf": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "http://evil.example")
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("foreign Origin: %d", resp.StatusCode)
		}
		// Still signed in: none of the above did anything.
		if r := c.get(t, "/console/"); r.Status != http.StatusOK {
			t.Fatalf("signed out by a forged request: %d", r.Status)
		}
		// Behind a proxy named by --public-url, the browser's Origin is the
		// public one: accepted with the token.
		h.App.Web.PublicURL = "https://spotcheck.example.org/"
		defer func() { h.App.Web.PublicURL = "" }()
		req, _ = http.NewRequest("POST", h.URL+"/console/logout", strings.NewReader(url.Values{"csrf": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://spotcheck.example.org")
		resp, err = c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/login") {
			t.Fatalf("logout with the token from the public origin: %d", resp.StatusCode)
		}
		if r := c.get(t, "/console/"); !isToLogin(r) {
			t.Fatalf("still signed in after logout: %d", r.Status)
		}
	})
}

func cookieValue(c *client, u *url.URL, name string) string {
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}
