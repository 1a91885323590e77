package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ScreenshotsEnv names the directory the browser test writes its
// screenshots to; unset, they go to a temporary directory of the test.
const ScreenshotsEnv = "SOLL_UI_SCREENSHOTS"

// chromium finds Debian's chromium; the browser tests fail without it
// rather than being skipped, so that CI cannot pass without running them.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed: the web UI's browser tests need it; install it (Debian: apt-get install chromium), as .ci/run does")
	return ""
}

// newBrowser starts headless chromium for the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 800),
		// Without these, chromium reaches for the network on its own,
		// which a closed network makes it wait on.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancel)
	// The first action starts the browser for the life of ctx, which
	// must have no deadline; the steps get theirs (see run in
	// TestBrowser).
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// void drops the value of an action, to run it among others.
func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := a(ctx, tg)
		return err
	})
}

// axeViolation is one serious or critical finding of axe-core.
type axeViolation struct {
	ID, Impact, Help string
	Nodes            []string
}

// checkAccessibility runs axe-core on the page and fails the test on
// serious and critical violations.
func checkAccessibility(t *testing.T, ctx context.Context, axe, page string) {
	t.Helper()
	const run = `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
		.filter(v => v.impact === 'serious' || v.impact === 'critical')
		.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))`
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[*runtime.RemoteObject](axe)); err != nil {
		t.Fatalf("load axe-core into the %s page: %v", page, err)
	}
	found, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](run, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe-core on the %s page: %v", page, err)
	}
	for _, v := range found {
		t.Errorf("accessibility of the %s page: %s (%s): %s at %v", page, v.ID, v.Impact, v.Help, v.Nodes)
	}
}

