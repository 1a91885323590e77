package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
)

// TestSyncDialog reads the sync dialog of an app that is out of sync
// (what would change, with the diff; the resources and options), runs a
// dry run of one resource from it and checks that the operation was the
// one the form asked for and changed nothing; a read-only user's dialog
// is disabled and the API refuses the form anyway.
func TestSyncDialog(t *testing.T) {
	f := start(t)
	f.createApp(t, "dlg", nil, nil)
	f.waitSync(t, "dlg", "OutOfSync")
	dest := f.app(t, "dlg").Spec.Destination.Namespace
	admin := f.browser(t)
	if p := admin.login("admin", f.adminPassword); p.status != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", p.status, p.body)
	}
	mustContain(t, "app page", admin.get("/applications/dlg"), `<a class="button" href="/applications/dlg/sync" id="sync-options">Sync with options</a>`)

	p := admin.get("/applications/dlg/sync")
	checkHeaders(t, "sync dialog", p)
	if p.status != http.StatusOK {
		t.Fatalf("sync dialog: %d\n%s", p.status, p.body)
	}
	key := "/ConfigMap/" + dest + "/greeting"
	mustContain(t, "sync dialog", p, "<h2 id=\"h-changes\">What a sync would change</h2>",
		"<strong>ConfigMap</strong> "+dest+"/greeting: <span class=\"st st-OutOfSync\">OutOfSync</span>",
		"<details><summary>Diff of ConfigMap greeting</summary><pre class=\"diff\">", "&#43;  text: hello",
		`<input type="checkbox" name="resource" value="`+key+`" aria-describedby="resources-help">`,
		`<input type="checkbox" name="dryRun">`, `<input type="checkbox" name="prune">`, `<input id="sync-revision" name="revision"`,
		`data-stream="/api/v1/stream/applications/dlg"`, `<tbody data-op-results>`)
	if strings.Contains(p.body, "disabled") {
		t.Error("the admin's sync dialog has a disabled control")
	}

	// A forged token, and a resource the form cannot have made.
	if q := admin.post("/applications/dlg/sync", url.Values{"csrf": {"AAAA"}, "dryRun": {"on"}}); q.status != http.StatusForbidden {
		t.Errorf("sync form with a forged token: %d, want 403", q.status)
	}
	if q := admin.post("/applications/dlg/sync", url.Values{"csrf": {p.csrf(t)}, "resource": {"ConfigMap/greeting"}}); q.status != http.StatusBadRequest ||
		!strings.Contains(q.body, "which is not group/kind/namespace/name") {
		t.Errorf("sync form with a bad resource: %d\n%s", q.status, q.body)
	}
	if a := f.app(t, "dlg"); a.Operation != nil || a.Status.OperationState != nil {
		t.Fatalf("a refused form started an operation: %+v %+v", a.Operation, a.Status.OperationState)
	}

	// The read-only user sees the form disabled with the reason; the
	// API refuses the form when sent anyway.
	viewerB := f.browser(t)
	if q := viewerB.login(viewer, viewerPassword); q.status != http.StatusSeeOther {
		t.Fatalf("viewer login: %d", q.status)
	}
	vp := viewerB.get("/applications/dlg/sync")
	mustContain(t, "viewer's sync dialog", vp, `<fieldset class="plain stack" disabled aria-describedby="sync-denied">`,
		"Sync is not available: You (viewer) may not sync applications of project default.", `id="terminate-button" disabled`)
	if q := viewerB.post("/applications/dlg/sync", url.Values{"csrf": {vp.csrf(t)}, "dryRun": {"on"}}); q.status != http.StatusForbidden {
		t.Errorf("the viewer's sync form: %d, want the API's 403", q.status)
	}

	// The dry run of the one resource, as the dialog sends it.
	q := admin.post("/applications/dlg/sync", url.Values{"csrf": {p.csrf(t)}, "dryRun": {"on"}, "prune": {"on"}, "resource": {key}, "revision": {""}})
	if q.status != http.StatusSeeOther || q.header.Get("Location") != "/applications/dlg?notice=dry-run" {
		t.Fatalf("dry run: %d to %q\n%s", q.status, q.header.Get("Location"), q.body)
	}
	testenv.WaitFor(t, "the dry run's end", 60*time.Second, func() bool {
		st := f.app(t, "dlg").Status.OperationState
		return st != nil && st.Phase == sollv1.OperationSucceeded
	})
	op := f.app(t, "dlg").Status.OperationState
	so := op.Operation.Sync
	if so == nil || !so.DryRun || !so.Prune || len(so.Resources) != 1 || so.Resources[0] != (sollv1.SyncOperationResource{Kind: "ConfigMap", Namespace: dest, Name: "greeting"}) {
		t.Fatalf("the operation run: %+v, want a dry run with prune of ConfigMap %s/greeting", so, dest)
	}
	err := f.env.Client.Get(context.Background(), client.ObjectKey{Namespace: dest, Name: "greeting"}, &corev1.ConfigMap{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("the dry run created the ConfigMap (get: %v)", err)
	}
	// The dialog shows the operation's result per resource.
	p = admin.get("/applications/dlg/sync")
	mustContain(t, "results", p, `<th scope="row">greeting</th>`)
	// Nothing runs: terminate is refused with the API's reason.
	if q := admin.post("/applications/dlg/terminate", url.Values{"csrf": {p.csrf(t)}}); q.status != http.StatusConflict || !strings.Contains(q.body, "has no running operation to terminate") {
		t.Errorf("terminate without an operation: %d\n%s", q.status, q.body)
	}
}
