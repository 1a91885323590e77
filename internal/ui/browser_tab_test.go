package ui_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// tab drives one browser tab for a test: steps with deadlines, DOM
// conditions polled with deadlines, screenshots by name into dir (a
// failed step leaves "<name>-failed.png", name being the test's).
type tab struct {
	t   *testing.T
	ctx context.Context
	dir string
}

// newTab starts a browser for t; its screenshots go to $SOLL_UI_SCREENSHOTS
// or a temporary directory.
func newTab(t *testing.T) *tab {
	t.Helper()
	dir := os.Getenv(ScreenshotsEnv)
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &tab{t: t, ctx: newBrowser(t), dir: dir}
}

// run does the actions within 90 seconds, or fails the test with the
// page's live message and a screenshot.
func (b *tab) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		if png, serr := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); serr == nil {
			_ = os.WriteFile(filepath.Join(b.dir, b.t.Name()+"-failed.png"), png, 0o644)
		}
		live, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(document.getElementById('live') || {}).textContent || ''`))
		b.t.Fatalf("%s: %v (the page says %q; screenshots in %s)", what, err, live, b.dir)
	}
}

// waitFor polls a JavaScript condition until it holds, for a minute at
// most.
func (b *tab) waitFor(what, cond string) {
	b.t.Helper()
	b.until(what, time.Minute, cond)
}

// until polls a JavaScript condition every 20 ms until it holds or
// within runs out, and returns how long it took.
func (b *tab) until(what string, within time.Duration, cond string) time.Duration {
	b.t.Helper()
	start := time.Now()
	b.run(what, void(chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(within), chromedp.WithPollingInterval(20*time.Millisecond))))
	return time.Since(start)
}

// shot writes a screenshot of the page as name.png.
func (b *tab) shot(name string) {
	b.t.Helper()
	b.writePNG(name, chromedp.FullScreenshot(100))
}

// element writes a screenshot of the element sel as name.png.
func (b *tab) element(name, sel string) {
	b.t.Helper()
	b.writePNG(name, chromedp.Screenshot(chromedp.CSS(sel)))
}

func (b *tab) writePNG(name string, a chromedp.Action[[]byte]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, a)
	if err == nil {
		err = os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644)
	}
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
}

// text is the text of the element sel.
func (b *tab) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// value evaluates js to a string.
func (b *tab) value(js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

// login logs in as user through the login form, on the way to path, and
// waits for sel on the page it leads to.
func (b *tab) login(base, path, user, password, sel string) {
	b.t.Helper()
	b.run("log in as "+user,
		chromedp.Navigate(base+path),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(sel)))
}