// TestBrowser does by clicks, in chromium with the page's script: log in,
// see the apps OutOfSync, watch one turn Synced in the list and in the
// counts without a reload, see it marked when deleted, check the list in
// dark mode at a phone's width, open the other app, click Sync and see it
// turn Synced without a reload, roll back to that sync and unpin by clicks
// (the pin shows without a reload), log out. axe-core checks each page; each
// step leaves a screenshot.
func TestBrowser(t *testing.T) {
	f := start(t)
	b := newTab(t)
	ctx, dir := b.ctx, b.dir
	axe := axeScript(t)
	f.createApp(t, "web", nil, nil)
	f.createApp(t, "db", nil, nil)
	f.waitSync(t, "web", "OutOfSync")
	f.waitSync(t, "db", "OutOfSync")

	// The steps' screenshots are numbered in their order.
	step := 0
	shot := func(name string) {
		t.Helper()
		step++
		b.shot(fmt.Sprintf("%d-%s", step, name))
	}
	run, waitFor := b.run, b.waitFor
	text := func(sel string) string {
		t.Helper()
		return strings.TrimSpace(b.text(sel))
	}

	run("open the list", chromedp.Navigate(f.base+"/applications"), chromedp.WaitVisible(chromedp.ID("username")))
	checkAccessibility(t, ctx, axe, "login")
	shot("login")

	run("log in",
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), f.adminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-app="web"]`)))
	if got := text(`tr[data-app="web"] [data-field="sync"]`); got != "OutOfSync" {
		t.Fatalf("web in the list: %q, want OutOfSync", got)
	}
	// With JavaScript off, the list and an app's page are still there,
	// read from the server's HTML alone.
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("turn JavaScript off: %v", err)
	}
	run("the list without JavaScript", chromedp.Navigate(f.base+"/applications?sort=-name"), chromedp.WaitVisible(chromedp.CSS(`tr[data-app="db"]`)))
	if got := text(`tr[data-app="web"] [data-field="sync"]`); got != "OutOfSync" {
		t.Errorf("web in the list without JavaScript: %q, want OutOfSync", got)
	}
	if live, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.getAttribute('data-live') || 'none'`)); live != "none" {
		t.Errorf("the script ran with JavaScript off (data-live %q)", live)
	}
	run("an app without JavaScript", chromedp.Navigate(f.base+"/applications/web"), chromedp.WaitVisible(chromedp.ID("h-status")))
	if got := text(`.facts [data-field="sync"]`); got != "OutOfSync" {
		t.Errorf("web's page without JavaScript: sync %q, want OutOfSync", got)
	}
	shot("no-javascript")
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false}); err != nil {
		t.Fatalf("turn JavaScript on: %v", err)
	}
	run("back to the list", chromedp.Navigate(f.base+"/applications"), chromedp.WaitVisible(chromedp.CSS(`tr[data-app="web"]`)))
	waitFor("the list's event stream", `document.body.getAttribute('data-live') === 'on'`)
	checkAccessibility(t, ctx, axe, "applications")
	shot("applications")

	// A sync from elsewhere (the API) shows in the list without a reload.
	token := f.apiLogin(t, "admin", f.adminPassword)
	run("mark the list page", void(chromedp.Evaluate[bool](`window.notReloaded = true`)))
	f.api(t, token, "POST", "/api/v1/applications/db/sync", nil, http.StatusAccepted)
	waitFor("db Synced in the list", `window.notReloaded === true && document.querySelector('tr[data-app="db"] [data-field="sync"]').textContent.trim() === 'Synced'`)
	waitFor("the counts follow", `document.querySelector('[data-count="sync:Synced"]').textContent === '1' && document.querySelector('[data-count="sync:OutOfSync"]').textContent === '1'`)
	shot("applications-live")

	// The selection: tick web and refresh it; the page stays and says
	// what was done. "Select all" ticks every app of the page.
	run("refresh the selection",
		chromedp.Click(chromedp.CSS(`input[name="app"][value="web"]`)),
		chromedp.Click(chromedp.CSS(`#bulk button[value="refresh"]`)))
	waitFor("the selection refreshed", `window.notReloaded === true && document.getElementById('live').textContent === 'Refresh requested for 1 of 1 selected applications.'`)
	run("select all", chromedp.Click(chromedp.CSS(`[data-select-all]`)))
	waitFor("every app selected", `Array.from(document.querySelectorAll('input[name="app"]')).every(function (b) { return b.checked; })`)

	// A deleted app is marked in the list and leaves the counts.
	if err := f.env.Client.Delete(context.Background(), f.app(t, "db")); err != nil {
		t.Fatal(err)
	}
	waitFor("db marked deleted", `window.notReloaded === true && document.querySelector('tr[data-app="db"]').classList.contains('deleted') &&
		document.querySelector('tr[data-app="db"] th').textContent.includes('(deleted)') &&
		document.querySelector('[data-count="sync:Synced"]').textContent === '0'`)

	// Dark mode at a phone's width: still accessible (contrast included),
	// and the page itself does not scroll sideways.
	dark := emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, dark); err != nil {
		t.Fatalf("emulate dark mode: %v", err)
	}
	run("a phone's width", chromedp.EmulateViewport(390, 844))
	waitFor("dark colours", `getComputedStyle(document.body).backgroundColor === 'rgb(21, 24, 28)'`)
	waitFor("the page fits the width", `document.documentElement.scrollWidth <= window.innerWidth`)
	checkAccessibility(t, ctx, axe, "applications (dark, phone)")
	shot("applications-dark-phone")
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatalf("end the dark mode: %v", err)
	}
	run("the desktop's width", chromedp.EmulateViewport(1200, 800))

	run("open web",
		chromedp.Click(chromedp.CSS(`tr[data-app="web"] a`)),
		chromedp.WaitVisible(chromedp.ID("sync-button")))
	waitFor("the app's event stream", `document.body.getAttribute('data-live') === 'on'`)
	checkAccessibility(t, ctx, axe, "application")
	shot("application")

	// The sync dialog: what would change, then a dry run whose results
	// per resource arrive without a reload.
	run("open the sync dialog", chromedp.Click(chromedp.ID("sync-options")), chromedp.WaitVisible(chromedp.ID("sync-submit")))
	waitFor("the dialog's event stream", `document.body.getAttribute('data-live') === 'on'`)
	if got := text(".changes"); !strings.Contains(got, "ConfigMap") || !strings.Contains(got, "greeting") {
		t.Errorf("the dialog's changes: %q, want the ConfigMap greeting", got)
	}
	checkAccessibility(t, ctx, axe, "sync dialog")
	shot("sync-dialog")
	run("dry run",
		void(chromedp.Evaluate[bool](`window.notReloaded = true`)),
		chromedp.Click(chromedp.CSS(`input[name="dryRun"]`)),
		chromedp.Click(chromedp.ID("sync-submit")))
	waitFor("the dry run's results", `window.notReloaded === true && document.querySelector('[data-op-results]').textContent.includes('greeting') &&
		document.querySelector('[data-field="phase"]').textContent.trim() === 'Succeeded'`)
	if got := text("#live"); !strings.Contains(got, "Dry run requested") {
		t.Errorf("the dialog's message after the dry run: %q", got)
	}
	shot("sync-dry-run")
	run("back to web", chromedp.Navigate(f.base+"/applications/web"), chromedp.WaitVisible(chromedp.ID("sync-button")))

	run("click Sync",
		void(chromedp.Evaluate[bool](`window.notReloaded = true`)),
		chromedp.Click(chromedp.ID("sync-button")))
	waitFor("web Synced on its page", `window.notReloaded === true && document.querySelector('.facts [data-field="sync"]').textContent.trim() === 'Synced'`)
	waitFor("the sync's history entry", `window.notReloaded === true && document.querySelectorAll('[data-history] tr td code').length === 1`)
	// The commit's message, hostile on purpose, arrives as text.
	if got := text(`[data-history] .commit-message`); !strings.HasPrefix(got, commitMessage+" (") {
		t.Errorf("the history's commit: %q, want the message %q as text and its author", got, commitMessage)
	}
	if got := text("#live"); !strings.Contains(got, "Sync requested") {
		t.Errorf("the page's message after Sync: %q", got)
	}
	waitFor("the conditions follow", `!document.querySelector('[data-conditions]').textContent.includes('OutOfSync')`)
	if got := text(`.facts [data-field="phase"]`); got != "Succeeded" {
		t.Errorf("the operation's phase: %q, want Succeeded", got)
	}
	shot("synced")

	// The history row came from the stream, its rollback form from the
	// page's template: a click rolls back, and the pin shows, with Unpin,
	// without a reload.
	run("click Roll back", chromedp.Click(chromedp.CSS(`[data-history] form[action="/applications/web/rollback"] button`)))
	waitFor("the pin", `window.notReloaded === true && document.querySelector('[data-field="pin"]').textContent.startsWith('Pinned to ') &&
		!document.querySelector('[data-unpin]').hidden`)
	if got := text("#live"); !strings.Contains(got, "Rollback requested") {
		t.Errorf("the page's message after Roll back: %q", got)
	}
	checkAccessibility(t, ctx, axe, "application (pinned)")
	shot("pinned")
	run("click Unpin", chromedp.Click(chromedp.ID("unpin-button")))
	waitFor("unpinned", `window.notReloaded === true && document.querySelector('[data-field="pin"]').textContent.startsWith('Not pinned') &&
		document.querySelector('[data-unpin]').hidden`)
	if a := f.app(t, "web"); a.Spec.Pin != nil {
		t.Errorf("web is still pinned after Unpin: %+v", a.Spec.Pin)
	}

	// Delete waits for the app's name to be typed.
	waitFor("Delete disabled", `document.getElementById('delete-button').disabled`)
	run("type the name", chromedp.SendKeys(chromedp.ID("delete-confirm"), "web"))
	waitFor("Delete enabled", `!document.getElementById('delete-button').disabled`)

	run("log out",
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.ID("username")))
	if got := text(".notice"); got != "You are logged out." {
		t.Errorf("after logout: %q", got)
	}
	shot("logged-out")
	t.Logf("screenshots in %s", dir)
}
