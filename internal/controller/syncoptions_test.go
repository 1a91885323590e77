package controller_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

// webYAML is a Deployment web with replicas and image tag.
func webYAML(replicas int, tag string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: %d
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: "web:%s"}]}
`, replicas, tag)
}

// commitAndCompare commits files and waits until app name has compared
// the new commit.
func (h *harness) commitAndCompare(name, msg string, files map[string]string) string {
	h.t.Helper()
	rev := h.git.Commit(h.t, h.repo, gitserver.DefaultBranch, gitserver.Change{Message: msg, Files: files})
	h.setAnnotationOf(name, sollv1.RefreshAnnotation, "hard")
	h.waitForApp(name, "compared "+msg, time.Minute, func(a *sollv1.Application) bool {
		return a.Status.Sync != nil && a.Status.Sync.Revision == rev
	})
	return rev
}

// syncApp requests a sync of app name and waits for it to fail, or to
// succeed as the n-th entry of status.history; it returns the app. The
// controller records the operation Running before it takes the request
// from spec.operation, so once the request is gone, the phase is the new
// operation's.
func (h *harness) syncApp(name string, n int) *sollv1.Application {
	h.t.Helper()
	h.requestSyncOf(name)
	return h.waitForApp(name, fmt.Sprintf("sync %d ended", n), 2*time.Minute, func(a *sollv1.Application) bool {
		st := a.Status.OperationState
		return a.Operation == nil && st != nil &&
			(st.Phase == sollv1.OperationFailed || st.Phase == sollv1.OperationSucceeded && len(a.Status.History) == n)
	})
}

// TestRespectIgnoreDifferences: with respectIgnoreDifferences, a sync
// leaves the replicas that ignoreDifferences ignores as they are: when
// the sources change them (soll set them before: leaving them out of the
// apply would reset them to 1), and when an autoscaler changed them;
// without it, the sync applies the replicas of the sources.
func TestRespectIgnoreDifferences(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{files: map[string]string{"app/web.yaml": webYAML(2, "1")}})
	ctx := context.Background()
	h.createAppNamed("app", "app", func(a *sollv1.Application) {
		a.Spec.IgnoreDifferences = []sollv1.ResourceIgnoreDifferences{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}}
		a.Spec.SyncPolicy = &sollv1.SyncPolicy{SyncOptions: &sollv1.SyncOptions{RespectIgnoreDifferences: true}}
	})
	deployment := func() (replicas int32, image string) {
		t.Helper()
		d, err := h.env.Kube.AppsV1().Deployments(h.destNS).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image
	}
	expect := func(step string, app *sollv1.Application, replicas int32, image string) {
		t.Helper()
		if st := app.Status.OperationState; st.Phase != sollv1.OperationSucceeded {
			t.Fatalf("%s: sync %s: %s", step, st.Phase, st.Message)
		}
		if r, img := deployment(); r != replicas || img != image {
			t.Errorf("%s: replicas %d, image %s; want %d, %s", step, r, img, replicas, image)
		}
	}
	expect("first sync", h.syncApp("app", 1), 2, "web:1")

	h.commitAndCompare("app", "3 replicas, image 2", map[string]string{"app/web.yaml": webYAML(3, "2")})
	expect("the sources change replicas", h.syncApp("app", 2), 2, "web:2")

	// An autoscaler scales through the scale subresource.
	scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: h.destNS}, Spec: autoscalingv1.ScaleSpec{Replicas: 5}}
	if _, err := h.env.Kube.AppsV1().Deployments(h.destNS).UpdateScale(ctx, "web", scale, metav1.UpdateOptions{FieldManager: "autoscaler"}); err != nil {
		t.Fatal(err)
	}
	h.commitAndCompare("app", "image 3", map[string]string{"app/web.yaml": webYAML(3, "3")})
	app := h.syncApp("app", 3)
	expect("scaled by an autoscaler", app, 5, "web:3")
	if app.Status.Sync.Status != sollv1.SyncStatusSynced {
		t.Errorf("the app is %s after the sync, want Synced (replicas are ignored)", app.Status.Sync.Status)
	}

	// Without the option, the sync applies the sources' replicas.
	app = h.appNamed("app")
	patch := client.MergeFrom(app.DeepCopy())
	app.Spec.SyncPolicy.SyncOptions.RespectIgnoreDifferences = false
	if err := h.env.Client.Patch(ctx, app, patch); err != nil {
		t.Fatal(err)
	}
	expect("without respectIgnoreDifferences", h.syncApp("app", 4), 3, "web:3")
}

// TestForceConflictsOff: with forceConflicts false, a field someone
// changed with another field manager fails the sync of its object, the
// operation's message naming the field and the manager, and the field
// keeps its value; forceConflicts on (the default) takes it back.
func TestForceConflictsOff(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{files: map[string]string{
		"app/settings.yaml": configMapYAML("settings", 0, map[string]string{"mode": "prod", "level": "info"}),
	}})
	ctx := context.Background()
	off := false
	h.createAppNamed("app", "app", func(a *sollv1.Application) {
		a.Spec.SyncPolicy = &sollv1.SyncPolicy{SyncOptions: &sollv1.SyncOptions{ForceConflicts: &off}}
	})
	if st := h.syncApp("app", 1).Status.OperationState; st.Phase != sollv1.OperationSucceeded {
		t.Fatalf("first sync %s: %s", st.Phase, st.Message)
	}
	_, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).Patch(ctx, "settings", types.MergePatchType,
		[]byte(`{"data":{"mode":"debug"}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"})
	if err != nil {
		t.Fatal(err)
	}
	app := h.syncApp("app", 2)
	st := app.Status.OperationState
	want := `.data.mode (field manager "kubectl-edit"): soll does not take them over, since spec.syncPolicy.syncOptions.forceConflicts is false`
	if st.Phase != sollv1.OperationFailed || !strings.Contains(st.Message, "ConfigMap "+h.destNS+"/settings") || !strings.Contains(st.Message, want) {
		t.Errorf("sync %s: %q\nwant a failure naming ConfigMap settings and %q", st.Phase, st.Message, want)
	}
	if st.SyncResult == nil || !slices.ContainsFunc(st.SyncResult.Resources, func(r sollv1.ResourceResult) bool {
		return r.Name == "settings" && r.Status == sollv1.ResultCode("SyncFailed") && strings.Contains(r.Message, want)
	}) {
		t.Errorf("the sync result should fail ConfigMap settings: %+v", st.SyncResult)
	}
	if m := h.configMap("settings").Data["mode"]; m != "debug" {
		t.Errorf("the refused sync set mode %q", m)
	}

	app = h.appNamed("app")
	patch := client.MergeFrom(app.DeepCopy())
	app.Spec.SyncPolicy.SyncOptions.ForceConflicts = nil
	if err := h.env.Client.Patch(ctx, app, patch); err != nil {
		t.Fatal(err)
	}
	if st := h.syncApp("app", 2).Status.OperationState; st.Phase != sollv1.OperationSucceeded {
		t.Fatalf("sync with forceConflicts on: %s: %s", st.Phase, st.Message)
	}
	if m := h.configMap("settings").Data["mode"]; m != "prod" {
		t.Errorf("after a sync with forceConflicts on, mode is %q", m)
	}
}

