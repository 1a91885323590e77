package ui_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/chromedp/chromedp"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
)

// TestBrowserTree does by clicks, in chromium, the part of the reference
// scenario that needs the resource tree: open an OutOfSync app, open the
// Deployment's panel from the tree and see its diff, sync and see the
// tree turn Synced and Healthy without a reload, scale the Deployment as
// kubectl edit would and see it OutOfSync in the tree and the drift and
// its field manager in the panel, sync it back, delete the Deployment
// with the Kubernetes client and see the tree show it Missing and
// OutOfSync within 2 seconds, sync it back, turn on automated sync and
// self-heal in the policy form, delete the Deployment again and see the
// tree show it healed. axe-core checks the tree, the panel and the list
// view; the screenshots are tree.png, resource.png, diff.png,
// tree-missing.png and tree-list.png.
func TestBrowserTree(t *testing.T) {
	f := start(t)
	ns := f.createShop(t)
	axe := axeScript(t)
	b := newTab(t)
	dep := `document.querySelector('a[data-node="apps/Deployment/` + ns + `/web"]')`
	depIs := func(sync, health string) string {
		return dep + ` !== null && ` + dep + `.dataset.sync === '` + sync + `' && ` + dep + `.dataset.health === '` + health + `' && ` +
			dep + `.querySelector('.status').textContent.includes('` + sync + `') && ` + dep + `.querySelector('.status').textContent.includes('` + health + `')`
	}

	b.run("log in on the way to the app",
		chromedp.Navigate(f.base+"/applications/shop"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), f.adminPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#tree-view svg.tree`)))
	b.until("the Deployment Missing and OutOfSync in the tree", 5*time.Second, depIs("OutOfSync", "Missing"))
	// Every node is a link in the tab order, named by its title.
	b.until("the nodes in the tab order", time.Second, `Array.from(document.querySelectorAll('svg.tree a')).every(a => a.tabIndex === 0 && a.querySelector('title').textContent.length > 0) && `+
		dep+`.querySelector('title').textContent.startsWith('Deployment web, OutOfSync, Missing')`)

	b.run("open the Deployment's panel", chromedp.Click(chromedp.CSS(`a[data-node="apps/Deployment/`+ns+`/web"] rect`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-diff]`)))
	if got := b.text(`[data-diff]`); !strings.Contains(got, "+  replicas: 1") || !strings.Contains(got, "+kind: Deployment") {
		t.Errorf("the Deployment's diff in the panel:\n%s", got)
	}
	if got := b.text(`.diff-side`); !strings.Contains(got, "replicas: 1") {
		t.Errorf("the side-by-side diff:\n%s", got)
	}
	checkAccessibility(t, b.ctx, axe, "resource panel")

	b.run("back to the tree", chromedp.Click(chromedp.CSS(`a[href="/applications/shop#tree"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#tree-view svg.tree`)))
	b.until("the app's event stream", 30*time.Second, `document.body.getAttribute('data-live') === 'on'`)
	b.run("click Sync", void(chromedp.Evaluate[bool](`window.notReloaded = true`)), chromedp.Click(chromedp.ID("sync-button")))
	b.until("the Deployment Synced and Healthy, with its Pod, without a reload", 60*time.Second,
		`window.notReloaded === true && `+depIs("Synced", "Healthy")+` && document.querySelector('a[data-node^="/Pod/`+ns+`/web-"]') !== null`)
	checkAccessibility(t, b.ctx, axe, "application with its tree")
	b.element("tree", `#tree`)

	// kubectl edit scales the Deployment: the tree shows it OutOfSync
	// without a reload, and its panel names the field and who changed it.
	ctx := context.Background()
	scale := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"replicas":3}}`))
	if err := f.env.Client.Patch(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}}, scale, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	b.until("the edited Deployment OutOfSync in the tree", 30*time.Second, `window.notReloaded === true && `+depIs("OutOfSync", "Healthy"))
	b.run("open the edited Deployment's panel", chromedp.Click(chromedp.CSS(`a[data-node="apps/Deployment/`+ns+`/web"] rect`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-drift]`)))
	if got := b.text(`[data-drift]`); !strings.Contains(got, "spec.replicas changed by kubectl-edit") {
		t.Errorf("the drift in the panel: %q", got)
	}
	if got := b.text(`[data-diff]`); !strings.Contains(got, "-  replicas: 3") || !strings.Contains(got, "+  replicas: 1") {
		t.Errorf("the drifted Deployment's diff:\n%s", got)
	}
	if got := b.text(`[data-live]`); !strings.Contains(got, "replicas: 3") {
		t.Errorf("the live manifest of the edited Deployment:\n%s", got)
	}
	checkAccessibility(t, b.ctx, axe, "resource panel with a drift")
	b.shot("resource")
	b.element("diff", `section[aria-labelledby="h-res-diff"]`)
	// A sync from elsewhere (the API): the open panel follows it without
	// a reload, to the live object as Git has it and no drift.
	b.until("the panel's event stream", 30*time.Second, `document.body.getAttribute('data-live') === 'on'`)
	b.run("mark the panel", void(chromedp.Evaluate[bool](`window.notReloaded = true`)))
	f.api(t, f.apiLogin(t, "admin", f.adminPassword), "POST", "/api/v1/applications/shop/sync", nil, http.StatusAccepted)
	b.until("the panel following the sync", 60*time.Second, `window.notReloaded === true && Number(document.body.getAttribute('data-panel-swaps') || 0) > 0 &&
		document.querySelector('#panel-view [data-live]').textContent.includes('replicas: 1') && document.querySelector('#panel-view [data-drift]') === null`)
	b.run("back to the tree again", chromedp.Click(chromedp.CSS(`a[href="/applications/shop#tree"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#tree-view svg.tree`)))
	b.until("the app's event stream", 30*time.Second, `document.body.getAttribute('data-live') === 'on'`)
	b.run("mark the page", void(chromedp.Evaluate[bool](`window.notReloaded = true`)))
	b.until("the Deployment Synced again, the sync over", 60*time.Second, `window.notReloaded === true && `+depIs("Synced", "Healthy")+
		` && document.querySelector('.facts [data-field="phase"]').textContent.trim() === 'Succeeded'`)

	// The Deployment deleted behind soll's back shows in the tree
	// within 2 seconds.
	var d appsv1.Deployment
	if err := f.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &d); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	if err := f.env.Client.Delete(ctx, &d); err != nil {
		t.Fatal(err)
	}
	b.until("the deleted Deployment Missing and OutOfSync without a reload", 2*time.Second, `window.notReloaded === true && `+depIs("OutOfSync", "Missing"))
	took := time.Since(deleted)
	if took > 2*time.Second {
		t.Errorf("the deletion took %s to show in the tree, want at most 2s", took)
	}
	t.Logf("the deleted Deployment showed as Missing in the tree %s after the delete", took.Round(time.Millisecond))
	b.shot("tree-missing")

	b.run("click Sync again", chromedp.Click(chromedp.ID("sync-button")))
	b.until("the Deployment back, Synced and Healthy", 60*time.Second, `window.notReloaded === true && `+depIs("Synced", "Healthy"))

	// Automated sync and self-heal from the policy form (a page load),
	// then a second deletion heals.
	b.run("turn on auto-sync and self-heal",
		chromedp.Click(chromedp.ID("policy-automated")),
		chromedp.Click(chromedp.ID("policy-selfheal")),
		chromedp.Click(chromedp.ID("policy-button")),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	if got := b.text(".notice"); !strings.Contains(got, "Sync policy saved.") {
		t.Fatalf("after saving the policy: %q", got)
	}
	b.until("the app's event stream after the reload", 30*time.Second, `document.body.getAttribute('data-live') === 'on'`)
	b.run("mark the page", void(chromedp.Evaluate[bool](`window.notReloaded = true; window.swapsBefore = Number(document.body.getAttribute('data-tree-swaps') || 0); true`)))
	if err := f.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &d); err != nil {
		t.Fatal(err)
	}
	old := d.UID
	if err := f.env.Client.Delete(ctx, &d); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the Deployment healed", 60*time.Second, func() bool {
		var now appsv1.Deployment
		return f.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &now) == nil && now.UID != old
	})
	b.until("the healed Deployment Synced and Healthy in the tree", 60*time.Second,
		`window.notReloaded === true && Number(document.body.getAttribute('data-tree-swaps') || 0) > window.swapsBefore && `+depIs("Synced", "Healthy"))
	// The automated sync's state is written when it ends, which may be
	// after the Deployment is back.
	testenv.WaitFor(t, "the automated sync that healed it", time.Minute, func() bool {
		st := f.app(t, "shop").Status.OperationState
		return st != nil && st.Phase == sollv1.OperationSucceeded && st.Operation.InitiatedBy != nil && st.Operation.InitiatedBy.Automated
	})

	// The link is clicked from the page's script: the tree may be
	// swapped between a mouse's press and release.
	b.run("open the list view", void(chromedp.Evaluate[bool](`document.querySelector('nav[aria-label="Resource view"] a[href="/applications/shop?view=list#tree"]').click(); true`)),
		chromedp.WaitVisible(chromedp.CSS(`table.tree-list`)))
	if got := b.text(`table.tree-list`); !strings.Contains(got, "Deployment") || !strings.Contains(got, "creds") {
		t.Errorf("the list view:\n%s", got)
	}
	checkAccessibility(t, b.ctx, axe, "resource list")
	b.element("tree-list", `#tree`)
	t.Logf("screenshots in %s", b.dir)
}
