package ui_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

// TestBrowserReferenceScenario is the product's reference scenario, by
// clicks in Chromium, against soll run, the test cluster and a Git server
// holding examples/wordpress: log in as admin with the initial password,
// create the application "wordpress" with the form, see it OutOfSync and
// the diff of its Deployment, Sync and see it Synced and Healthy without
// a reload, delete the Deployment with the Kubernetes client and see the
// tree show it Missing and OutOfSync within 2 seconds, Sync it back, turn
// on automated sync and self-heal and see the next deletion healed, roll
// back from the history and unpin, log out.
func TestBrowserReferenceScenario(t *testing.T) {
	f := start(t)
	b := newTab(t)
	axe := axeScript(t)
	ctx := context.Background()
	ns := f.env.Namespace(t)
	f.git.CreateRepo(t, "deploy", "")
	f.git.Commit(t, "deploy", gitserver.DefaultBranch, gitserver.Change{Message: "add wordpress", Files: testenv.WordPress(t, ns)})
	dep := `document.querySelector('a[data-node="apps/Deployment/` + ns + `/wordpress"]')`
	depIs := func(sync, health string) string {
		return dep + ` !== null && ` + dep + `.dataset.sync === '` + sync + `' && ` + dep + `.dataset.health === '` + health + `'`
	}
	appIs := func(sync, health string) string {
		return `document.querySelector('.facts [data-field="sync"]').textContent.trim() === '` + sync +
			`' && document.querySelector('.facts [data-field="health"]').textContent.trim() === '` + health + `'`
	}

	// 2. Log in as admin with the generated initial password.
	b.login(f.base, "/applications", "admin", f.adminPassword, "#new-app")
	// 3. Create the application with the form.
	b.run("open the new-application form", chromedp.Click(chromedp.ID("new-app")), chromedp.WaitVisible(chromedp.ID("name")))
	b.run("fill in the application",
		chromedp.SendKeys(chromedp.ID("name"), "wordpress"),
		chromedp.SendKeys(chromedp.ID("repoURL"), f.git.HTTPURL("deploy")),
		chromedp.SendKeys(chromedp.ID("targetRevision"), gitserver.DefaultBranch),
		chromedp.SendKeys(chromedp.ID("path"), "wordpress"),
		chromedp.SendKeys(chromedp.ID("destNamespace"), ns))
	b.shot("reference-new-app")
	b.run("create it", chromedp.Click(chromedp.ID("create-button")), chromedp.WaitVisible(chromedp.ID("sync-button")))

	// 4. OutOfSync, the Deployment Missing; its diff; Sync.
	deadline := time.Now().Add(time.Minute)
	for a := f.app(t, "wordpress"); ; a = f.app(t, "wordpress") {
		if a.Status.Sync != nil && a.Status.Sync.Status == sollv1.SyncStatusOutOfSync && len(a.Status.Resources) == 9 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("wordpress was not compared within a minute: sync %+v, %d resources, conditions %+v", a.Status.Sync, len(a.Status.Resources), a.Status.Conditions)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.until("wordpress OutOfSync, its Deployment Missing", time.Minute, `document.querySelector('.facts [data-field="sync"]').textContent.trim() === 'OutOfSync' && `+depIs("OutOfSync", "Missing"))
	b.run("open the Deployment's diff", chromedp.Click(chromedp.CSS(`a[data-node="apps/Deployment/`+ns+`/wordpress"] rect`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-diff]`)))
	if got := b.text(`[data-diff]`); !strings.Contains(got, "+kind: Deployment") || !strings.Contains(got, "+  name: wordpress") {
		t.Errorf("the Deployment's diff:\n%s", got)
	}
	b.run("back to the application", chromedp.Navigate(f.base+"/applications/wordpress"), chromedp.WaitVisible(chromedp.ID("sync-button")))
	b.until("the app's event stream", 30*time.Second, `document.body.getAttribute('data-live') === 'on'`)
	b.run("Sync", void(chromedp.Evaluate[bool](`window.notReloaded = true`)), chromedp.Click(chromedp.ID("sync-button")))
	b.until("Synced and Healthy without a reload", 2*time.Minute, `window.notReloaded === true && `+appIs("Synced", "Healthy")+` && `+depIs("Synced", "Healthy"))
	checkAccessibility(t, b.ctx, axe, "wordpress, synced")
	b.shot("reference-synced")

	// 5. kubectl delete deployment wordpress: Missing within 2 s; Sync
	// restores it.
	var d appsv1.Deployment
	if err := f.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "wordpress"}, &d); err != nil {
		t.Fatal(err)
	}
	if err := f.env.Client.Delete(ctx, &d); err != nil {
		t.Fatal(err)
	}
	took := b.until("the deleted Deployment Missing and OutOfSync", 2*time.Second, `window.notReloaded === true && `+depIs("OutOfSync", "Missing"))
	t.Logf("the deleted Deployment showed as Missing %s after the delete", took.Round(time.Millisecond))
	b.run("Sync it back", chromedp.Click(chromedp.ID("sync-button")))
	b.until("restored", 2*time.Minute, `window.notReloaded === true && `+appIs("Synced", "Healthy")+` && `+depIs("Synced", "Healthy"))

	// 6. Auto-sync and self-heal: the next deletion heals by itself.
	b.run("turn on auto-sync and self-heal",
		chromedp.Click(chromedp.ID("policy-automated")),
		chromedp.Click(chromedp.ID("policy-selfheal")),
		chromedp.Click(chromedp.ID("policy-button")),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	if a := f.app(t, "wordpress"); a.Spec.SyncPolicy == nil || a.Spec.SyncPolicy.Automated == nil || !a.Spec.SyncPolicy.Automated.SelfHeal {
		t.Fatalf("the policy form did not turn on self-heal: %+v", a.Spec.SyncPolicy)
	}
	b.until("the app's event stream after the save", 30*time.Second, `document.body.getAttribute('data-live') === 'on'`)
	b.run("mark the page", void(chromedp.Evaluate[bool](`window.notReloaded = true`)))
	if err := f.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "wordpress"}, &d); err != nil {
		t.Fatal(err)
	}
	old := d.UID
	if err := f.env.Client.Delete(ctx, &d); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the Deployment healed", time.Minute, func() bool {
		var now appsv1.Deployment
		return f.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "wordpress"}, &now) == nil && now.UID != old
	})
	b.until("healed, Synced and Healthy on the page", 2*time.Minute, `window.notReloaded === true && `+appIs("Synced", "Healthy")+` && `+depIs("Synced", "Healthy"))
	// The automated sync's state is written when it ends, which may be
	// after the Deployment is back.
	testenv.WaitFor(t, "the automated sync that healed it", time.Minute, func() bool {
		st := f.app(t, "wordpress").Status.OperationState
		return st != nil && st.Phase == sollv1.OperationSucceeded && st.Operation.InitiatedBy != nil && st.Operation.InitiatedBy.Automated
	})

	// Roll back to the first sync from the history (it pins), unpin.
	first := f.app(t, "wordpress").Status.History[0].ID
	b.run("roll back to the first sync", chromedp.Click(chromedp.CSS(`[data-history] form[action="/applications/wordpress/rollback"] input[name="id"][value="`+strconv.FormatInt(first, 10)+`"] ~ button`)))
	b.until("pinned", time.Minute, `window.notReloaded === true && document.querySelector('[data-field="pin"]').textContent.includes('(history entry `+strconv.FormatInt(first, 10)+`)')`)
	b.run("unpin", chromedp.Click(chromedp.ID("unpin-button")))
	b.until("unpinned", time.Minute, `document.querySelector('[data-field="pin"]').textContent.startsWith('Not pinned')`)
	if a := f.app(t, "wordpress"); a.Spec.Pin != nil {
		t.Errorf("still pinned after Unpin: %+v", a.Spec.Pin)
	}
	b.shot("reference-history")

	b.run("log out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.ID("username")))
	if got := strings.TrimSpace(b.text(".notice")); got != "You are logged out." {
		t.Errorf("after logout: %q", got)
	}
	if a := f.app(t, "wordpress"); a.Status.Sync == nil || a.Status.Sync.Status != sollv1.SyncStatusSynced {
		t.Errorf("wordpress at the end: %+v", a.Status.Sync)
	}
}
