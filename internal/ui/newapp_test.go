package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/appstate"
	"soll.dev/internal/testenv/gitserver"
)

// TestNewApp uses the new-application form without JavaScript: the form
// and its choices, a line the form cannot read and the API's refusals
// shown at their fields with the values kept and escaped, CSRF and RBAC
// refusals that create nothing, and applications created with a
// directory and a Helm source, checked in the cluster.
func TestNewApp(t *testing.T) {
	f := start(t)
	admin := f.browser(t)
	if p := admin.login("admin", f.adminPassword); p.status != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", p.status, p.body)
	}
	dest := f.env.Namespace(t)
	repo := f.git.HTTPURL("config")
	// form is a filled form with the page's token; change edits it.
	form := func(csrf string, change map[string]string) url.Values {
		v := url.Values{"csrf": {csrf}, "name": {"made"}, "project": {"default"}, "repoURL": {repo}, "targetRevision": {gitserver.DefaultBranch},
			"path": {"app"}, "tool": {"directory"}, "dirRecurse": {"on"}, "destServer": {appstate.InClusterServer}, "destNamespace": {dest},
			"automated": {"on"}, "selfHeal": {"on"}}
		for k, x := range change {
			if x == "" {
				v.Del(k)
			} else {
				v.Set(k, x)
			}
		}
		return v
	}
	// absent fails if the app exists.
	absent := func(t *testing.T, name string) {
		t.Helper()
		if !f.appGone(t, name) {
			t.Errorf("application %s was created", name)
		}
	}

	t.Run("form", func(t *testing.T) {
		p := admin.get("/applications")
		mustContain(t, "list", p, `<a class="button" href="/applications/new" id="new-app">New application</a>`)
		p = admin.get("/applications/new")
		checkHeaders(t, "new application", p)
		if p.status != http.StatusOK {
			t.Fatalf("new application: %d\n%s", p.status, p.body)
		}
		mustContain(t, "new application", p, `<form method="post" action="/applications/new" class="newapp">`,
			`<option value="default" selected>default</option>`, `<option value="`+appstate.InClusterServer+`" selected>in-cluster (`+appstate.InClusterServer+`)</option>`,
			`<input type="radio" name="tool" value="auto" data-tool-choice checked> Detect from the files`,
			`<fieldset class="stack" data-tool="helm">`, `<textarea id="helmParameters" name="helmParameters"`, `list="repositories"`,
			`<button type="submit" class="button primary" id="create-button">Create application</button>`)
		if strings.Contains(p.body, "disabled") {
			t.Error("the admin's form is disabled")
		}
	})

	t.Run("forms need the session's token", func(t *testing.T) {
		good := admin.get("/applications/new").csrf(t)
		for name, token := range map[string]string{"missing": "", "forged": "AAAA" + good[4:]} {
			p := admin.post("/applications/new", form(token, nil))
			checkHeaders(t, name+" token", p)
			if p.status != http.StatusForbidden {
				t.Errorf("create with a %s token: %d, want 403", name, p.status)
			}
		}
		absent(t, "made")
	})

	t.Run("errors at their fields", func(t *testing.T) {
		csrf := admin.get("/applications/new").csrf(t)
		// The form's own check: a parameter that is not name=value.
		p := admin.post("/applications/new", form(csrf, map[string]string{"tool": "helm", "helmParameters": "image.tag=1.2\nnot a pair", "helmValues": "replicas: 2"}))
		checkHeaders(t, "bad parameter", p)
		if p.status != http.StatusBadRequest {
			t.Fatalf("a parameter without =: %d, want 400\n%s", p.status, p.body)
		}
		mustContain(t, "bad parameter", p, `aria-describedby="helmParameters-help helmParameters-error" aria-invalid="true">image.tag=1.2
not a pair</textarea>`, `<p class="field-error" id="helmParameters-error">Line 2, &#34;not a pair&#34;, is not name=value.</p>`,
			`<input type="radio" name="tool" value="helm" data-tool-choice checked>`, `>replicas: 2</textarea>`, `value="made"`)
		absent(t, "made")

		// The API's: a name Kubernetes refuses, written back as text.
		const evil = `<script>alert("name")</script>`
		p = admin.post("/applications/new", form(csrf, map[string]string{"name": evil}))
		checkHeaders(t, "bad name", p)
		if p.status != http.StatusBadRequest {
			t.Fatalf("a name with <script>: %d, want 400\n%s", p.status, p.body)
		}
		mustContain(t, "bad name", p, `value="&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;"`, `aria-describedby="name-help name-error" aria-invalid="true">`,
			`<p class="field-error" id="name-error">`, `value="`+repo+`"`, `name="selfHeal" id="selfHeal" checked>`, `name="dirRecurse" id="dirRecurse" checked>`)
		if strings.Contains(p.body, evil) {
			t.Error("the name is written into the page unescaped")
		}
		// A release name the CRD's pattern refuses, at its field.
		p = admin.post("/applications/new", form(csrf, map[string]string{"tool": "helm", "helmReleaseName": "Not_Valid", "path": "app"}))
		if p.status != http.StatusBadRequest {
			t.Fatalf("a bad release name: %d, want 400\n%s", p.status, p.body)
		}
		mustContain(t, "bad release name", p, `<p class="field-error" id="helmReleaseName-error">`, "spec.source.helm.releaseName", `value="Not_Valid"`)
		// A destination the project does not allow, at the namespace.
		narrow := &sollv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "narrow", Namespace: f.ns}, Spec: sollv1.ProjectSpec{SourceRepos: []string{"*"},
			Destinations: []sollv1.ProjectDestination{{Server: "*", Namespace: "only-this"}}}}
		if err := f.env.Client.Create(context.Background(), narrow); err != nil {
			t.Fatal(err)
		}
		p = admin.post("/applications/new", form(csrf, map[string]string{"project": "narrow"}))
		if p.status != http.StatusBadRequest {
			t.Fatalf("a destination the project refuses: %d, want 400\n%s", p.status, p.body)
		}
		mustContain(t, "refused destination", p, `<p class="field-error" id="destNamespace-error">spec.destination: `, "is not permitted in project narrow",
			`<option value="narrow" selected>narrow</option>`)
		absent(t, "made")
	})

	t.Run("read-only user", func(t *testing.T) {
		b := f.browser(t)
		if p := b.login(viewer, viewerPassword); p.status != http.StatusSeeOther {
			t.Fatalf("viewer login: %d\n%s", p.status, p.body)
		}
		p := b.get("/applications/new")
		mustContain(t, "viewer's form", p, `<fieldset class="plain stack" disabled aria-describedby="create-denied">`,
			"Creating applications is not available: You (viewer) may not create applications in any project you may see.")
		q := b.post("/applications/new", form(p.csrf(t), map[string]string{"name": "viewers"}))
		checkHeaders(t, "viewer's create", q)
		if q.status != http.StatusForbidden {
			t.Errorf("the viewer's create: %d, want the API's 403\n%s", q.status, q.body)
		}
		mustContain(t, "viewer's create", q, "permission denied: viewer may not create applications")
		absent(t, "viewers")
	})

	t.Run("create", func(t *testing.T) {
		csrf := admin.get("/applications/new").csrf(t)
		p := admin.post("/applications/new", form(csrf, nil))
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/applications/made?notice=created" {
			t.Fatalf("create: %d to %q\n%s", p.status, p.header.Get("Location"), p.body)
		}
		a := f.app(t, "made")
		src := a.Spec.Source
		if src == nil || src.RepoURL != repo || src.Path != "app" || src.TargetRevision != gitserver.DefaultBranch || src.Directory == nil || !src.Directory.Recurse || src.Helm != nil {
			t.Errorf("the created source: %+v", src)
		}
		if d := a.Spec.Destination; d.Server != appstate.InClusterServer || d.Namespace != dest || a.Spec.Project != "default" {
			t.Errorf("the created destination: %+v, project %q", d, a.Spec.Project)
		}
		if sp := a.Spec.SyncPolicy; sp == nil || sp.Automated == nil || (sp.Automated.Enabled != nil && !*sp.Automated.Enabled) || !sp.Automated.SelfHeal || sp.Automated.Prune {
			t.Errorf("the created sync policy: %+v", sp)
		}
		mustContain(t, "the new app's page", admin.get(p.header.Get("Location")), "<h1>made</h1>", "Application created:")
		f.waitSync(t, "made", "Synced")

		p = admin.post("/applications/new", form(csrf, nil))
		if p.status != http.StatusConflict {
			t.Fatalf("the same name again: %d, want 409\n%s", p.status, p.body)
		}
		mustContain(t, "the same name again", p, `<p class="field-error" id="name-error">An application named made exists already: choose another name.</p>`)

		// A Helm source with every option of the form; automated sync
		// off with self-heal and prune kept.
		p = admin.post("/applications/new", form(csrf, map[string]string{"name": "charted", "tool": "helm", "path": "chart", "dirRecurse": "",
			"helmReleaseName": "web", "helmValueFiles": "values-prod.yaml\n\n", "helmValues": "replicas: 2\n", "helmParameters": "image.tag = 1.2\nlabel=a=b",
			"kustImages": "ignored:1", "automated": "", "prune": "on"}))
		if p.status != http.StatusSeeOther {
			t.Fatalf("create a Helm app: %d\n%s", p.status, p.body)
		}
		a = f.app(t, "charted")
		h := a.Spec.Source.Helm
		if h == nil || h.ReleaseName != "web" || len(h.ValueFiles) != 1 || h.ValueFiles[0] != "values-prod.yaml" || h.Values != "replicas: 2" ||
			len(h.Parameters) != 2 || h.Parameters[0].Name != "image.tag" || h.Parameters[0].Value != "1.2" || h.Parameters[1].Value != "a=b" {
			t.Errorf("the Helm source: %+v", h)
		}
		if a.Spec.Source.Kustomize != nil || a.Spec.Source.Directory != nil {
			t.Errorf("options of other tools were sent: %+v", a.Spec.Source)
		}
		if at := a.Spec.SyncPolicy.Automated; at.Enabled == nil || *at.Enabled || !at.Prune || !at.SelfHeal {
			t.Errorf("the Helm app's automated sync: %+v", at)
		}
	})
}
