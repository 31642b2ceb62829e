package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/spotcheck/spotcheck/internal/browsertest"
	"github.com/spotcheck/spotcheck/server/app/apptest"
	"github.com/spotcheck/spotcheck/server/draw"
	"github.com/spotcheck/spotcheck/server/web"
)

// The pages in a real browser: what they show, that they run no script the
// policy refuses and log no error, and that they speak Chinese.

// signIn fills the sign-in form (the tab is on it) and sends it.
func signIn(t *testing.T, ctx context.Context, username, password string) int64 {
	t.Helper()
	browsertest.Do(t, ctx,
		chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)),
		chromedp.Clear(chromedp.CSS(`input[name="username"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), username),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
	)
	return browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`form.stack button[type="submit"]`))).Status
}

func TestBrowser_SignIn(t *testing.T) {
	browsertest.Run(t, func(t *testing.T, h *apptest.Harness, b *browsertest.Browser) {
		h.IssueCampaign(t, apptest.CampaignSpec{Name: "全市网吧联合抽查", Cafes: 4, Ratio: "0.5"})
		ctx := b.Tab(t)

		// A console page without a session: the sign-in form, and back after.
		resp := browsertest.Open(t, ctx, h.URL+"/console/")
		if got := browsertest.Header(resp, "Content-Security-Policy"); got != web.ContentSecurityPolicy {
			t.Errorf("Content-Security-Policy %q", got)
		}
		if loc := browsertest.Get(t, ctx, chromedp.Location()); !strings.HasPrefix(loc, h.URL+"/console/login?next=") {
			t.Fatalf("not sent to sign in: %s", loc)
		}
		if got := browsertest.Text(t, ctx, "h1"); got != "登录控制台" {
			t.Fatalf("sign-in heading %q", got)
		}
		assertChinese(t, ctx)
		browsertest.Screenshot(t, ctx, "login")

		// A wrong password: the Chinese error, the username kept.
		if st := signIn(t, ctx, "coord-a", "wrong-password"); st != http.StatusUnauthorized {
			t.Errorf("wrong password: status %d", st)
		}
		if got := browsertest.Text(t, ctx, ".form-error"); got != "用户名或密码错误" {
			t.Fatalf("wrong password shows %q", got)
		}
		if got := browsertest.Get(t, ctx, chromedp.Value(chromedp.CSS(`input[name="username"]`))); got != "coord-a" {
			t.Errorf("username not kept: %q", got)
		}

		// The right one: the dashboard, with the user, the role and the campaign.
		if st := signIn(t, ctx, "coord-a", apptest.Password); st != http.StatusOK {
			t.Fatalf("sign in: status %d", st)
		}
		if loc := browsertest.Get(t, ctx, chromedp.Location()); loc != h.URL+"/console/" {
			t.Fatalf("after sign-in at %s", loc)
		}
		if got := browsertest.Text(t, ctx, "h1"); got != "工作台" {
			t.Fatalf("dashboard heading %q", got)
		}
		if got := browsertest.Text(t, ctx, "header .role"); got != "牵头部门协调员" {
			t.Errorf("role shown %q", got)
		}
		if got := browsertest.Text(t, ctx, "main table tbody"); !strings.Contains(got, "全市网吧联合抽查") || !strings.Contains(got, "已下发检查表") {
			t.Errorf("dashboard campaigns: %q", got)
		}
		assertChinese(t, ctx)
		browsertest.Screenshot(t, ctx, "console-home")
		assertFits(t, ctx, 820, 1180) // a tablet, upright
		browsertest.Screenshot(t, ctx, "console-home-tablet")
		browsertest.Do(t, ctx, chromedp.EmulateReset())

		// Signing out ends the session: the console asks to sign in again.
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`form[action="/console/logout"] button`)))
		if got := browsertest.Text(t, ctx, ".flash"); got != "已退出登录" {
			t.Errorf("after sign-out: %q", got)
		}
		browsertest.Open(t, ctx, h.URL+"/console/")
		if got := browsertest.Text(t, ctx, "h1"); got != "登录控制台" {
			t.Fatalf("after sign-out the console shows %q", got)
		}
	})
}

func TestBrowser_CSRFAndCSP(t *testing.T) {
	browsertest.Run(t, func(t *testing.T, h *apptest.Harness, b *browsertest.Browser) {
		ctx := b.Tab(t)
		browsertest.Open(t, ctx, h.URL+"/console/login")
		signIn(t, ctx, "admin-a", apptest.Password)

		// The sign-out form without its token: refused with the 403 page,
		// and the session goes on.
		browsertest.Do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action="/console/logout"] input[name="csrf"]').remove()`))
		resp := browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(`form[action="/console/logout"] button`)))
		if resp.Status != http.StatusForbidden {
			t.Errorf("POST without a token: status %d", resp.Status)
		}
		if got := browsertest.Text(t, ctx, "h1"); got != "无权访问" {
			t.Errorf("POST without a token shows %q", got)
		}
		if got := browsertest.Text(t, ctx, "main"); !strings.Contains(got, "表单已过期或来源不明") {
			t.Errorf("POST without a token says %q", got)
		}
		assertChinese(t, ctx)
		browsertest.Open(t, ctx, h.URL+"/console/")
		if got := browsertest.Text(t, ctx, "h1"); got != "工作台" {
			t.Fatalf("signed out by a request without a token: %q", got)
		}

		// A script put in the page inline does not run: the policy refuses it
		// and the browser says so.
		ran := browsertest.Get(t, ctx, chromedp.Evaluate[bool](`(() => {
			const s = document.createElement("script");
			s.textContent = "window.inlineRan = true";
			document.body.appendChild(s);
			return window.inlineRan === true;
		})()`))
		if ran {
			t.Error("an inline script ran")
		}
		browsertest.Get(t, ctx, chromedp.Poll[bool](`document.readyState === "complete"`))
		errs := strings.Join(b.Errors(), "\n")
		if !strings.Contains(errs, "Content Security Policy") {
			t.Errorf("no CSP violation reported: %q", errs)
		}

		// The 404 page of the console, in Chinese, under the same policy.
		resp = browsertest.Open(t, ctx, h.URL+"/console/no-such-screen")
		if resp.Status != http.StatusNotFound || browsertest.Header(resp, "Content-Security-Policy") != web.ContentSecurityPolicy {
			t.Errorf("404 page: %d %q", resp.Status, browsertest.Header(resp, "Content-Security-Policy"))
		}
		if got := browsertest.Text(t, ctx, "h1"); got != "页面不存在" {
			t.Errorf("404 page shows %q", got)
		}
		assertChinese(t, ctx)
		browsertest.Screenshot(t, ctx, "not-found")
	})
}

