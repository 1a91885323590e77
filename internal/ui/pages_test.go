package ui_test

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/appstate"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

// checkHeaders fails unless p carries the security headers every
// response of the UI must.
func checkHeaders(t *testing.T, what string, p page) {
	t.Helper()
	csp := p.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", what, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("%s: Content-Security-Policy %q allows unsafe sources", what, csp)
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"} {
		if got := p.header.Get(h); got != want {
			t.Errorf("%s: %s is %q, want %q", what, h, got, want)
		}
	}
}

func mustContain(t *testing.T, what string, p page, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Errorf("%s: the page lacks %q:\n%s", what, s, p.body)
		}
	}
}

var scriptTag = regexp.MustCompile(`(?i)<script[^>]*>`)

// TestPages walks the pages as a browser without JavaScript does: login
// (wrong password, forged form, open redirect, throttling), the list with
// its filters and counts, the detail with values from Git and the
// cluster written as text, the actions and their CSRF and RBAC checks,
// and logout. Every answer carries the security headers.
func TestPages(t *testing.T) {
	f := start(t)
	const evil = `<script>alert("annotation")</script>`
	f.createApp(t, "web", map[string]string{"team": "web"}, map[string]string{"note": evil, "link": "javascript:alert(1)"})
	f.createApp(t, "db", map[string]string{"team": "data"}, nil)
	f.waitSync(t, "web", "OutOfSync")
	f.waitSync(t, "db", "OutOfSync")

	anon := f.browser(t)
	t.Run("anonymous", func(t *testing.T) {
		p := anon.get("/applications?sort=health")
		checkHeaders(t, "redirect to login", p)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/login?return="+url.QueryEscape("/applications?sort=health") {
			t.Fatalf("anonymous list: %d to %q, want 303 to the login", p.status, p.header.Get("Location"))
		}
		p = anon.get("/")
		if p.status != http.StatusFound || p.header.Get("Location") != "/applications" {
			t.Errorf("/: %d to %q", p.status, p.header.Get("Location"))
		}
		p = anon.get("/login")
		checkHeaders(t, "login page", p)
		mustContain(t, "login page", p, `<label for="username">Username</label>`, `type="password"`)
		if strings.Contains(p.body, "SSO") {
			t.Error("the login page offers SSO, which is not configured")
		}
		// Static files: cache-busting names, long caching, 404 for others.
		css := regexp.MustCompile(`/static/soll\.[0-9a-f]{8}\.css`).FindString(p.body)
		if css == "" {
			t.Fatalf("no stylesheet link:\n%s", p.body)
		}
		s := anon.get(css)
		checkHeaders(t, "stylesheet", s)
		if s.status != http.StatusOK || !strings.HasPrefix(s.header.Get("Content-Type"), "text/css") || !strings.Contains(s.header.Get("Cache-Control"), "immutable") {
			t.Errorf("stylesheet: %d %q %q", s.status, s.header.Get("Content-Type"), s.header.Get("Cache-Control"))
		}
		s = anon.get("/static/soll.00000000.css")
		checkHeaders(t, "missing static file", s)
		if s.status != http.StatusNotFound {
			t.Errorf("unknown static file: %d", s.status)
		}
		// A path outside the API and the pages: a page, not JSON; under
		// /api the API's JSON error stays.
		s = anon.get("/no/such/page?x=<b>")
		checkHeaders(t, "unknown page", s)
		if s.status != http.StatusNotFound || !strings.HasPrefix(s.header.Get("Content-Type"), "text/html") {
			t.Errorf("unknown page: %d %q", s.status, s.header.Get("Content-Type"))
		}
		mustContain(t, "unknown page", s, "<h1>Page not found</h1>", "There is no page at /no/such/page.")
		s = anon.get("/api/v1/no-such-thing")
		if s.status != http.StatusNotFound || s.header.Get("Content-Type") != "application/json" || !strings.Contains(s.body, "no API endpoint GET /api/v1/no-such-thing") {
			t.Errorf("unknown API path: %d %q %s", s.status, s.header.Get("Content-Type"), s.body)
		}
	})

	t.Run("login", func(t *testing.T) {
		b := f.browser(t)
		p := b.login("admin", "wrong-password")
		checkHeaders(t, "failed login", p)
		if p.status != http.StatusUnauthorized {
			t.Errorf("wrong password: %d", p.status)
		}
		mustContain(t, "failed login", p, "Wrong username or password.", `value="admin"`)

		form := b.get("/login")
		for name, token := range map[string]string{"missing": "", "forged": "Zm9yZ2Vk" + form.csrf(t)[8:]} {
			p := b.post("/login", url.Values{"csrf": {token}, "username": {"admin"}, "password": {f.adminPassword}})
			checkHeaders(t, name+" login token", p)
			if p.status != http.StatusForbidden || p.header.Get("Set-Cookie") != "" && strings.Contains(p.header.Get("Set-Cookie"), "soll.token") {
				t.Errorf("%s login token: %d, cookie %q; want 403 without a session", name, p.status, p.header.Get("Set-Cookie"))
			}
		}
		// Another browser's token does not fit this browser's nonce.
		other := f.browser(t).get("/login").csrf(t)
		if p := b.post("/login", url.Values{"csrf": {other}, "username": {"admin"}, "password": {f.adminPassword}}); p.status != http.StatusForbidden {
			t.Errorf("another browser's login token: %d, want 403", p.status)
		}

		for _, ret := range []string{"//evil.example/x", "https://evil.example/", `/\evil.example`, "javascript:alert(1)", "/logout"} {
			b := f.browser(t)
			p := b.post("/login", url.Values{"csrf": {b.get("/login").csrf(t)}, "username": {"admin"}, "password": {f.adminPassword}, "return": {ret}})
			if p.status != http.StatusSeeOther || p.header.Get("Location") != "/applications" {
				t.Errorf("return %q: %d to %q, want 303 to /applications", ret, p.status, p.header.Get("Location"))
			}
		}
		p = b.post("/login", url.Values{"csrf": {b.get("/login").csrf(t)}, "username": {"admin"}, "password": {f.adminPassword}, "return": {"/applications/web?x=1"}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/applications/web?x=1" {
			t.Errorf("return to the page asked for: %d to %q", p.status, p.header.Get("Location"))
		}
		if c := p.header.Get("Set-Cookie"); !strings.Contains(c, "soll.token=") || !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Lax") {
			t.Errorf("session cookie: %q", c)
		}
		if p := b.get("/login"); p.status != http.StatusSeeOther {
			t.Errorf("the login page of a logged-in browser: %d, want a redirect", p.status)
		}
	})

	admin := f.browser(t)
	if p := admin.login("admin", f.adminPassword); p.status != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", p.status, p.body)
	}

	t.Run("list", func(t *testing.T) {
		p := admin.get("/applications")
		checkHeaders(t, "list", p)
		if p.status != http.StatusOK {
			t.Fatalf("list: %d\n%s", p.status, p.body)
		}
		mustContain(t, "list", p, `<tr data-app="web">`, `<tr data-app="db">`, `<span class="st st-OutOfSync">OutOfSync</span>`,
			`data-stream="/api/v1/stream/applications?names=db%2Cweb"`, "2 matching applications", "Logged in as <strong data-user>admin</strong>")
		// Counts of the view by status, each a link filtering on it.
		mustContain(t, "counts", p, `<section class="counts" aria-label="Applications by status" data-counts-src="/api/v1/applications?limit=1">`,
			`href="/applications?syncStatus=OutOfSync" class="count">`+`<span class="st st-OutOfSync">OutOfSync</span> <span class="n" data-count="sync:OutOfSync">2</span>`,
			`<span class="st st-Synced">Synced</span> <span class="n" data-count="sync:Synced">0</span>`)

		p = admin.get("/applications?selector=team%3Dweb&view=tiles")
		mustContain(t, "label filter", p, `<li class="tile" data-app="web">`, "1 matching application;",
			`<span class="st st-OutOfSync">OutOfSync</span> <span class="n" data-count="sync:OutOfSync">1</span>`,
			// The counts the script reads again keep the filters; the
			// stream follows only the app shown.
			`data-counts-src="/api/v1/applications?limit=1&amp;selector=team%3Dweb"`, `data-stream="/api/v1/stream/applications?names=web"`)
		if strings.Contains(p.body, `data-app="db"`) {
			t.Error("the label filter shows db")
		}
		p = admin.get("/applications?search=D&syncStatus=OutOfSync")
		mustContain(t, "search", p, `data-app="db"`, `<option selected>OutOfSync</option>`)
		if strings.Contains(p.body, `data-app="web"`) {
			t.Error("the name search shows web")
		}
		p = admin.get("/applications?limit=1&sort=-name")
		mustContain(t, "first page", p, `data-app="web"`, `rel="next"`)
		next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(p.body)
		p = admin.get(strings.ReplaceAll(next[1], "&amp;", "&"))
		mustContain(t, "second page", p, `data-app="db"`, "First page", `rel="prev"`)
		if strings.Contains(p.body, `data-app="web"`) || strings.Contains(p.body, `rel="next"`) {
			t.Error("the second page repeats web or has a next page")
		}
		prev := regexp.MustCompile(`href="([^"]+)" rel="prev"`).FindStringSubmatch(p.body)
		p = admin.get(strings.ReplaceAll(prev[1], "&amp;", "&"))
		mustContain(t, "previous page", p, `data-app="web"`, `rel="next"`)
		if strings.Contains(p.body, `data-app="db"`) || strings.Contains(p.body, `rel="prev"`) {
			t.Error("the page before the second repeats db or has a previous page")
		}
		p = admin.get("/applications?cluster=in-cluster")
		mustContain(t, "cluster filter", p, `data-app="web"`, `data-app="db"`, `id="f-cluster" name="cluster" value="in-cluster"`)
		p = admin.get("/applications?cluster=elsewhere")
		mustContain(t, "cluster filter, no match", p, "No application matches these filters.")
		p = admin.get("/applications?project=nothing-here")
		mustContain(t, "empty", p, "No application matches these filters.")
		p = admin.get("/applications?selector=%3D%3D%3D")
		checkHeaders(t, "bad filter", p)
		if p.status != http.StatusBadRequest {
			t.Errorf("bad selector: %d", p.status)
		}
		mustContain(t, "bad filter", p, "The filters were refused: selector")
	})

	t.Run("detail renders values as text", func(t *testing.T) {
		testenv.WaitFor(t, "the commit's metadata", 30*time.Second, func() bool { return len(f.app(t, "web").Status.SourceRevisions) > 0 })
		p := admin.get("/applications/web")
		checkHeaders(t, "detail", p)
		if p.status != http.StatusOK {
			t.Fatalf("detail: %d\n%s", p.status, p.body)
		}
		mustContain(t, "detail", p, "<h1>web</h1>", "Commit <code>"+f.commit[:8]+"</code>", "Soll Test", `data-stream="/api/v1/stream/applications/web"`, "ConfigMap", "greeting",
			`&lt;script&gt;alert(&#34;annotation&#34;)&lt;/script&gt;`, `&lt;script&gt;alert(&#34;commit&#34;)&lt;/script&gt;`, "javascript:alert(1)")
		for _, tag := range scriptTag.FindAllString(p.body, -1) {
			if !regexp.MustCompile(`^<script src="/static/(soll|tree)\.[0-9a-f]{8}\.js" defer>$`).MatchString(tag) {
				t.Errorf("a script element that is not soll's: %s", tag)
			}
		}
		if regexp.MustCompile(`(?i)(href|src|action)="javascript:`).MatchString(p.body) {
			t.Error("a javascript: URL in a link")
		}
		if strings.Contains(p.body, "disabled") {
			t.Error("the admin's Sync button is disabled")
		}
		p = admin.get("/applications/no-such-app")
		checkHeaders(t, "missing app", p)
		if p.status != http.StatusNotFound {
			t.Errorf("missing app: %d", p.status)
		}
		mustContain(t, "missing app", p, "Application not found", "application no-such-app not found")
	})

	t.Run("forms need the session's token", func(t *testing.T) {
		other := f.browser(t)
		other.login("admin", f.adminPassword)
		foreign := other.get("/applications/web").csrf(t)
		for name, token := range map[string]string{"missing": "", "forged": "AAAA" + foreign[4:], "of another session": foreign} {
			for _, action := range []string{"/applications/web/sync", "/applications/web/refresh", "/logout"} {
				p := admin.post(action, url.Values{"csrf": {token}})
				checkHeaders(t, action, p)
				if p.status != http.StatusForbidden {
					t.Errorf("%s with a %s token: %d, want 403", action, name, p.status)
				}
			}
		}
		if a := f.app(t, "web"); a.Operation != nil || a.Status.OperationState != nil {
			t.Fatalf("a refused sync started an operation: %+v", a.Operation)
		}
		if p := admin.get("/applications"); p.status != http.StatusOK {
			t.Errorf("the session ended after a refused logout: %d", p.status)
		}
	})

	t.Run("read-only user", func(t *testing.T) {
		b := f.browser(t)
		if p := b.login(viewer, viewerPassword); p.status != http.StatusSeeOther {
			t.Fatalf("viewer login: %d\n%s", p.status, p.body)
		}
		p := b.get("/applications/web")
		mustContain(t, "viewer's detail", p, `id="sync-button" disabled aria-describedby="sync-denied"`,
			"Sync is not available: You (viewer) may not sync applications of project default.")
		q := b.post("/applications/web/sync", url.Values{"csrf": {p.csrf(t)}})
		checkHeaders(t, "viewer's sync", q)
		if q.status != http.StatusForbidden {
			t.Errorf("the viewer's sync: %d, want 403", q.status)
		}
		mustContain(t, "viewer's sync", q, "permission denied: viewer may not sync applications default/web")
		if a := f.app(t, "web"); a.Operation != nil || a.Status.OperationState != nil {
			t.Fatal("the viewer's sync started an operation")
		}
	})

	t.Run("sync and logout", func(t *testing.T) {
		p := admin.get("/applications/db")
		q := admin.post("/applications/db/sync", url.Values{"csrf": {p.csrf(t)}})
		if q.status != http.StatusSeeOther || q.header.Get("Location") != "/applications/db?notice=sync" {
			t.Fatalf("sync: %d to %q\n%s", q.status, q.header.Get("Location"), q.body)
		}
		f.waitSync(t, "db", "Synced")
		p = admin.get("/applications/db?notice=sync")
		mustContain(t, "after the sync", p, "Sync requested", `<span class="st st-Synced">Synced</span>`, `<span class="st st-Succeeded">Succeeded</span>`, "admin")
		q = admin.post("/logout", url.Values{"csrf": {p.csrf(t)}})
		if q.status != http.StatusSeeOther || q.header.Get("Location") != "/login?notice=logged-out" {
			t.Fatalf("logout: %d to %q\n%s", q.status, q.header.Get("Location"), q.body)
		}
		if p := admin.get("/applications"); p.status != http.StatusSeeOther {
			t.Errorf("the list after logout: %d, want a redirect to the login", p.status)
		}
	})

	t.Run("throttling", func(t *testing.T) {
		b := f.browser(t)
		var p page
		testenv.WaitFor(t, "the throttle", 30*time.Second, func() bool {
			p = b.login("nobody", "wrong-password")
			return p.status == http.StatusTooManyRequests
		})
		checkHeaders(t, "throttled login", p)
		mustContain(t, "throttled login", p, "Too many failed logins: try again in ")
	})
}

