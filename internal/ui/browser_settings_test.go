package ui_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv/gitserver"
)

// tab drives one chromium tab for a test: steps with a deadline,
// polled conditions, screenshots by name.
func (b *tab) fitsPhone(what string) {
	b.t.Helper()
	b.run("a phone's width", chromedp.EmulateViewport(390, 844))
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.documentElement.scrollWidth <= window.innerWidth`, chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		// What sticks out: an element past the right edge, or one whose
		// text is wider than its box; tables scroll in their own region.
		wide := b.value(`Array.from(document.querySelectorAll('body *')).filter(e => !e.closest('.table-wrap') &&
			(e.getBoundingClientRect().right > window.innerWidth + 1 || e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible'))
			.slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className).join(', ')`)
		b.t.Fatalf("%s at a phone's width: the page scrolls sideways; too wide: %s", what, wide)
	}
	b.run("the desktop's width", chromedp.EmulateViewport(1200, 800))
}

func TestBrowserSettings(t *testing.T) {
	f := start(t)
	b := newTab(t)
	ctx := b.ctx
	axe := axeScript(t)
	token := f.apiLogin(t, "admin", f.adminPassword)
	f.api(t, token, "POST", "/api/v1/accounts", map[string]any{"name": "robot", "capabilities": []string{"apiKey"}}, http.StatusCreated)
	team := &sollv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "team", Namespace: f.ns}, Spec: sollv1.ProjectSpec{
		Description: "The team's applications.", SourceRepos: []string{"https://git.example/team/*"},
		Destinations: []sollv1.ProjectDestination{{Server: "https://kubernetes.default.svc", Namespace: "team-*"}},
		Roles:        []sollv1.ProjectRole{{Name: "deployer", Policies: []string{"p, proj:team:deployer, applications, sync, team/*, allow"}}},
		SyncWindows:  []sollv1.SyncWindow{{Kind: "deny", Schedule: "0 22 * * *", Duration: metav1.Duration{Duration: time.Hour}, Applications: []string{"*"}}},
	}}
	if err := f.env.Client.Create(context.Background(), team); err != nil {
		t.Fatal(err)
	}
	f.waitListed(t, token, "team")
	repo := f.git.HTTPURL("config")
	dest := f.env.Namespace(t)

	b.run("log in",
		chromedp.Navigate(f.base+"/applications"),
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), f.adminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("new-app")))

	b.run("open the form", chromedp.Click(chromedp.ID("new-app")), chromedp.WaitVisible(chromedp.ID("name")))
	b.waitFor("only the chosen tool's options", `document.querySelector('[data-tool="helm"]').hidden && document.querySelector('[data-tool="directory"]').hidden`)
	b.run("fill the form",
		chromedp.SendKeys(chromedp.ID("name"), "clicked"),
		chromedp.SendKeys(chromedp.ID("repoURL"), repo),
		chromedp.SendKeys(chromedp.ID("targetRevision"), gitserver.DefaultBranch),
		chromedp.SendKeys(chromedp.ID("path"), "app"),
		chromedp.Click(chromedp.CSS(`input[name="tool"][value="directory"]`)),
		chromedp.WaitVisible(chromedp.ID("dirRecurse")),
		chromedp.Click(chromedp.ID("dirRecurse")),
		chromedp.SendKeys(chromedp.ID("destNamespace"), dest),
		chromedp.Click(chromedp.ID("automated")))
	if b.value(`String(document.querySelector('[data-tool="helm"]').hidden)`) != "true" {
		t.Error("the Helm options show with the directory tool chosen")
	}
	checkAccessibility(t, ctx, axe, "new application")
	b.shot("new-app")
	b.fitsPhone("the form")
	b.run("create", chromedp.Click(chromedp.ID("create-button")), chromedp.WaitVisible(chromedp.ID("sync-button")))
	if got := b.value(`document.querySelector('h1').textContent`); got != "clicked" {
		t.Fatalf("after Create: the page of %q, want clicked", got)
	}
	if got := b.value(`document.querySelector('.notice').textContent`); !strings.HasPrefix(got, "Application created") {
		t.Errorf("the notice after Create: %q", got)
	}
	if a := f.app(t, "clicked"); a.Spec.Source.Directory == nil || !a.Spec.Source.Directory.Recurse || a.Spec.SyncPolicy == nil {
		t.Errorf("the app made by clicks: %+v, policy %+v", a.Spec.Source, a.Spec.SyncPolicy)
	}
	f.waitSync(t, "clicked", "Synced")

	b.run("open the settings", chromedp.Click(chromedp.CSS(`.mainnav a[href="/settings"]`)), chromedp.WaitVisible(chromedp.CSS(".settings-index")))
	checkAccessibility(t, ctx, axe, "settings")
	b.shot("settings")
	b.run("open the repositories", chromedp.Click(chromedp.CSS(`.settings-index a[href="/settings/repositories"]`)), chromedp.WaitVisible(chromedp.ID("url")))
	b.run("fill the repository",
		chromedp.SendKeys(chromedp.ID("url"), repo),
		chromedp.SendKeys(chromedp.ID("name"), "config-repo"),
		chromedp.SendKeys(chromedp.ID("username"), "git"),
		chromedp.SendKeys(chromedp.ID("password"), "repo-password-1"),
		void(chromedp.Evaluate[bool](`window.notReloaded = true`)),
		chromedp.Click(chromedp.ID("test-button")))
	b.waitFor("the test's result", `window.notReloaded === true && document.getElementById('repo-test-result').textContent.startsWith('Connection test passed')`)
	if got := b.value(`document.getElementById('password').value`); got != "repo-password-1" {
		t.Errorf("the password typed after the test: %q, want it kept", got)
	}
	checkAccessibility(t, ctx, axe, "repositories")
	b.shot("settings-repositories")
	b.fitsPhone("the repositories")
	b.run("add", chromedp.Click(chromedp.ID("add-button")), chromedp.WaitVisible(chromedp.CSS(`tr[data-repo="config-repo"]`)))
	if !f.repoSecret(t, "config-repo") {
		t.Fatal("no repository Secret after Add")
	}

	b.run("open the accounts", chromedp.Click(chromedp.CSS(`.settingsnav a[href="/settings/accounts"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-account="robot"] input[name="id"]`)))
	b.run("create a token",
		chromedp.SendKeys(chromedp.CSS(`[data-account="robot"] input[name="id"]`), "browser"),
		chromedp.SendKeys(chromedp.CSS(`[data-account="robot"] input[name="expiresIn"]`), "1h"),
		chromedp.Click(chromedp.CSS(`[data-account="robot"] form.token-form button`)),
		chromedp.WaitVisible(chromedp.ID("new-token-value")))
	tok := b.value(`document.getElementById('new-token-value').value`)
	var who struct{ Subject, TokenID string }
	f.apiDecode(t, tok, "GET", "/api/v1/session", nil, http.StatusOK, &who)
	if who.Subject != "robot" || who.TokenID != "browser" {
		t.Errorf("the token shown is of %+v, want robot's browser", who)
	}
	checkAccessibility(t, ctx, axe, "accounts (new token)")
	b.shot("settings-token")
	b.run("revoke it", chromedp.Click(chromedp.CSS(`tr[data-token="browser"] button`)), chromedp.WaitVisible(chromedp.CSS(".notice")))
	if b.value(`String(document.querySelector('tr[data-token="browser"]') === null && document.getElementById('new-token-value') === null)`) != "true" {
		t.Error("after Revoke the token is still listed or shown")
	}
	f.api(t, tok, "GET", "/api/v1/session", nil, http.StatusUnauthorized)

	b.run("open the audit log", chromedp.Click(chromedp.CSS(`.settingsnav a[href="/settings/audit"]`)), chromedp.WaitVisible(chromedp.ID("a-user")))
	b.run("filter on admin", chromedp.SendKeys(chromedp.ID("a-user"), "admin"), chromedp.Click(chromedp.CSS(`form.filters button`)),
		chromedp.WaitVisible(chromedp.CSS(`table.audit[data-filtered]`)))
	for _, action := range []string{"Create", "Test", "CreateToken", "DeleteToken"} {
		if b.value(`String(document.querySelector('table.audit tr[data-action="`+action+`"]') !== null)`) != "true" {
			t.Errorf("the audit log lacks the %s just made", action)
		}
	}
	checkAccessibility(t, ctx, axe, "audit log")
	b.shot("settings-audit")

	b.run("open the current user", chromedp.Click(chromedp.CSS(`.settingsnav a[href="/settings/user"]`)), chromedp.WaitVisible(chromedp.CSS("table.rights")))
	checkAccessibility(t, ctx, axe, "current user")
	b.shot("settings-user")
	b.run("open the projects", chromedp.Click(chromedp.CSS(`.settingsnav a[href="/settings/projects"]`)), chromedp.WaitVisible(chromedp.CSS("table.projects")))
	checkAccessibility(t, ctx, axe, "projects")
	b.run("open team", chromedp.Click(chromedp.CSS(`table.projects a[href="/settings/projects/team"]`)), chromedp.WaitVisible(chromedp.ID("h-windows")))
	b.run("add a destination",
		chromedp.SendKeys(chromedp.CSS(`table.dests tr:nth-child(2) input[name="destName"]`), "in-cluster"),
		chromedp.SendKeys(chromedp.CSS(`table.dests tr:nth-child(2) input[name="destNamespace"]`), "team-b"),
		chromedp.Click(chromedp.ID("edit-button")),
		chromedp.WaitVisible(chromedp.CSS(".notice")))
	if got := b.value(`document.querySelectorAll('table.dests tr:nth-child(2) input')[2].value`); got != "team-b" {
		t.Errorf("the project's second destination after Save: %q, want team-b", got)
	}
	checkAccessibility(t, ctx, axe, "project")
	b.shot("settings-project")
	b.fitsPhone("the project")
	t.Logf("screenshots in %s", b.dir)
}