// TestObjectSyncOptionsOnDeleteAndUnknown: a sync option soll does not
// know is reported in the UnknownSyncOption condition and a Warning event,
// naming the object and the entry, and the app syncs all the same.
// Deleting the app with its resources keeps the objects with Delete=false
// and Delete=confirm, each named in an event, and deletes the others.
func TestObjectSyncOptionsOnDeleteAndUnknown(t *testing.T) {
	withOptions := func(name, annotation, options string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  annotations:\n    %s: %q\ndata:\n  k: v\n", name, annotation, options)
	}
	h := newHarnessWith(t, harnessOptions{files: map[string]string{
		"app/keep.yaml":  withOptions("keep", "argocd.argoproj.io/sync-options", "Delete=false,ServerSideApply=true"),
		"app/ask.yaml":   withOptions("ask", "soll.dev/sync-options", "Delete=confirm"),
		"app/typo.yaml":  withOptions("typo", "soll.dev/sync-options", "Prune=false,Prun=true"),
		"app/plain.yaml": configMapYAML("plain", 0, map[string]string{"k": "v"}),
	}})
	ctx := context.Background()
	h.createAppNamed("app", "app", func(a *sollv1.Application) {
		a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}}
	})
	app := h.waitForApp("app", "synced with the unknown option reported", 2*time.Minute, func(a *sollv1.Application) bool {
		return syncedHealthy(a) && condition(a, sollv1.ConditionUnknownSyncOption) != nil
	})
	c := condition(app, sollv1.ConditionUnknownSyncOption)
	want := `ConfigMap ` + h.destNS + `/typo: annotation soll.dev/sync-options: unknown sync option "Prun=true", ignored`
	if c.Status != metav1.ConditionTrue || !strings.HasPrefix(c.Message, want) || strings.Contains(c.Message, "/keep") {
		t.Errorf("condition %s=%s: %q\nwant it to start with %q, and to name nothing else", c.Type, c.Status, c.Message, want)
	}
	events := h.events(ctx, func(e eventsv1.Event) bool { return e.Reason == "UnknownSyncOption" })
	for _, e := range events {
		if e.Type != "Warning" || !strings.HasPrefix(e.Note, want) {
			t.Errorf("event UnknownSyncOption %s: %q", e.Type, e.Note)
		}
	}

	if err := h.env.Client.Delete(ctx, app); err != nil {
		t.Fatal(err)
	}
	err := testenv.Eventually(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		err := h.env.Client.Get(ctx, client.ObjectKeyFromObject(app), &sollv1.Application{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if err != nil {
		t.Fatalf("the application was not deleted: %v", err)
	}
	for name, kept := range map[string]bool{"keep": true, "ask": true, "typo": false, "plain": false} {
		_, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).Get(ctx, name, metav1.GetOptions{})
		if kept && err != nil || !kept && !apierrors.IsNotFound(err) {
			t.Errorf("ConfigMap %s: kept %v, want kept %v (%v)", name, err == nil, kept, err)
		}
	}
	kept := h.events(ctx, func(e eventsv1.Event) bool { return e.Reason == "ResourceKept" })
	for name, typ := range map[string]string{"keep": "Normal", "ask": "Warning"} {
		prefix := "ConfigMap " + h.destNS + "/" + name + " is left in the cluster"
		if !slices.ContainsFunc(kept, func(e eventsv1.Event) bool { return e.Type == typ && strings.HasPrefix(e.Note, prefix) }) {
			t.Errorf("no %s event ResourceKept %q...: %+v", typ, prefix, kept)
		}
	}
}

// events lists the events of soll's namespace that match, waiting a while
// for one to come: events are written asynchronously.
func (h *harness) events(ctx context.Context, match func(eventsv1.Event) bool) []eventsv1.Event {
	h.t.Helper()
	var out []eventsv1.Event
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := testenv.Eventually(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		l, err := h.env.Kube.EventsV1().Events(h.sollNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		out = slices.DeleteFunc(l.Items, func(e eventsv1.Event) bool { return !match(e) })
		return len(out) > 0, nil
	})
	if err != nil {
		h.t.Errorf("waiting for events: %v", err)
	}
	return out
}