func TestBrowser_PublicVerifiesDraw(t *testing.T) {
	browsertest.Run(t, func(t *testing.T, h *apptest.Harness, b *browsertest.Browser) {
		is := h.IssueCampaign(t, apptest.CampaignSpec{Name: "全市网吧联合抽查", Cafes: 8, Ratio: "0.5"})
		id := is.Campaign.ID
		var rec draw.Record
		h.MustDo(t, "GET", fmt.Sprintf("/public/campaigns/%d/record", id), "", nil, http.StatusOK, &rec)
		ctx := b.Tab(t)

		// The list of campaigns, then the campaign's page.
		browsertest.Open(t, ctx, h.URL+"/")
		if got := browsertest.Text(t, ctx, "main table"); !strings.Contains(got, "全市网吧联合抽查") || !strings.Contains(got, rec.ManifestDigest[:16]) {
			t.Fatalf("campaign list: %q", got)
		}
		assertChinese(t, ctx)
		browsertest.Screenshot(t, ctx, "public-index")
		browsertest.Load(t, ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/campaigns/%d"]`, id))))

		// What the page shows is the record the API serves.
		if got := browsertest.Text(t, ctx, "#manifest-digest"); got != rec.ManifestDigest {
			t.Errorf("digest on the page %q, record %q", got, rec.ManifestDigest)
		}
		if got := browsertest.Text(t, ctx, "#seed"); got != rec.Seed || len(got) != 64 {
			t.Errorf("seed on the page %q, record %q", got, rec.Seed)
		}
		if got := browsertest.Text(t, ctx, "ol.sources"); !strings.Contains(got, rec.Randomness[0]) {
			t.Errorf("randomness %q not on the page: %q", rec.Randomness[0], got)
		}
		codes := browsertest.Get(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("table.selection .credit-code")].map(e => e.textContent)`))
		if len(codes) != len(rec.Selection) || len(codes) != 4 {
			t.Fatalf("%d selections on the page, %d in the record", len(codes), len(rec.Selection))
		}
		for i, it := range rec.Selection {
			if codes[i] != it.CreditCode {
				t.Errorf("selection %d: page %s, record %s", i, codes[i], it.CreditCode)
			}
		}
		recordURL := fmt.Sprintf("%s/public/campaigns/%d/record", h.URL, id)
		if got := browsertest.Text(t, ctx, "#verify-command"); got != "spotcheck verify draw "+recordURL {
			t.Errorf("verify command %q", got)
		}
		assertChinese(t, ctx) // the screenshot, verified in the browser: browser_verify_test.go
		assertFits(t, ctx, 820, 1180)
		browsertest.Do(t, ctx, chromedp.EmulateReset())

		// The public re-verifies the draw from the file the page links to.
		href := browsertest.Get(t, ctx, chromedp.Evaluate[string](`document.querySelector('a[download][href$="/record"]').href`))
		if href != recordURL {
			t.Fatalf("record link %q", href)
		}
		resp, err := http.Get(href)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var downloaded draw.Record
		if err := json.Unmarshal(body, &downloaded); err != nil {
			t.Fatal(err)
		}
		if err := draw.Verify(&downloaded); err != nil {
			t.Fatalf("the downloaded record does not verify: %v", err)
		}
		if downloaded.Seed != rec.Seed || downloaded.ManifestDigest != rec.ManifestDigest {
			t.Fatalf("downloaded record differs from the page")
		}

		// Results: none published yet; the search page.
		browsertest.Open(t, ctx, fmt.Sprintf("%s/campaigns/%d/results", h.URL, id))
		if got := browsertest.Text(t, ctx, "main .empty"); got != "本次抽查的结果尚未公示。" {
			t.Errorf("results before publication: %q", got)
		}
		assertChinese(t, ctx)
		browsertest.Open(t, ctx, h.URL+"/results?q=网吧")
		if got := browsertest.Text(t, ctx, "main .empty"); !strings.Contains(got, "没有名称含“网吧”的公示结果") {
			t.Errorf("search: %q", got)
		}
		assertChinese(t, ctx)
	})
}

// assertChinese fails t if the page's text, outside code, preformatted
// text and data marked translate="no" (usernames), has a word of English.
func assertChinese(t *testing.T, ctx context.Context) {
	t.Helper()
	text := browsertest.Get(t, ctx, chromedp.Evaluate[string](`(() => {
		const b = document.body.cloneNode(true);
		b.querySelectorAll('code, pre, script, style, [translate="no"]').forEach(e => e.remove());
		return document.title + "\n" + b.textContent;
	})()`))
	for _, w := range englishIn(text) {
		t.Errorf("page shows the English word %q", w)
	}
}

// assertFits sets the viewport to width×height and fails t if the page is
// then wider than the screen: nothing but a table's own scroll box may
// scroll sideways.
func assertFits(t *testing.T, ctx context.Context, width, height int64) {
	t.Helper()
	browsertest.Do(t, ctx, chromedp.EmulateViewport(width, height))
	got := browsertest.Get(t, ctx, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
	if got > width {
		t.Errorf("the page is %d px wide on a %d px screen", got, width)
	}
}
