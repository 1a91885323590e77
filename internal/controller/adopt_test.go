package controller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/resource"
)

// TestExistingObjectsNeedConsent: an object of the sources that already
// exists, created by another field manager, is not taken over: the app
// reports it in the ExistingResource condition, and its sync is refused
// before anything is applied. adoptExisting on the app, or the object's
// own AdoptExisting sync option, lets soll adopt it.
func TestExistingObjectsNeedConsent(t *testing.T) {
	adoptable := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  annotations:\n    soll.dev/sync-options: AdoptExisting=true\ndata:\n  k: from-git\n"
	h := newHarnessWith(t, harnessOptions{files: map[string]string{
		"app/existing.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: existing\ndata:\n  k: from-git\n",
		"app/annotated.yaml": strings.ReplaceAll(adoptable, "%s", "annotated"),
		"app/fresh.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fresh\ndata:\n  k: from-git\n",
		"one/single.yaml":    strings.ReplaceAll(adoptable, "%s", "single"),
	}})
	ctx := context.Background()
	for _, name := range []string{"existing", "annotated", "single"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.destNS}, Data: map[string]string{"k": "by-hand"}}
		if _, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).Create(ctx, cm, metav1.CreateOptions{FieldManager: "other-tool"}); err != nil {
			t.Fatal(err)
		}
	}
	untouched := func(name string) {
		t.Helper()
		cm := h.configMap(name)
		if cm.Data["k"] != "by-hand" {
			t.Errorf("ConfigMap %s was changed: data %v", name, cm.Data)
		}
		if v, ok := cm.Annotations[resource.TrackingAnnotation]; ok {
			t.Errorf("ConfigMap %s was taken over: tracking annotation %q", name, v)
		}
	}

	h.createAppNamed("app", "app", nil)
	app := h.waitForApp("app", "the existing object reported", time.Minute, func(a *sollv1.Application) bool {
		c := condition(a, sollv1.ConditionExistingResource)
		return c != nil && c.Status == metav1.ConditionTrue
	})
	msg := condition(app, sollv1.ConditionExistingResource).Message
	for _, want := range []string{
		"ConfigMap " + h.destNS + "/existing exists in the cluster and soll does not manage it (field managers: other-tool)",
		"spec.syncPolicy.syncOptions.adoptExisting: true",
		"soll.dev/sync-options: AdoptExisting=true",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("condition %q\ndoes not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "/annotated") {
		t.Errorf("condition %q names an object whose sources allow adopting it", msg)
	}
	if rs := resourceStatus(app, "ConfigMap", "existing"); rs == nil || rs.Status != sollv1.SyncStatusOutOfSync {
		t.Errorf("the existing object's status: %+v", rs)
	}

	h.requestSyncOf("app")
	app = h.waitForApp("app", "the sync refused", time.Minute, func(a *sollv1.Application) bool {
		st := a.Status.OperationState
		return st != nil && st.Phase == sollv1.OperationFailed
	})
	if m := app.Status.OperationState.Message; !strings.Contains(m, "nothing was applied") || !strings.Contains(m, "/existing exists in the cluster") {
		t.Errorf("operation message %q does not say why nothing was applied", m)
	}
	untouched("existing")
	untouched("annotated")
	if _, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).Get(ctx, "fresh", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a refused sync applied another object (get: %v)", err)
	}

	// The object's own sync option adopts it.
	h.createAppNamed("one", "one", func(a *sollv1.Application) {
		a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}}
	})
	h.waitForApp("one", "the annotated object adopted", time.Minute, syncedHealthy)
	adopted := func(name string) {
		t.Helper()
		cm := h.configMap(name)
		if cm.Data["k"] != "from-git" || !strings.HasPrefix(cm.Annotations[resource.TrackingAnnotation], h.sollNS+"/") {
			t.Errorf("ConfigMap %s was not adopted: data %v, annotations %v", name, cm.Data, cm.Annotations)
		}
	}
	adopted("single")

	// The app's sync option adopts everything.
	app = h.appNamed("app")
	patch := client.MergeFrom(app.DeepCopy())
	app.Spec.SyncPolicy = &sollv1.SyncPolicy{SyncOptions: &sollv1.SyncOptions{AdoptExisting: true}}
	if err := h.env.Client.Patch(ctx, app, patch); err != nil {
		t.Fatal(err)
	}
	h.requestSyncOf("app")
	app = h.waitForApp("app", "synced after opting in", time.Minute, func(a *sollv1.Application) bool {
		st := a.Status.OperationState
		return st != nil && st.Phase == sollv1.OperationSucceeded && syncedHealthy(a)
	})
	if c := condition(app, sollv1.ConditionExistingResource); c != nil {
		t.Errorf("condition after adopting: %+v", c)
	}
	adopted("existing")
	adopted("annotated")
	adopted("fresh")
}

// TestHooksDoNotReplaceExistingObjects: a hook named like an object that
// soll did not create neither deletes nor overwrites it (hooks are
// recreated, BeforeHookCreation by default); the sync fails saying so. Its
// own earlier run is replaced as before.
func TestHooksDoNotReplaceExistingObjects(t *testing.T) {
	hook := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  annotations:\n    soll.dev/hook: PreSync\ndata:\n  k: from-git\n"
	h := newHarnessWith(t, harnessOptions{files: map[string]string{
		"app/hook.yaml": strings.ReplaceAll(hook, "%s", "taken"),
		"app/cm.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  k: from-git\n",
		"own/hook.yaml": strings.ReplaceAll(hook, "%s", "own-hook"),
	}})
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "taken", Namespace: h.destNS}, Data: map[string]string{"k": "by-hand"}}
	created, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).Create(ctx, cm, metav1.CreateOptions{FieldManager: "other-tool"})
	if err != nil {
		t.Fatal(err)
	}
	h.createAppNamed("app", "app", nil)
	h.requestSyncOf("app")
	app := h.waitForApp("app", "the sync failed", time.Minute, func(a *sollv1.Application) bool {
		st := a.Status.OperationState
		return st != nil && st.Phase == sollv1.OperationFailed
	})
	if m := app.Status.OperationState.Message; !strings.Contains(m, "ConfigMap "+h.destNS+"/taken exists in the cluster and this hook did not create it") {
		t.Errorf("operation message %q does not name the existing object", m)
	}
	if got := h.configMap("taken"); got.UID != created.UID || got.Data["k"] != "by-hand" {
		t.Errorf("the existing object was replaced: uid %s (was %s), data %v", got.UID, created.UID, got.Data)
	}

	// A hook replaces what its own earlier run left.
	h.createAppNamed("own", "own", nil)
	for i := range 2 {
		h.requestSyncOf("own")
		h.waitForApp("own", fmt.Sprintf("sync %d succeeded", i+1), time.Minute, func(a *sollv1.Application) bool {
			st := a.Status.OperationState
			return st != nil && st.Phase == sollv1.OperationSucceeded && a.Operation == nil && len(a.Status.History) == i+1
		})
	}
}
