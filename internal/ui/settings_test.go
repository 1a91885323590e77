package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/testenv"
)

// postJSONInto posts a form as the page's script does and decodes the
// JSON answer into out.
func (b *browser) postJSONInto(path string, form url.Values, out any) int {
	b.t.Helper()
	p := b.postJSON(path, form)
	if err := json.Unmarshal([]byte(p.body), out); err != nil {
		b.t.Fatalf("POST %s: %d, not JSON: %s", path, p.status, p.body)
	}
	return p.status
}

// repoSecret says whether the repository Secret name exists in soll's
// namespace.
func (f *fixture) repoSecret(t *testing.T, name string) bool {
	t.Helper()
	var s corev1.Secret
	err := f.env.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: name}, &s)
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// waitListed waits until the API lists the project, which it reads from
// its cache.
func (f *fixture) waitListed(t *testing.T, token, name string) {
	t.Helper()
	testenv.WaitFor(t, "project "+name+" listed", 30*time.Second, func() bool {
		var list apitypes.ProjectList
		f.apiDecode(t, token, "GET", "/api/v1/projects", nil, http.StatusOK, &list)
		return slices.ContainsFunc(list.Items, func(p *sollv1.Project) bool { return p.Name == name })
	})
}

// TestSettings uses the settings pages without JavaScript: every page
// with the security headers; repositories tested, added and removed,
// their secrets never in a page; a token created (shown once, working),
// refused with a bad expiry, and revoked; a password changed; the audit
// log filtered and paginated with those actions in it; the current
// user's rights; a project whose values are escaped. CSRF and RBAC
// refusals change nothing.
func TestSettings(t *testing.T) {
	f := start(t)
	admin := f.browser(t)
	if p := admin.login("admin", f.adminPassword); p.status != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", p.status, p.body)
	}
	viewerB := f.browser(t)
	if p := viewerB.login(viewer, viewerPassword); p.status != http.StatusSeeOther {
		t.Fatalf("viewer login: %d\n%s", p.status, p.body)
	}
	token := f.apiLogin(t, "admin", f.adminPassword)
	f.api(t, token, "POST", "/api/v1/accounts", map[string]any{"name": "robot", "capabilities": []string{"apiKey"}}, http.StatusCreated)
	const evil = `<script>alert("project")</script>`
	proj := &sollv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "team", Namespace: f.ns}, Spec: sollv1.ProjectSpec{
		Description: evil, SourceRepos: []string{"https://git.example/" + evil},
		Destinations: []sollv1.ProjectDestination{{Server: "https://kubernetes.default.svc", Namespace: "team-*"}},
		Roles:        []sollv1.ProjectRole{{Name: "deployer", Policies: []string{"p, proj:team:deployer, applications, sync, team/*, allow"}}},
		SyncWindows:  []sollv1.SyncWindow{{Kind: "deny", Schedule: "0 22 * * *", Duration: metav1.Duration{Duration: 3600e9}, Applications: []string{"*"}}},
	}}
	if err := f.env.Client.Create(context.Background(), proj); err != nil {
		t.Fatal(err)
	}
	f.waitListed(t, token, "team")
	const repoPassword = "s3cret-repo-password-42"
	repo := f.git.HTTPURL("config")

	t.Run("pages", func(t *testing.T) {
		for path, want := range map[string][]string{
			"/settings":              {`<a href="/settings/repositories">Repositories</a>`, `<a href="/settings/audit">Audit log</a>`, `<a href="/settings">Settings</a>`},
			"/settings/repositories": {"<h1>Repositories</h1>", "No repositories yet", `id="test-button" data-test>Test connection</button>`, `<a href="/settings/repositories" aria-current="page">`},
			"/settings/accounts":     {`<section class="panel account" aria-labelledby="h-account-`, `data-account="robot"`, "Change your password"},
			"/settings/audit":        {"<h1>Audit log</h1>", `<label for="a-user">User</label>`},
			"/settings/user":         {`<dd data-field="subject">admin</dd>`, "project team"},
			"/settings/projects":     {`<a href="/settings/projects/team">team</a>`, `<a href="/settings/projects/default">default</a>`},
			"/settings/projects/team": {"<h1>Project team</h1>", `&lt;script&gt;alert(&#34;project&#34;)&lt;/script&gt;`, "team-*", "deployer",
				"p, proj:team:deployer, applications, sync, team/*, allow", "<code>0 22 * * *</code>", "1h0m0s"},
			"/settings/projects/default": {"The default project has no object yet"},
		} {
			p := admin.get(path)
			checkHeaders(t, path, p)
			if p.status != http.StatusOK {
				t.Errorf("%s: %d\n%s", path, p.status, p.body)
				continue
			}
			mustContain(t, path, p, want...)
			if strings.Contains(p.body, evil) {
				t.Errorf("%s: a project's description is written unescaped", path)
			}
			if regexp.MustCompile(`(?i)<script[^>]*>[^<]`).MatchString(p.body) {
				t.Errorf("%s: an inline script", path)
			}
		}
		if p := admin.get("/settings/projects/nothing"); p.status != http.StatusNotFound {
			t.Errorf("a missing project: %d, want 404", p.status)
		}
		if p := f.browser(t).get("/settings/accounts"); p.status != http.StatusSeeOther {
			t.Errorf("the accounts page without a session: %d, want a redirect to the login", p.status)
		}
	})

	t.Run("repositories", func(t *testing.T) {
		csrf := admin.get("/settings/repositories").csrf(t)
		form := func(op string, change map[string]string) url.Values {
			v := url.Values{"csrf": {csrf}, "op": {op}, "url": {repo}, "type": {"repository"}, "name": {"config-repo"}, "username": {"git"}, "password": {repoPassword}}
			for k, x := range change {
				v.Set(k, x)
			}
			return v
		}
		noSecret := func(what string, p page) {
			t.Helper()
			if strings.Contains(p.body, repoPassword) {
				t.Errorf("%s: the repository password is in the page", what)
			}
		}
		// Without JavaScript: the result in the page, the password not.
		p := admin.post("/settings/repositories", form("test", nil))
		checkHeaders(t, "test", p)
		if p.status != http.StatusOK {
			t.Fatalf("test: %d\n%s", p.status, p.body)
		}
		mustContain(t, "test", p, `<p id="repo-test-result" role="status" aria-live="polite" class="test-result ok">Connection test passed: `, `value="`+repo+`"`, `value="git"`)
		noSecret("test", p)
		if f.repoSecret(t, "config-repo") {
			t.Fatal("the test saved the repository")
		}
		// The script's test: JSON.
		var result struct {
			OK       bool
			Kind     string
			Revision string
			Message  string
		}
		if st := admin.postJSONInto("/settings/repositories", form("test", nil), &result); st != http.StatusOK || !result.OK || result.Kind != "git" || result.Revision != f.commit {
			t.Errorf("the script's test: %d %+v, want ok, git at %s", st, result, f.commit)
		}
		p = admin.post("/settings/repositories", form("test", map[string]string{"url": f.git.HTTPURL("nothing-here")}))
		mustContain(t, "test of a missing repository", p, `class="test-result bad">Connection test failed: `)
		// The API's field errors, at their fields; the secret not echoed.
		p = admin.post("/settings/repositories", form("add", map[string]string{"url": "ftp://host/x"}))
		checkHeaders(t, "bad URL", p)
		if p.status != http.StatusBadRequest {
			t.Fatalf("an ftp URL: %d, want 400\n%s", p.status, p.body)
		}
		mustContain(t, "bad URL", p, `<p class="field-error" id="url-error">`, `value="ftp://host/x"`, `aria-describedby="url-help url-error" aria-invalid="true">`)
		noSecret("bad URL", p)
		p = admin.post("/settings/repositories", form("add", map[string]string{"username": ""}))
		mustContain(t, "password without a username", p, `<p class="field-error" id="username-error">a password needs a username`)
		noSecret("password without a username", p)
		var jsonErr map[string]string
		if st := admin.postJSONInto("/settings/repositories", form("test", map[string]string{"url": "ftp://x/y"}), &jsonErr); st != http.StatusBadRequest || jsonErr["field"] != "url" {
			t.Errorf("the script's test of a bad URL: %d %v", st, jsonErr)
		}
		for name, token := range map[string]string{"missing": "", "forged": "AAAA" + csrf[4:]} {
			v := form("add", nil)
			v.Set("csrf", token)
			if p := admin.post("/settings/repositories", v); p.status != http.StatusForbidden {
				t.Errorf("add with a %s token: %d, want 403", name, p.status)
			}
		}
		// A read-only user: disabled with the reason; the API refuses.
		p = viewerB.get("/settings/repositories")
		mustContain(t, "viewer's repositories", p, `<fieldset class="plain stack" disabled aria-describedby="add-denied">`, "Adding repositories is not available: You (viewer) may not add repositories.")
		v := form("add", nil)
		v.Set("csrf", p.csrf(t))
		if q := viewerB.post("/settings/repositories", v); q.status != http.StatusForbidden || !strings.Contains(q.body, "permission denied") {
			t.Errorf("the viewer's add: %d\n%s", q.status, q.body)
		}
		if f.repoSecret(t, "config-repo") {
			t.Fatal("a refused form saved the repository")
		}

		p = admin.post("/settings/repositories", form("add", nil))
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/settings/repositories?notice=repo-added" {
			t.Fatalf("add: %d to %q\n%s", p.status, p.header.Get("Location"), p.body)
		}
		if !f.repoSecret(t, "config-repo") {
			t.Fatal("the repository Secret was not made")
		}
		p = admin.get(p.header.Get("Location"))
		mustContain(t, "after the add", p, "Repository added", `<tr data-repo="config-repo">`, "<code>"+repo+"</code>", "<td>password</td>", `action="/settings/repositories/config-repo/remove"`)
		noSecret("after the add", p)
		mustContain(t, "the new-application form suggests it", admin.get("/applications/new"), `<datalist id="repositories"><option value="`+repo+`"></option></datalist>`)
		mustContain(t, "viewer's list", viewerB.get("/settings/repositories"), "You (viewer) may not remove this repository.")

		// Remove: only with the box ticked.
		p = admin.post("/settings/repositories/config-repo/remove", url.Values{"csrf": {csrf}})
		if p.status != http.StatusBadRequest || !f.repoSecret(t, "config-repo") {
			t.Errorf("remove without the confirmation: %d, Secret kept %v", p.status, f.repoSecret(t, "config-repo"))
		}
		p = admin.post("/settings/repositories/config-repo/remove", url.Values{"csrf": {csrf}, "confirm": {"config-repo"}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/settings/repositories?notice=repo-removed" {
			t.Fatalf("remove: %d to %q\n%s", p.status, p.header.Get("Location"), p.body)
		}
		if f.repoSecret(t, "config-repo") {
			t.Error("the repository Secret is still there")
		}
	})

	tokenValue := regexp.MustCompile(`<textarea id="new-token-value" readonly rows="3" spellcheck="false">([^<]+)</textarea>`)
	t.Run("tokens", func(t *testing.T) {
		csrf := admin.get("/settings/accounts").csrf(t)
		p := admin.post("/settings/accounts/robot/tokens", url.Values{"csrf": {csrf}, "id": {"ci"}, "expiresIn": {"soon"}})
		checkHeaders(t, "bad expiry", p)
		if p.status != http.StatusBadRequest {
			t.Fatalf("expiry soon: %d, want 400\n%s", p.status, p.body)
		}
		mustContain(t, "bad expiry", p, `role="alert">field expiresIn: &#34;soon&#34; is not a duration`, `name="expiresIn" value="soon"`, `name="id" value="ci"`)
		for name, token := range map[string]string{"missing": "", "forged": "AAAA" + csrf[4:]} {
			if p := admin.post("/settings/accounts/robot/tokens", url.Values{"csrf": {token}, "id": {"ci"}}); p.status != http.StatusForbidden {
				t.Errorf("create a token with a %s token: %d, want 403", name, p.status)
			}
		}
		// The viewer may see robot but not manage its tokens: the form
		// is not offered, with the reason, and the API refuses a forged
		// one.
		vp := viewerB.get("/settings/accounts")
		mustContain(t, "viewer's accounts", vp, `data-account="viewer"`, "viewer does not have the apiKey capability", `data-account="robot"`,
			"Creating and revoking tokens is not available: You (viewer) may not manage the tokens of robot.")
		if strings.Contains(vp.body, `action="/settings/accounts/robot/tokens"`) {
			t.Error("the viewer is offered a token form for robot")
		}
		if q := viewerB.post("/settings/accounts/robot/tokens", url.Values{"csrf": {vp.csrf(t)}, "id": {"x"}}); q.status != http.StatusForbidden {
			t.Errorf("the viewer's token for robot: %d, want 403\n%s", q.status, q.body)
		}

		p = admin.post("/settings/accounts/robot/tokens", url.Values{"csrf": {csrf}, "id": {"ci"}, "expiresIn": {"24h"}})
		checkHeaders(t, "new token", p)
		if p.status != http.StatusCreated {
			t.Fatalf("create a token: %d\n%s", p.status, p.body)
		}
		if p.header.Get("Cache-Control") != "no-store" {
			t.Errorf("the page with the token may be cached: %q", p.header.Get("Cache-Control"))
		}
		m := tokenValue.FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("no token in the page:\n%s", p.body)
		}
		mustContain(t, "new token", p, "New token ci of robot", "Copy it now: it is not shown again.")
		var who struct{ Subject, TokenID string }
		f.apiDecode(t, m[1], "GET", "/api/v1/session", nil, http.StatusOK, &who)
		if who.Subject != "robot" || who.TokenID != "ci" {
			t.Errorf("the token is of %+v, want robot's ci", who)
		}
		// Shown once: not on the next load.
		p = admin.get("/settings/accounts")
		if strings.Contains(p.body, m[1]) || strings.Contains(p.body, "new-token-value") {
			t.Error("the token is shown again")
		}
		mustContain(t, "the token listed", p, `<tr data-token="ci"><th scope="row"><code>ci</code></th>`, `action="/settings/accounts/robot/tokens/ci/revoke"`)

		p = admin.post("/settings/accounts/robot/tokens/ci/revoke", url.Values{"csrf": {csrf}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/settings/accounts?notice=token-revoked" {
			t.Fatalf("revoke: %d to %q\n%s", p.status, p.header.Get("Location"), p.body)
		}
		f.api(t, m[1], "GET", "/api/v1/session", nil, http.StatusUnauthorized)
		if strings.Contains(admin.get("/settings/accounts").body, `data-token="ci"`) {
			t.Error("the revoked token is still listed")
		}
	})

	t.Run("password", func(t *testing.T) {
		p := viewerB.get("/settings/accounts")
		csrf := p.csrf(t)
		const newPassword = "viewer-new-password-43"
		q := viewerB.post("/settings/accounts/password", url.Values{"csrf": {csrf}, "currentPassword": {viewerPassword}, "newPassword": {newPassword}, "confirmPassword": {newPassword + "x"}})
		if q.status != http.StatusBadRequest {
			t.Fatalf("two different passwords: %d\n%s", q.status, q.body)
		}
		mustContain(t, "two different passwords", q, `<p class="field-error" id="confirmPassword-error">The two new passwords differ`)
		q = viewerB.post("/settings/accounts/password", url.Values{"csrf": {csrf}, "currentPassword": {"wrong-password-1"}, "newPassword": {newPassword}, "confirmPassword": {newPassword}})
		if q.status != http.StatusBadRequest {
			t.Fatalf("a wrong current password: %d\n%s", q.status, q.body)
		}
		mustContain(t, "a wrong current password", q, `<p class="field-error" id="currentPassword-error">the current password is wrong</p>`)
		for _, secret := range []string{newPassword, "wrong-password-1", viewerPassword} {
			if strings.Contains(q.body, secret) {
				t.Errorf("a password is in the page: %q", secret)
			}
		}
		q = viewerB.post("/settings/accounts/password", url.Values{"csrf": {csrf}, "currentPassword": {viewerPassword}, "newPassword": {newPassword}, "confirmPassword": {newPassword}})
		if q.status != http.StatusSeeOther || q.header.Get("Location") != "/login?notice=password-changed" {
			t.Fatalf("change the password: %d to %q\n%s", q.status, q.header.Get("Location"), q.body)
		}
		if p := viewerB.login(viewer, newPassword); p.status != http.StatusSeeOther {
			t.Errorf("login with the new password: %d", p.status)
		}
	})

	t.Run("current user", func(t *testing.T) {
		p := viewerB.get("/settings/user")
		checkHeaders(t, "viewer's rights", p)
		mustContain(t, "viewer's rights", p, `<dd data-field="subject">viewer</dd>`,
			`<tr><th scope="row">applications</th><td>project default</td>`+"\n      "+`<td><span class="right yes">get</span> </td>`+"\n      "+`<td><span class="right no">create</span> <span class="right no">update</span> <span class="right no">delete</span> <span class="right no">sync</span>`)
	})

	t.Run("project", func(t *testing.T) {
		p := admin.get("/settings/projects/team")
		csrf := p.csrf(t)
		rv := regexp.MustCompile(`name="resourceVersion" value="(\d+)"`).FindStringSubmatch(p.body)
		if rv == nil {
			t.Fatalf("no resourceVersion in the form:\n%s", p.body)
		}
		mustContain(t, "edit form", p, `<form method="post" action="/settings/projects/team/edit" class="settings-form">`,
			`aria-describedby="sourceRepos-help">https://git.example/&lt;script&gt;`, `<input name="destNamespace" value="team-*"`)
		if n := strings.Count(p.body, `<input name="destServer" value=""`); n != 3 {
			t.Errorf("%d empty destination rows, want 3", n)
		}
		// form is the edit form with one destination row beside the
		// project's (row 0) and two empty ones.
		form := func(csrf, version, repos, server, name, ns string) url.Values {
			return url.Values{"csrf": {csrf}, "resourceVersion": {version}, "sourceRepos": {repos},
				"destServer": {"https://kubernetes.default.svc", server, "", ""}, "destName": {"", name, "", ""}, "destNamespace": {"team-*", ns, "", ""}}
		}
		unchanged := func(what string) {
			t.Helper()
			var got sollv1.Project
			if err := f.env.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: "team"}, &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Spec.Destinations) != 1 || len(got.Spec.SourceRepos) != 1 {
				t.Errorf("%s changed the project: %+v", what, got.Spec)
			}
		}
		if q := admin.post("/settings/projects/team/edit", form("", rv[1], "*", "", "in-cluster", "b")); q.status != http.StatusForbidden {
			t.Errorf("edit without a token: %d, want 403", q.status)
		}
		vp := viewerB.get("/settings/projects/team")
		mustContain(t, "viewer's project", vp, `disabled aria-describedby="edit-denied"`, "Editing the project is not available: You (viewer) may not change project team.")
		if q := viewerB.post("/settings/projects/team/edit", form(vp.csrf(t), rv[1], "*", "", "in-cluster", "b")); q.status != http.StatusForbidden || !strings.Contains(q.body, "permission denied") {
			t.Errorf("the viewer's edit: %d, want the API's 403\n%s", q.status, q.body)
		}
		q := admin.post("/settings/projects/team/edit", form(csrf, rv[1], "*", "", "", "team-b"))
		checkHeaders(t, "row without a cluster", q)
		if q.status != http.StatusBadRequest {
			t.Fatalf("a row without a cluster: %d, want 400\n%s", q.status, q.body)
		}
		mustContain(t, "row without a cluster", q, `<p class="field-error" id="dest-error-1">Give the cluster&#39;s server or name`, `<input name="destNamespace" value="team-b"`, `aria-describedby="sourceRepos-help">*</textarea>`)
		long := strings.Repeat("n", 65)
		q = admin.post("/settings/projects/team/edit", form(csrf, rv[1], "*", "", "in-cluster", long))
		if q.status != http.StatusBadRequest {
			t.Fatalf("a 65-character namespace: %d, want 400\n%s", q.status, q.body)
		}
		mustContain(t, "long namespace", q, `<p class="field-error" id="dest-error-1">`, "spec.destinations[1].namespace")
		unchanged("a refused edit")

		q = admin.post("/settings/projects/team/edit", form(csrf, rv[1], "https://git.example/*\n"+repo+"\n", "", "in-cluster", "team-b"))
		if q.status != http.StatusSeeOther || q.header.Get("Location") != "/settings/projects/team?notice=project-saved" {
			t.Fatalf("edit: %d to %q\n%s", q.status, q.header.Get("Location"), q.body)
		}
		var got sollv1.Project
		if err := f.env.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: "team"}, &got); err != nil {
			t.Fatal(err)
		}
		want := []sollv1.ProjectDestination{{Server: "https://kubernetes.default.svc", Namespace: "team-*"}, {Name: "in-cluster", Namespace: "team-b"}}
		if !slices.Equal(got.Spec.SourceRepos, []string{"https://git.example/*", repo}) || !slices.Equal(got.Spec.Destinations, want) || len(got.Spec.Roles) != 1 {
			t.Errorf("the project after the edit: %+v", got.Spec)
		}
		// The form of before the change is refused, not applied.
		q = admin.post("/settings/projects/team/edit", form(csrf, rv[1], "*", "", "", ""))
		if q.status != http.StatusConflict {
			t.Fatalf("a form of an older version: %d, want 409\n%s", q.status, q.body)
		}
		mustContain(t, "older version", q, "The project was changed since this page was loaded; nothing was saved.")
	})

	t.Run("project kinds, windows and roles", func(t *testing.T) {
		var issued apitypes.Token
		f.apiDecode(t, token, "POST", "/api/v1/projects/team/roles/deployer/tokens", map[string]any{"id": "ci"}, http.StatusCreated, &issued)
		read := func() sollv1.Project {
			t.Helper()
			var got sollv1.Project
			if err := f.env.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: "team"}, &got); err != nil {
				t.Fatal(err)
			}
			return got
		}
		var p page
		testenv.WaitFor(t, "the token in the page", 30*time.Second, func() bool {
			p = admin.get("/settings/projects/team")
			return strings.Contains(p.body, "1 token; they stay with the role")
		})
		mustContain(t, "the form", p, "<legend>Role deployer</legend>", `<input type="hidden" name="roleName" value="deployer">`,
			"deny 0 22 * * * 1h0m0s applications=*</textarea>", "<legend>New role</legend>", `<input id="role-name-1" name="roleName" value=""`)
		// edit is the whole form as the page sends it, with the
		// project's repositories and destinations as they are.
		edit := func(p page, change func(url.Values)) page {
			t.Helper()
			cur := read()
			v := url.Values{"csrf": {p.csrf(t)}, "resourceVersion": {cur.ResourceVersion}, "sourceRepos": {strings.Join(cur.Spec.SourceRepos, "\n")},
				"clusterAllow": {""}, "clusterDeny": {""}, "namespacedAllow": {""}, "namespacedDeny": {""}, "syncWindows": {"deny 0 22 * * * 1h applications=*"},
				"roleName": {"deployer", ""}, "roleDescription": {"", ""}, "rolePolicies": {"p, proj:team:deployer, applications, sync, team/*, allow", ""}, "roleGroups": {"", ""}}
			for _, d := range cur.Spec.Destinations {
				v["destServer"], v["destName"], v["destNamespace"] = append(v["destServer"], d.Server), append(v["destName"], d.Name), append(v["destNamespace"], d.Namespace)
			}
			change(v)
			return admin.post("/settings/projects/team/edit", v)
		}
		before := read()
		for what, c := range map[string]struct {
			change func(url.Values)
			want   string
		}{
			"a window without a duration": {func(v url.Values) { v.Set("syncWindows", "allow 0 8 * * 1-5") }, "Line 1: write the kind"},
			"a window of another kind":    {func(v url.Values) { v.Set("syncWindows", "maybe 0 8 * * 1-5 1h") }, `the kind is &#34;maybe&#34;`},
			"a bad kind":                  {func(v url.Values) { v.Set("namespacedDeny", "apps/") }, `&#34;apps/&#34; is not a kind`},
			"a new role without a name":   {func(v url.Values) { v["rolePolicies"][1] = "p, proj:team:x, applications, get, team/*, allow" }, "Give the new role a name."},
			"a bad schedule (the API)":    {func(v url.Values) { v.Set("syncWindows", "allow 99 8 * * 1-5 1h") }, `id="windows-error"`},
		} {
			q := edit(p, c.change)
			if q.status != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400\n%s", what, q.status, q.body)
				continue
			}
			mustContain(t, what, q, c.want)
		}
		if after := read(); after.ResourceVersion != before.ResourceVersion {
			t.Fatalf("a refused form changed the project: %+v", after.Spec)
		}

		q := edit(p, func(v url.Values) {
			v.Set("clusterAllow", "Namespace")
			v.Set("namespacedDeny", "ResourceQuota\nnetworking.k8s.io/NetworkPolicy")
			v.Set("syncWindows", "allow 0 8 * * 1-5 10h namespaces=team-*,ops clusters=in-cluster timeZone=Europe/Paris manualSync")
			v["roleName"] = []string{"deployer", "auditor"}
			v["roleDescription"] = []string{"Deploys team apps", "Reads"}
			v["rolePolicies"] = []string{"p, proj:team:deployer, applications, sync, team/*, allow\np, proj:team:deployer, applications, get, team/*, allow", "p, proj:team:auditor, applications, get, team/*, allow"}
			v["roleGroups"] = []string{"team-leads", ""}
		})
		if q.status != http.StatusSeeOther {
			t.Fatalf("the edit: %d\n%s", q.status, q.body)
		}
		got := read().Spec
		wantWindow := sollv1.SyncWindow{Kind: "allow", Schedule: "0 8 * * 1-5", Duration: metav1.Duration{Duration: 10 * time.Hour}, Namespaces: []string{"team-*", "ops"},
			Clusters: []string{"in-cluster"}, TimeZone: "Europe/Paris", ManualSync: true}
		switch {
		case !slices.Equal(got.ClusterResourceAllowList, []sollv1.GroupKind{{Kind: "Namespace"}}),
			!slices.Equal(got.NamespaceResourceDenyList, []sollv1.GroupKind{{Kind: "ResourceQuota"}, {Group: "networking.k8s.io", Kind: "NetworkPolicy"}}):
			t.Errorf("the kinds after the edit: %+v", got)
		case len(got.SyncWindows) != 1 || fmt.Sprint(got.SyncWindows[0]) != fmt.Sprint(wantWindow):
			t.Errorf("the windows after the edit: %+v, want %+v", got.SyncWindows, wantWindow)
		case len(got.Roles) != 2 || got.Roles[0].Name != "deployer" || len(got.Roles[0].Policies) != 2 || !slices.Equal(got.Roles[0].Groups, []string{"team-leads"}) ||
			got.Roles[0].Description != "Deploys team apps" || got.Roles[1].Name != "auditor":
			t.Errorf("the roles after the edit: %+v", got.Roles)
		}
		// The deployer's token still works.
		f.api(t, issued.Token, "GET", "/api/v1/applications", nil, http.StatusOK)
		// The page shows the window as it reads it, and removes a role.
		p = admin.get("/settings/projects/team")
		mustContain(t, "after the edit", p, "allow 0 8 * * 1-5 10h0m0s clusters=in-cluster manualSync namespaces=team-*,ops timeZone=Europe/Paris</textarea>",
			"<legend>Role auditor</legend>")
		q = edit(p, func(v url.Values) {
			v.Set("syncWindows", "")
			v.Set("namespacedDeny", "ResourceQuota")
			v["roleName"] = []string{"deployer", "auditor", ""}
			v["roleDescription"], v["rolePolicies"], v["roleGroups"] = []string{"", "", ""}, []string{"p, proj:team:deployer, applications, sync, team/*, allow", "", ""}, []string{"", "", ""}
			v["roleRemove"] = []string{"auditor"}
		})
		if q.status != http.StatusSeeOther {
			t.Fatalf("removing a role: %d\n%s", q.status, q.body)
		}
		if got := read().Spec; len(got.Roles) != 1 || got.Roles[0].Name != "deployer" || len(got.SyncWindows) != 0 {
			t.Errorf("after removing auditor and the windows: %+v", got)
		}
		// A form without the new fields (an older page) keeps them.
		p = admin.get("/settings/projects/team")
		q = admin.post("/settings/projects/team/edit", url.Values{"csrf": {p.csrf(t)}, "resourceVersion": {read().ResourceVersion}, "sourceRepos": {"*"},
			"destServer": {"*"}, "destName": {""}, "destNamespace": {"team-*"}})
		if q.status != http.StatusSeeOther {
			t.Fatalf("a form of repositories and destinations only: %d\n%s", q.status, q.body)
		}
		if got := read().Spec; len(got.Roles) != 1 || len(got.NamespaceResourceDenyList) != 1 {
			t.Errorf("a form without roles and kinds changed them: %+v", got)
		}
	})

	t.Run("audit", func(t *testing.T) {
		p := admin.get("/settings/audit?user=admin")
		checkHeaders(t, "audit", p)
		mustContain(t, "audit of admin", p, `<tr data-action="CreateToken">`, `<tr data-action="DeleteToken">`, `<tr data-action="Create">`, "accounts <code>robot</code>", "repositories <code>"+repo+"</code>")
		if strings.Contains(p.body, `<td>viewer</td>`) {
			t.Error("the filter on admin shows the viewer's entries")
		}
		p = admin.get("/settings/audit?user=admin&limit=2")
		next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(p.body)
		if next == nil || strings.Count(p.body, "<tr data-action=") != 2 {
			t.Fatalf("the first page of 2: no next page or not 2 rows\n%s", p.body)
		}
		p = admin.get(strings.ReplaceAll(next[1], "&amp;", "&"))
		mustContain(t, "second page", p, `href="/settings/audit?limit=2&amp;user=admin">First page</a>`)
		mustContain(t, "no entries", admin.get("/settings/audit?app=nothing-here"), "No entry matches these filters.")
		p = admin.get("/settings/audit?limit=0")
		checkHeaders(t, "bad limit", p)
		if p.status != http.StatusBadRequest {
			t.Errorf("limit 0: %d, want 400", p.status)
		}
		mustContain(t, "bad limit", p, `<p class="error" role="alert">The filters were refused: `)
	})
}