// configMapExists says whether the repository's ConfigMap is in ns.
func (f *fixture) configMapExists(t *testing.T, ns string) bool {
	t.Helper()
	var cm corev1.ConfigMap
	err := f.env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "greeting"}, &cm)
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// appGone says whether the app has left the cluster.
func (f *fixture) appGone(t *testing.T, name string) bool {
	t.Helper()
	var a sollv1.Application
	err := f.env.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: name}, &a)
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return apierrors.IsNotFound(err)
}

// TestActions uses the app page's forms without JavaScript: rollback and
// unpin, the sync policy (with the API's field error next to its field)
// and delete with and without the app's objects. Each is refused without
// the session's token and for a read-only user, whose page shows them
// disabled with the reason, and nothing changes then.
func TestActions(t *testing.T) {
	f := start(t)
	for _, name := range []string{"roll", "cascade", "orphan"} {
		f.createApp(t, name, nil, nil)
	}
	token := f.apiLogin(t, "admin", f.adminPassword)
	for _, name := range []string{"roll", "cascade", "orphan"} {
		f.waitSync(t, name, "OutOfSync")
		f.api(t, token, "POST", "/api/v1/applications/"+name+"/sync", map[string]any{}, http.StatusAccepted)
	}
	for _, name := range []string{"roll", "cascade", "orphan"} {
		f.waitSync(t, name, "Synced")
		testenv.WaitFor(t, name+"'s history", 30*time.Second, func() bool { return len(f.app(t, name).Status.History) == 1 })
	}
	// The history entry of roll's sync, to roll back to.
	hid := f.app(t, "roll").Status.History[0].ID
	id := strconv.FormatInt(hid, 10)
	admin := f.browser(t)
	if p := admin.login("admin", f.adminPassword); p.status != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", p.status, p.body)
	}
	// unchanged fails unless roll is as created: not pinned, no operation
	// beyond the first sync, manual sync at the branch, still there.
	unchanged := func(t *testing.T, what string) {
		t.Helper()
		a := f.app(t, "roll")
		if a.Spec.Pin != nil || a.Spec.SyncPolicy != nil || a.Spec.Source.TargetRevision != gitserver.DefaultBranch || a.DeletionTimestamp != nil {
			t.Errorf("%s changed the app: pin %+v, policy %+v, target %q, deleting %v", what, a.Spec.Pin, a.Spec.SyncPolicy, a.Spec.Source.TargetRevision, a.DeletionTimestamp)
		}
		if a.Operation != nil {
			t.Errorf("%s requested an operation: %+v", what, a.Operation)
		}
	}
	forms := map[string]url.Values{
		"/applications/roll/rollback": {"id": {id}},
		"/applications/roll/unpin":    {},
		"/applications/roll/policy":   {"automated": {"on"}, "targetRevision": {"other"}},
		"/applications/roll/delete":   {"cascade": {"delete"}, "confirm": {"roll"}},
		"/applications/bulk":          {"action": {"sync"}, "app": {"roll"}},
	}
	with := func(form url.Values, csrf string) url.Values {
		out := url.Values{"csrf": {csrf}}
		for k, v := range form {
			out[k] = v
		}
		return out
	}

	t.Run("page", func(t *testing.T) {
		p := admin.get("/applications/roll")
		checkHeaders(t, "app page", p)
		mustContain(t, "app page", p, `action="/applications/roll/rollback" data-async`, `<input type="hidden" name="id" value="`+id+`">`,
			"Roll back<span class=\"visually-hidden\"> to entry <span data-id>"+id+"</span>", `<template id="rollback-template">`,
			`<span data-field="pin">Not pinned: the app follows its target revision.</span>`, `data-unpin hidden>`,
			`<input type="checkbox" name="automated" id="policy-automated">`, `<input id="target-0" name="targetRevision" value="`+gitserver.DefaultBranch+`"`,
			`<input type="radio" name="cascade" value="delete" checked>`, `data-confirm="roll"`)
		if strings.Contains(p.body, "disabled") || strings.Contains(p.body, "not available") {
			t.Errorf("the admin's page has a disabled action:\n%s", p.body)
		}
	})

	t.Run("forms need the session's token", func(t *testing.T) {
		good := admin.get("/applications/roll").csrf(t)
		for action, form := range forms {
			for name, csrf := range map[string]string{"missing": "", "forged": "AAAA" + good[4:]} {
				p := admin.post(action, with(form, csrf))
				checkHeaders(t, action, p)
				if p.status != http.StatusForbidden {
					t.Errorf("%s with a %s token: %d, want 403", action, name, p.status)
				}
			}
		}
		unchanged(t, "a refused form")
	})

	t.Run("read-only user", func(t *testing.T) {
		b := f.browser(t)
		if p := b.login(viewer, viewerPassword); p.status != http.StatusSeeOther {
			t.Fatalf("viewer login: %d\n%s", p.status, p.body)
		}
		p := b.get("/applications/roll")
		mustContain(t, "viewer's page", p,
			`<button type="submit" class="button" disabled aria-describedby="rollback-denied">Roll back`,
			`id="unpin-button" disabled aria-describedby="rollback-denied"`,
			"Rollback and unpin are not available: You (viewer) may not roll back applications of project default.",
			`<fieldset class="plain stack" disabled aria-describedby="policy-denied">`,
			"Changing the sync policy is not available: You (viewer) may not update applications of project default.",
			`<fieldset class="plain stack" disabled aria-describedby="delete-denied">`,
			"Delete is not available: You (viewer) may not delete applications of project default.")
		// The viewer's own valid token: the API refuses.
		for action, form := range forms {
			q := b.post(action, with(form, p.csrf(t)))
			checkHeaders(t, "viewer's "+action, q)
			if q.status != http.StatusForbidden || !strings.Contains(q.body, "permission denied: viewer may not") {
				t.Errorf("the viewer's %s: %d, want the API's 403\n%s", action, q.status, q.body)
			}
		}
		unchanged(t, "the viewer's form")
	})

	t.Run("bulk actions", func(t *testing.T) {
		p := admin.get("/applications")
		mustContain(t, "bulk form", p, `<form id="bulk" class="bulk" method="post" action="/applications/bulk" data-async`,
			`<input type="checkbox" name="app" value="roll" form="bulk" aria-label="Select roll">`,
			`<input type="hidden" name="return" value="/applications">`)
		// Two apps and one that does not exist: the API refreshes the two
		// (and audits each) and refuses the third; nothing else changes.
		q := admin.post("/applications/bulk", url.Values{"csrf": {p.csrf(t)}, "action": {"refresh"}, "app": {"roll", "orphan", "no-such-app", "roll"}, "return": {"/applications?sort=-name"}})
		checkHeaders(t, "bulk refresh", q)
		if q.status != http.StatusOK {
			t.Fatalf("bulk refresh: %d\n%s", q.status, q.body)
		}
		mustContain(t, "bulk refresh", q, "Refresh requested for 2 applications:", `<a href="/applications/orphan">orphan</a>`, `<a href="/applications/roll">roll</a>`,
			"Refused for 1 application:", `<a href="/applications/no-such-app">no-such-app</a>: application no-such-app not found`,
			`<a href="/applications?sort=-name">Back to the applications</a>`)
		var audit apitypes.AuditList
		f.apiDecode(t, token, "GET", "/api/v1/audit?user=admin&limit=1000", nil, http.StatusOK, &audit)
		refreshed := map[string]string{}
		for _, e := range audit.Items {
			if e.Action == "Refresh" {
				refreshed[e.Object] += e.Result + " "
			}
		}
		if want := map[string]string{"roll": "accepted ", "orphan": "accepted ", "no-such-app": "refused (NotFound) "}; !maps.Equal(refreshed, want) {
			t.Errorf("the audit log's refreshes: %q, want %q", refreshed, want)
		}
		// The script's answer is JSON; a refusal is an error.
		q = admin.postJSON("/applications/bulk", url.Values{"csrf": {p.csrf(t)}, "action": {"hard-refresh"}, "app": {"no-such-app"}})
		if q.status != http.StatusNotFound || !strings.Contains(q.body, `"error":"Hard refresh requested for 0 of 1 selected applications. Refused: no-such-app: application no-such-app not found"`) {
			t.Errorf("bulk hard refresh of a missing app, as JSON: %d %s", q.status, q.body)
		}
		for form, want := range map[string]string{"action=delete&app=roll": "the selection can be synced", "action=sync": "Select the applications first",
			"action=sync&return=https%3A%2F%2Fevil.example&app=": "Select the applications first"} {
			v, _ := url.ParseQuery(form)
			v.Set("csrf", p.csrf(t))
			if q := admin.post("/applications/bulk", v); q.status != http.StatusBadRequest || !strings.Contains(q.body, want) {
				t.Errorf("bulk %s: %d, want 400 saying %q\n%s", form, q.status, want, q.body)
			}
		}
		q = admin.post("/applications/bulk", url.Values{"csrf": {p.csrf(t)}, "action": {"refresh"}, "app": {"roll"}, "return": {"https://evil.example/"}})
		mustContain(t, "bulk with a foreign return", q, `<a href="/applications">Back to the applications</a>`)
		unchanged(t, "bulk refresh")
	})

	t.Run("rollback and unpin", func(t *testing.T) {
		p := admin.get("/applications/roll")
		q := admin.post("/applications/roll/rollback", url.Values{"csrf": {p.csrf(t)}, "id": {id}})
		if q.status != http.StatusSeeOther || q.header.Get("Location") != "/applications/roll?notice=rollback" {
			t.Fatalf("rollback: %d to %q\n%s", q.status, q.header.Get("Location"), q.body)
		}
		testenv.WaitFor(t, "the rollback's pin", 60*time.Second, func() bool {
			pin := f.app(t, "roll").Spec.Pin
			return pin != nil && pin.HistoryID != nil && *pin.HistoryID == hid
		})
		p = admin.get("/applications/roll?notice=rollback")
		mustContain(t, "pinned", p, "Rollback requested", `<span data-field="pin">Pinned to `+f.commit[:8]+` (history entry `+id+`): rollback to history entry `+id+`</span>`)
		if strings.Contains(p.body, "data-unpin hidden") {
			t.Error("the Unpin form of a pinned app is hidden")
		}
		q = admin.post("/applications/roll/unpin", url.Values{"csrf": {p.csrf(t)}})
		if q.status != http.StatusSeeOther || q.header.Get("Location") != "/applications/roll?notice=unpin" {
			t.Fatalf("unpin: %d to %q\n%s", q.status, q.header.Get("Location"), q.body)
		}
		if pin := f.app(t, "roll").Spec.Pin; pin != nil {
			t.Fatalf("still pinned after unpin: %+v", pin)
		}
		mustContain(t, "unpinned", admin.get("/applications/roll?notice=unpin"), "Unpinned: the app follows its target revision again.", "data-unpin hidden>")
		q = admin.post("/applications/roll/rollback", url.Values{"csrf": {p.csrf(t)}, "id": {"x"}})
		if q.status != http.StatusBadRequest {
			t.Errorf("rollback to id x: %d, want 400", q.status)
		}
		q = admin.post("/applications/roll/rollback", url.Values{"csrf": {p.csrf(t)}, "id": {"99"}})
		if q.status != http.StatusBadRequest || !strings.Contains(q.body, "has no history entry 99") {
			t.Errorf("rollback to a missing entry: %d, want the API's 400\n%s", q.status, q.body)
		}
	})

	t.Run("sync policy", func(t *testing.T) {
		csrf := admin.get("/applications/roll").csrf(t)
		long := strings.Repeat("a", 256)
		p := admin.post("/applications/roll/policy", url.Values{"csrf": {csrf}, "selfHeal": {"on"}, "targetRevision": {long}})
		checkHeaders(t, "policy with a bad revision", p)
		if p.status != http.StatusBadRequest {
			t.Fatalf("a 256-character revision: %d, want 400\n%s", p.status, p.body)
		}
		mustContain(t, "policy with a bad revision", p, `<input id="target-0" name="targetRevision" value="`+long+`" placeholder="HEAD" autocomplete="off" aria-invalid="true" aria-describedby="target-0-error">`,
			`<p class="field-error" id="target-0-error">`, "spec.source.targetRevision", `name="selfHeal" id="policy-selfheal" checked>`)
		if a := f.app(t, "roll"); a.Spec.SyncPolicy != nil || a.Spec.Source.TargetRevision != gitserver.DefaultBranch {
			t.Fatalf("a refused policy changed the app: %+v %q", a.Spec.SyncPolicy, a.Spec.Source.TargetRevision)
		}
		p = admin.post("/applications/roll/policy", url.Values{"csrf": {csrf}, "targetRevision": {gitserver.DefaultBranch}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/applications/roll?notice=unchanged" {
			t.Errorf("an unchanged policy: %d to %q", p.status, p.header.Get("Location"))
		}
		p = admin.post("/applications/roll/policy", url.Values{"csrf": {csrf}, "automated": {"on"}, "prune": {"on"}, "targetRevision": {" HEAD "}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/applications/roll?notice=policy" {
			t.Fatalf("policy: %d to %q\n%s", p.status, p.header.Get("Location"), p.body)
		}
		a := f.app(t, "roll")
		at := a.Spec.SyncPolicy.Automated
		if at == nil || (at.Enabled != nil && !*at.Enabled) || !at.Prune || at.SelfHeal || a.Spec.Source.TargetRevision != "HEAD" {
			t.Fatalf("policy after the form: %+v, target %q; want automated with prune, without self-heal, at HEAD", at, a.Spec.Source.TargetRevision)
		}
		mustContain(t, "after the policy", admin.get("/applications/roll?notice=policy"), "Sync policy saved.",
			`name="automated" id="policy-automated" checked>`, `name="prune" id="policy-prune" checked>`, `name="selfHeal" id="policy-selfheal">`, `value="HEAD"`)
		p = admin.post("/applications/roll/policy", url.Values{"csrf": {csrf}, "targetRevision": {"HEAD"}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("automated sync off: %d\n%s", p.status, p.body)
		}
		if at := f.app(t, "roll").Spec.SyncPolicy.Automated; at == nil || at.Enabled == nil || *at.Enabled || at.Prune {
			t.Fatalf("automated sync after turning it off: %+v", at)
		}
	})

	t.Run("sync policy of several sources", func(t *testing.T) {
		src := sollv1.ApplicationSource{RepoURL: f.git.HTTPURL("config"), TargetRevision: gitserver.DefaultBranch, Path: "app"}
		other := src
		other.Path = "other"
		app := &sollv1.Application{
			ObjectMeta: metav1.ObjectMeta{Name: "multi", Namespace: f.ns},
			Spec: sollv1.ApplicationSpec{Project: "default", Sources: []sollv1.ApplicationSource{src, other},
				Destination: sollv1.ApplicationDestination{Server: appstate.InClusterServer, Namespace: f.env.Namespace(t)}},
		}
		if err := f.env.Client.Create(context.Background(), app); err != nil {
			t.Fatal(err)
		}
		p := admin.get("/applications/multi")
		mustContain(t, "two sources", p, `<label for="target-0">Target revision of source 1</label>`, `<label for="target-1">Target revision of source 2</label>`)
		long := strings.Repeat("b", 256)
		q := admin.post("/applications/multi/policy", url.Values{"csrf": {p.csrf(t)}, "targetRevision": {gitserver.DefaultBranch, long}})
		if q.status != http.StatusBadRequest {
			t.Fatalf("a 256-character revision of source 2: %d, want 400\n%s", q.status, q.body)
		}
		mustContain(t, "error of source 2", q, `aria-invalid="true" aria-describedby="target-1-error">`, `<p class="field-error" id="target-1-error">`, "spec.sources[1].targetRevision")
		if strings.Contains(q.body, `id="target-0-error"`) {
			t.Error("the error of source 2 is shown at source 1")
		}
		if q := admin.post("/applications/multi/policy", url.Values{"csrf": {p.csrf(t)}, "targetRevision": {"main"}}); q.status != http.StatusConflict {
			t.Errorf("one revision for two sources: %d, want 409", q.status)
		}
		q = admin.post("/applications/multi/policy", url.Values{"csrf": {p.csrf(t)}, "targetRevision": {gitserver.DefaultBranch, "v1"}})
		if q.status != http.StatusSeeOther {
			t.Fatalf("the revision of source 2: %d\n%s", q.status, q.body)
		}
		got := f.app(t, "multi").Spec.Sources
		if len(got) != 2 || got[0].TargetRevision != gitserver.DefaultBranch || got[0].Path != "app" || got[1].TargetRevision != "v1" || got[1].Path != "other" || got[1].RepoURL != src.RepoURL {
			t.Errorf("sources after the form: %+v", got)
		}
	})

	t.Run("delete", func(t *testing.T) {
		csrf := admin.get("/applications/orphan").csrf(t)
		for _, confirm := range []string{"", "orphan ", "roll"} {
			p := admin.post("/applications/orphan/delete", url.Values{"csrf": {csrf}, "cascade": {"orphan"}, "confirm": {confirm}})
			if p.status != http.StatusBadRequest {
				t.Errorf("delete confirmed by %q: %d, want 400", confirm, p.status)
			}
			mustContain(t, "wrong confirmation", p, `<p class="field-error" id="delete-error" role="alert">Type the application&#39;s name, orphan, to confirm; nothing was deleted.</p>`,
				`aria-invalid="true" aria-describedby="delete-error"`, `<input type="radio" name="cascade" value="orphan" checked>`)
		}
		if p := admin.post("/applications/orphan/delete", url.Values{"csrf": {csrf}, "confirm": {"orphan"}}); p.status != http.StatusBadRequest {
			t.Errorf("delete without the cascade choice: %d, want 400", p.status)
		}
		if f.appGone(t, "orphan") || f.app(t, "orphan").DeletionTimestamp != nil {
			t.Fatal("a refused delete deleted the app")
		}

		for _, c := range []struct {
			app, cascade, notice string
			objects              bool
		}{{"orphan", "orphan", "Application deleted; its objects were left in the cluster.", true},
			{"cascade", "delete", "Application deleted; soll deletes its objects before it goes.", false}} {
			ns := f.app(t, c.app).Spec.Destination.Namespace
			if !f.configMapExists(t, ns) {
				t.Fatalf("%s's ConfigMap is not in %s before the delete", c.app, ns)
			}
			p := admin.post("/applications/"+c.app+"/delete", url.Values{"csrf": {csrf}, "cascade": {c.cascade}, "confirm": {c.app}})
			if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/applications?notice=deleted") {
				t.Fatalf("delete %s: %d to %q\n%s", c.app, p.status, p.header.Get("Location"), p.body)
			}
			mustContain(t, "list after the delete", admin.get(p.header.Get("Location")), `<p class="notice" role="status">`+c.notice+`</p>`)
			testenv.WaitFor(t, c.app+" gone", 60*time.Second, func() bool { return f.appGone(t, c.app) })
			if got := f.configMapExists(t, ns); got != c.objects {
				t.Errorf("after deleting %s with cascade %s the ConfigMap exists: %v, want %v", c.app, c.cascade, got, c.objects)
			}
		}
		if f.appGone(t, "roll") {
			t.Error("deleting other apps deleted roll")
		}
	})
}
