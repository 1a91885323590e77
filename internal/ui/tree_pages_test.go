package ui_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/appstate"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

// The Secret of the shop repository: neither its value nor its base64
// may ever reach a page.
const (
	shopSecret     = "tree-secret-value-7731"
	shopSecretLive = "tree-secret-live-9042"
)

// shopFiles are a Deployment, a Secret and a ConfigMap.
var shopFiles = map[string]string{
	"shop/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.example/web:1
`,
	"shop/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ndata:\n  password: " + base64.StdEncoding.EncodeToString([]byte(shopSecret)) + "\n",
	"shop/cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: fast\n",
}

// createShop creates the app shop of the shop repository, without
// automated sync, deploying to a namespace of its own, which it returns.
func (f *fixture) createShop(t *testing.T) string {
	t.Helper()
	f.git.CreateRepo(t, "shop", "")
	f.git.Commit(t, "shop", gitserver.DefaultBranch, gitserver.Change{Message: "shop", Files: shopFiles})
	ns := f.env.Namespace(t)
	app := &sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: f.ns},
		Spec: sollv1.ApplicationSpec{
			Project:     "default",
			Source:      &sollv1.ApplicationSource{RepoURL: f.git.HTTPURL("shop"), TargetRevision: gitserver.DefaultBranch, Path: "shop"},
			Destination: sollv1.ApplicationDestination{Server: appstate.InClusterServer, Namespace: ns},
		},
	}
	if err := f.env.Client.Create(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	f.waitSync(t, "shop", sollv1.SyncStatusOutOfSync)
	return ns
}

// waitHealthy waits until the app is Synced and Healthy.
func (f *fixture) waitHealthy(t *testing.T, name string) {
	t.Helper()
	testenv.WaitFor(t, name+" Synced and Healthy", 90*time.Second, func() bool {
		a := f.app(t, name)
		return a.Status.Sync != nil && a.Status.Sync.Status == sollv1.SyncStatusSynced && a.Status.Health != nil && a.Status.Health.Status == sollv1.HealthHealthy
	})
}

func noSecret(t *testing.T, what string, p page) {
	t.Helper()
	for _, v := range []string{shopSecret, shopSecretLive} {
		for _, s := range []string{v, base64.StdEncoding.EncodeToString([]byte(v))} {
			if strings.Contains(p.body, s) {
				t.Errorf("%s shows the Secret's value %q", what, s)
			}
		}
	}
}

// TestTreePages reads the resource tree, its list view and filters, the
// fragment route and the resource panel as a browser without JavaScript
// does: nodes with their statuses and links, children after a sync,
// collapse-free small trees, the diff with the drift's field manager, a
// Secret whose value never reaches a page, the security headers, and
// refusals for users without a session or the right to get the app.
func TestTreePages(t *testing.T) {
	f := start(t)
	ns := f.createShop(t)
	admin := f.browser(t)
	if p := admin.login("admin", f.adminPassword); p.status != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", p.status, p.body)
	}
	dep := `data-node="apps/Deployment/` + ns + `/web"`
	secretPanel := "/applications/shop/resource?kind=Secret&name=creds&namespace=" + ns
	depPanel := "/applications/shop/resource?group=apps&kind=Deployment&name=web&namespace=" + ns

	t.Run("tree before the sync", func(t *testing.T) {
		p := admin.get("/applications/shop")
		checkHeaders(t, "app page", p)
		mustContain(t, "tree", p, `<section aria-labelledby="h-tree" class="panel" id="tree">`, `<svg class="tree"`,
			`data-refresh="/applications/shop/tree"`, dep+` data-sync="OutOfSync" data-health="Missing"`,
			`<a href="/applications/shop/resource?group=apps&amp;kind=Deployment&amp;name=web&amp;namespace=`+ns+`"`,
			`<title>Deployment web, OutOfSync, Missing; namespace `+ns+`; not found in the cluster</title>`,
			"3 objects (3 managed, the others their children).", `<g class="node root" role="img" aria-label="Application shop, OutOfSync`)
		if !scriptTag.MatchString(p.body) || !strings.Contains(p.body, `<script src="/static/tree.`) {
			t.Error("the app page does not load tree.js")
		}
		noSecret(t, "the app page", p)

		p = admin.get(secretPanel)
		checkHeaders(t, "Secret panel", p)
		if p.status != http.StatusOK {
			t.Fatalf("Secret panel: %d\n%s", p.status, p.body)
		}
		mustContain(t, "Secret panel", p, "<h1><span class=\"muted\">Secret</span> creds</h1>", "&#43;&#43;&#43;&#43;&#43;&#43;&#43;&#43; (redacted", `<pre class="manifest" data-desired>`,
			`<span class="st st-Missing">Missing</span>`)
		noSecret(t, "the Secret's panel", p)

		p = admin.get(depPanel)
		mustContain(t, "Deployment panel", p, `<pre class="diff" data-diff>`, `<span class="dl dl-add">&#43;  replicas: 1</span>`,
			`<tr><td class="dl-none"><span class="mark" aria-hidden="true"></span><code></code></td><td class="dl-add"><span class="mark" aria-hidden="true">+</span><span class="visually-hidden">added: </span><code>  replicas: 1</code></td>`,
			"image: registry.example/web:1", "The object is not in the cluster: Deployment web of application shop is not in the cluster.")
	})

	token := f.apiLogin(t, "admin", f.adminPassword)
	f.api(t, token, "POST", "/api/v1/applications/shop/sync", nil, http.StatusAccepted)
	f.waitHealthy(t, "shop")

	t.Run("children after the sync", func(t *testing.T) {
		var p page
		testenv.WaitFor(t, "the Deployment's ReplicaSet and Pod in the tree", 60*time.Second, func() bool {
			p = admin.get("/applications/shop")
			return strings.Contains(p.body, `data-node="apps/ReplicaSet/`+ns+`/web-`) && strings.Contains(p.body, `data-node="/Pod/`+ns+`/web-`)
		})
		mustContain(t, "tree", p, dep+` data-sync="Synced" data-health="Healthy"`)

		p = admin.get("/applications/shop?view=list")
		mustContain(t, "list view", p, `<table class="tree-list">`, `<tr data-node="Deployment/`+ns+`/web">`, `<tr data-node="Secret/`+ns+`/creds">`,
			`<a href="/applications/shop?view=list#tree" aria-current="page">List</a>`, "shop (managed)")
		p = admin.get("/applications/shop?view=list&kind=Pod")
		mustContain(t, "filtered list", p, `<option selected>Pod</option>`, `<input type="hidden" name="view" value="list">`, "match the filters")
		if strings.Contains(p.body, `<tr data-node="Secret/`) || strings.Contains(p.body, `<tr data-node="ConfigMap/`) {
			t.Error("the Pod filter keeps the Secret or the ConfigMap")
		}
		if !strings.Contains(p.body, `<tr data-node="ReplicaSet/`) {
			t.Error("the Pod filter drops the Pod's owner")
		}
		p = admin.get("/applications/shop?health=Degraded")
		mustContain(t, "no match", p, "No object matches these filters.")

		// The fragment: the section alone, with the page's headers.
		p = admin.get("/applications/shop/tree?view=list")
		checkHeaders(t, "tree fragment", p)
		if p.status != http.StatusOK || !strings.HasPrefix(p.body, `<div class="tree-view" id="tree-view" data-refresh="/applications/shop/tree?view=list"`) || strings.Contains(p.body, "<html") {
			t.Errorf("fragment: %d\n%s", p.status, p.body)
		}
		mustContain(t, "fragment", p, `<table class="tree-list">`)
		// A Pod's panel: a child, with its owner and state.
		p = admin.get("/applications/shop?view=list&kind=Pod")
		i := strings.Index(p.body, `/applications/shop/resource?kind=Pod&amp;name=web-`)
		if i < 0 {
			t.Fatalf("no Pod link:\n%s", p.body)
		}
		link := strings.ReplaceAll(p.body[i:i+strings.Index(p.body[i:], `"`)], "&amp;", "&")
		p = admin.get(link)
		mustContain(t, "Pod panel", p, `, a resource of shop`, "phase Running", `<span class="st st-Healthy">Healthy</span>`,
			`<pre class="manifest" data-live>apiVersion: v1`, "kind: Pod", "image: registry.example/web:1")
		if strings.Contains(p.body, "managedFields:") {
			t.Error("the live Pod shows its managedFields")
		}
		if strings.Contains(p.body, "h-res-diff") {
			t.Error("a child's panel has a diff section")
		}
	})

	t.Run("drift", func(t *testing.T) {
		ctx := context.Background()
		// kubectl edit's field manager scales the Deployment; the
		// Secret's value changes in the cluster.
		patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"replicas":3}}`))
		if err := f.env.Client.Patch(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}}, patch, client.FieldOwner("kubectl-edit")); err != nil {
			t.Fatal(err)
		}
		secret := client.RawPatch(types.MergePatchType, []byte(`{"stringData":{"password":"`+shopSecretLive+`"}}`))
		if err := f.env.Client.Patch(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds"}}, secret, client.FieldOwner("kubectl-edit")); err != nil {
			t.Fatal(err)
		}
		var p page
		testenv.WaitFor(t, "the drift in the Deployment's panel", 60*time.Second, func() bool {
			p = admin.get(depPanel)
			return strings.Contains(p.body, "spec.replicas changed by kubectl-edit") && strings.Contains(p.body, `<dd data-res-sync><span class="st st-OutOfSync">`)
		})
		mustContain(t, "drift", p, `<ul class="drift" data-drift><li><code>spec.replicas changed by kubectl-edit</code></li></ul>`,
			`<span class="dl dl-del">-  replicas: 3</span>`, `<span class="dl dl-add">&#43;  replicas: 1</span>`,
			`<span class="st st-OutOfSync">OutOfSync</span>`)
		if live := p.body[strings.Index(p.body, "data-live>"):]; !strings.Contains(live[:strings.Index(live, "</pre>")], "replicas: 3") {
			t.Errorf("the live manifest does not show the edit:\n%s", live)
		}
		testenv.WaitFor(t, "the Secret's drift", 60*time.Second, func() bool {
			p = admin.get(secretPanel)
			return strings.Contains(p.body, "data-diff")
		})
		mustContain(t, "Secret drift", p, `<pre class="manifest" data-live>`, "&#43;&#43;&#43;&#43;&#43;&#43;&#43;&#43; (redacted, old)", "&#43;&#43;&#43;&#43;&#43;&#43;&#43;&#43; (redacted, new)")
		noSecret(t, "the drifted Secret's panel", p)
		noSecret(t, "the app page with a drifted Secret", admin.get("/applications/shop"))
	})

	t.Run("refusals", func(t *testing.T) {
		anon := f.browser(t)
		p := anon.get("/applications/shop/tree")
		checkHeaders(t, "anonymous fragment", p)
		if p.status != http.StatusUnauthorized || strings.Contains(p.body, "tree-view") {
			t.Errorf("anonymous fragment: %d\n%s", p.status, p.body)
		}
		if p := anon.get(depPanel); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/login?") {
			t.Errorf("anonymous panel: %d to %q", p.status, p.header.Get("Location"))
		}
		// An account without any role may not get the app.
		f.api(t, token, "POST", "/api/v1/accounts", map[string]any{"name": "outsider", "capabilities": []string{"login"}, "password": "outsider-password-42"}, http.StatusCreated)
		out := f.browser(t)
		if p := out.login("outsider", "outsider-password-42"); p.status != http.StatusSeeOther {
			t.Fatalf("outsider login: %d\n%s", p.status, p.body)
		}
		for _, path := range []string{"/applications/shop/tree", depPanel, secretPanel} {
			p := out.get(path)
			checkHeaders(t, "outsider "+path, p)
			if p.status != http.StatusForbidden && p.status != http.StatusNotFound {
				t.Errorf("outsider %s: %d, want 403 or 404", path, p.status)
			}
			if strings.Contains(p.body, "data-node") || strings.Contains(p.body, "registry.example") {
				t.Errorf("outsider %s shows the app's resources:\n%s", path, p.body)
			}
		}
		p = admin.get("/applications/shop/resource?kind=Deployment")
		checkHeaders(t, "panel without a name", p)
		if p.status != http.StatusBadRequest {
			t.Errorf("panel without a name: %d", p.status)
		}
		p = admin.get("/applications/shop/resource?group=apps&kind=Deployment&name=nothing&namespace=" + ns)
		if p.status != http.StatusNotFound || !strings.Contains(p.body, "Deployment nothing is not in the resource tree of application shop") {
			t.Errorf("panel of an object not in the tree: %d\n%s", p.status, p.body)
		}
		if p := admin.get("/applications/nothing/tree"); p.status != http.StatusNotFound {
			t.Errorf("fragment of a missing app: %d", p.status)
		}
	})
}
