// Package browsertest drives the pages in a real headless Chromium (Debian's
// chromium package) through chromedp, against a whole spotcheck served over
// real HTTP by apptest on each database dialect.
//
// A test opens tabs with Browser.Tab; every console error, uncaught
// exception and browser log error (a CSP violation, a failed load) in any
// tab fails the test at its end. Screenshots of the pages for the
// documentation are written to docs/ only when SPOTCHECK_UPDATE_SCREENSHOTS=1.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/spotcheck/spotcheck/server/app/apptest"
)

// ChromiumPath is where Debian's chromium package puts the browser;
// SPOTCHECK_CHROMIUM names another.
const ChromiumPath = "/usr/bin/chromium"

// Timeout bounds each test's browser work: a page that never shows what a
// test waits for fails the test instead of hanging it.
const Timeout = 60 * time.Second

// Browser is one headless Chromium with a fresh profile.
type Browser struct {
	ctx context.Context
	t   *testing.T

	mu     sync.Mutex
	errors []consoleError
	// documents are the URLs of the pages loaded: their status is the
	// test's to check (an error page answers 403 or 404 on purpose), so a
	// "failed to load" of one of them is not an error of the page.
	documents map[string]bool
}

type consoleError struct {
	text, url string
	network   bool
}

// Run runs fn once per dialect with a fresh harness and browser.
func Run(t *testing.T, fn func(t *testing.T, h *apptest.Harness, b *Browser)) {
	apptest.Run(t, func(t *testing.T, h *apptest.Harness) {
		fn(t, h, New(t))
	})
}

// New starts Chromium for t; it is stopped at the end of t, after which
// the errors seen in its tabs fail t.
func New(t *testing.T) *Browser {
	t.Helper()
	path := os.Getenv("SPOTCHECK_CHROMIUM")
	if path == "" {
		path = ChromiumPath
	}
	if _, err := exec.LookPath(path); err != nil {
		t.Fatalf("no Chromium at %s (apt-get install chromium; .ci/run installs it): %v", path, err)
	}
	// As root Chromium needs --no-sandbox; the network flags keep it from
	// calling home, which this machine's closed network refuses.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b := &Browser{ctx: ctx, t: t, documents: map[string]bool{}}
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		cancel()
		cancelAlloc()
		t.Fatalf("start Chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		for _, e := range b.Errors() {
			t.Errorf("browser: %s", e)
		}
	})
	return b
}

// Tab opens a new tab that records its console errors and uncaught
// exceptions; its context is cancelled (the tab closed) at the end of t or
// after Timeout.
func (b *Browser) Tab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		cancel()
		t.Fatalf("open a tab: %v", err)
	}
	ctx, cancelTime := context.WithTimeout(ctx, Timeout)
	messages := chromedp.Console(ctx)
	responses := chromedp.Events(ctx, network.ResponseReceived)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.errors = append(b.errors, consoleError{text: m.String(), url: m.URL, network: m.Source == "network"})
				b.mu.Unlock()
			}
		}
	}()
	go func() {
		defer wg.Done()
		for ev, err := range responses {
			if err != nil {
				return
			}
			if ev.Type == network.ResourceTypeDocument {
				b.mu.Lock()
				b.documents[ev.Response.URL] = true
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancelTime(); cancel(); wg.Wait() })
	return ctx
}

// Errors returns the errors seen so far and forgets them: for a test that
// provokes one on purpose.
func (b *Browser) Errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, e := range b.errors {
		if !(e.network && b.documents[e.url]) {
			out = append(out, fmt.Sprintf("%s (%s)", e.text, e.url))
		}
	}
	b.errors = nil
	return out
}

// Do runs steps in the tab and fails t on the first error.
func Do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// Get runs one action in the tab and returns its value; an error fails t.
func Get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// Load runs steps that lead to a new page (a navigation, a click on a
// link, a form sent), waits for it to load and returns its response: its
// status and headers.
func Load(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) *network.Response {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return resp
}

// Open loads url in the tab and returns its response.
func Open(t *testing.T, ctx context.Context, url string) *network.Response {
	t.Helper()
	return Load(t, ctx, chromedp.Navigate(url))
}

// Text returns the visible text of the first element matching the CSS
// selector sel, once it is visible.
func Text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	Do(t, ctx, chromedp.WaitVisible(chromedp.CSS(sel)))
	return strings.TrimSpace(Get(t, ctx, chromedp.Text(chromedp.CSS(sel))))
}

// Header is a response header, whatever the case of its name.
func Header(resp *network.Response, name string) string {
	for k, v := range resp.Headers {
		if strings.EqualFold(k, name) {
			return fmt.Sprint(v)
		}
	}
	return ""
}

// UpdateScreenshots is set when the documentation's screenshots are to be
// written again: SPOTCHECK_UPDATE_SCREENSHOTS=1.
var UpdateScreenshots = os.Getenv("SPOTCHECK_UPDATE_SCREENSHOTS") == "1"

// Screenshot saves the whole page as docs/web-NAME.png when
// UpdateScreenshots is set (only from one dialect's run: the pages are the
// same).
func Screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	ScreenshotIn(t, ctx, "", "web-"+name)
}

// ScreenshotIn saves the whole page as docs/DIR/NAME.png when
// UpdateScreenshots is set, as Screenshot does: for a set of pictures in
// a folder of their own (docs/pages/).
func ScreenshotIn(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	if !UpdateScreenshots || !strings.HasSuffix(t.Name(), "/sqlite") && !strings.Contains(t.Name(), "/sqlite/") {
		return
	}
	buf := Get(t, ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	path := filepath.Join(DocsDir(t), dir, name+".png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// DocsDir is the repository's docs folder.
func DocsDir(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "docs")
}
