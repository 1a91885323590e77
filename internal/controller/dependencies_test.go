package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
)

// dependsOn returns a mutation that makes an app automated and dependent
// on names.
func dependsOn(automated bool, names ...string) func(*sollv1.Application) {
	return func(a *sollv1.Application) {
		if automated {
			a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{Prune: true}}
		}
		for _, n := range names {
			a.Spec.DependsOn = append(a.Spec.DependsOn, sollv1.ApplicationDependency{Name: n})
		}
	}
}

func dependencies(a *sollv1.Application, reason, contains string) bool {
	c := condition(a, sollv1.ConditionDependenciesReady)
	return c != nil && c.Reason == reason && strings.Contains(c.Message, contains) &&
		(c.Status == metav1.ConditionTrue) == (reason == sollv1.ReasonSyncedAndHealthy)
}

// TestDependsOnChain syncs a chain crds → operator → instances from one
// commit, all automated and created in the reverse order: each app syncs
// only once the one it depends on is Synced and Healthy. The operator's
// Deployment becomes Available 3 s after it is ready (minReadySeconds),
// so instances synced too early would be created seconds before that.
func TestDependsOnChain(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{refreshInterval: time.Hour, files: map[string]string{
		"crds/cm.yaml":      configMapYAML("chain-crds", 0, map[string]string{"k": "v"}),
		"operator/dep.yaml": deploymentYAML("chain-operator", 0, 3),
		"instances/cm.yaml": configMapYAML("chain-instances", 0, map[string]string{"k": "v"}),
	}})
	h.createAppNamed("instances", "instances", dependsOn(true, "operator"))
	h.createAppNamed("operator", "operator", dependsOn(true, "crds"))
	h.waitForApp("instances", "instances waiting for operator", time.Minute, func(a *sollv1.Application) bool {
		return dependencies(a, sollv1.ReasonDependencyNotReady, "waiting for "+h.sollNS+"/operator")
	})
	h.waitForApp("operator", "operator refused for its missing dependency", time.Minute, func(a *sollv1.Application) bool {
		return dependencies(a, sollv1.ReasonDependencyMissing, "spec.dependsOn[0]: Application "+h.sollNS+"/crds does not exist")
	})
	h.createAppNamed("crds", "crds", dependsOn(true))

	for _, name := range []string{"crds", "operator", "instances"} {
		app := h.waitForApp(name, name+" Synced and Healthy", 2*time.Minute, syncedHealthy)
		if name != "crds" && !dependencies(app, sollv1.ReasonSyncedAndHealthy, "") {
			t.Errorf("%s: DependenciesReady %+v, want True", name, condition(app, sollv1.ConditionDependenciesReady))
		}
	}
	ctx := context.Background()
	var dep appsv1.Deployment
	if err := h.env.Client.Get(ctx, client.ObjectKey{Namespace: h.destNS, Name: "chain-operator"}, &dep); err != nil {
		t.Fatal(err)
	}
	var available metav1.Time
	for _, c := range dep.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			available = c.LastTransitionTime
		}
	}
	crds, instances := h.configMap("chain-crds"), h.configMap("chain-instances")
	if available.IsZero() || instances.CreationTimestamp.Before(&available) || dep.CreationTimestamp.Before(&crds.CreationTimestamp) {
		t.Errorf("out of order: crds created %s, operator created %s and available %s, instances created %s",
			crds.CreationTimestamp, dep.CreationTimestamp, available, instances.CreationTimestamp)
	}
}

// TestDependsOnHoldsSyncs: an app whose dependency is OutOfSync (manual
// sync) neither syncs automatically nor runs a requested sync, which stays
// requested; once the dependency is synced, both happen.
func TestDependsOnHoldsSyncs(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{refreshInterval: time.Hour, files: map[string]string{
		"base/cm.yaml": configMapYAML("hold-base", 0, map[string]string{"k": "v"}),
		"app/cm.yaml":  configMapYAML("hold-app", 0, map[string]string{"k": "v"}),
	}})
	h.createAppNamed("base", "base", dependsOn(false))
	h.createAppNamed("app", "app", dependsOn(true, "base"))
	h.waitForApp("app", "app waiting for base", time.Minute, func(a *sollv1.Application) bool {
		return dependencies(a, sollv1.ReasonDependencyNotReady, h.sollNS+"/base (OutOfSync)") && a.Status.Sync != nil && a.Status.Sync.Status == sollv1.SyncStatusOutOfSync
	})
	h.requestSyncOf("app")
	h.waitForApp("app", "the requested sync held", time.Minute, func(a *sollv1.Application) bool {
		return dependencies(a, sollv1.ReasonDependencyNotReady, "the requested sync is waiting for "+h.sollNS+"/base")
	})
	if app := h.appNamed("app"); app.Operation == nil || app.Status.OperationState != nil {
		t.Fatalf("the requested sync ran or was dropped while base is OutOfSync: %s", describe(app))
	}
	if err := h.env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.destNS, Name: "hold-app"}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Fatalf("hold-app was applied before its dependency: %v", err)
	}

	h.requestSyncOf("base")
	app := h.waitForApp("app", "app synced after base", time.Minute, func(a *sollv1.Application) bool {
		return syncedHealthy(a) && a.Operation == nil && dependencies(a, sollv1.ReasonSyncedAndHealthy, "")
	})
	if st := app.Status.OperationState; st == nil || st.Operation.InitiatedBy == nil || st.Operation.InitiatedBy.Username != "alice" {
		t.Errorf("the requested sync was not the one that ran: %+v", st)
	}
	h.configMap("hold-app")
}

// TestDependsOnCycleAndMissing: apps in a cycle each say so and never
// sync; a requested sync of an app whose dependency does not exist is
// refused with the reason, not left waiting.
func TestDependsOnCycleAndMissing(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{refreshInterval: time.Hour, files: map[string]string{
		"a/cm.yaml": configMapYAML("cycle-a", 0, map[string]string{"k": "v"}),
		"b/cm.yaml": configMapYAML("cycle-b", 0, map[string]string{"k": "v"}),
		"c/cm.yaml": configMapYAML("cycle-c", 0, map[string]string{"k": "v"}),
	}})
	h.createAppNamed("a", "a", dependsOn(true, "b"))
	h.createAppNamed("b", "b", dependsOn(true, "a"))
	h.createAppNamed("c", "c", dependsOn(false, "nope"))
	for _, tc := range []struct{ name, cycle string }{{"a", "/a → " + h.sollNS + "/b → " + h.sollNS + "/a"}, {"b", "/b → " + h.sollNS + "/a → " + h.sollNS + "/b"}} {
		app := h.waitForApp(tc.name, tc.name+" reports the cycle", time.Minute, func(a *sollv1.Application) bool {
			return dependencies(a, sollv1.ReasonDependencyCycle, h.sollNS+tc.cycle)
		})
		if app.Status.OperationState != nil {
			t.Errorf("%s synced in a cycle: %+v", tc.name, app.Status.OperationState)
		}
	}
	h.requestSyncOf("c")
	app := h.waitForApp("c", "the sync of c refused", time.Minute, func(a *sollv1.Application) bool {
		st := a.Status.OperationState
		return a.Operation == nil && st != nil && st.Phase == sollv1.OperationFailed
	})
	if c := condition(app, sollv1.ConditionOperationSucceeded); c == nil || c.Reason != sollv1.ReasonDependencyMissing ||
		!strings.Contains(c.Message, "sync refused: spec.dependsOn[0]: Application "+h.sollNS+"/nope does not exist") {
		t.Errorf("OperationSucceeded of c: %+v", c)
	}
	if !dependencies(app, sollv1.ReasonDependencyMissing, "/nope does not exist: create it, or remove the dependency") {
		t.Errorf("DependenciesReady of c: %+v", condition(app, sollv1.ConditionDependenciesReady))
	}
}

// TestDependsOnFailedDependencyBlocks: a dependency whose sync failed
// (its Deployment is refused by the API server) holds its dependant.
func TestDependsOnFailedDependencyBlocks(t *testing.T) {
	bad := strings.Replace(deploymentYAML("broken", 0, 0), "replicas: 1", "replicas: -1", 1)
	h := newHarnessWith(t, harnessOptions{refreshInterval: time.Hour, errorRetryInterval: time.Hour, files: map[string]string{
		"broken/dep.yaml": bad,
		"app/cm.yaml":     configMapYAML("after-broken", 0, map[string]string{"k": "v"}),
	}})
	h.createAppNamed("broken", "broken", dependsOn(true))
	h.createAppNamed("app", "app", dependsOn(true, "broken"))
	h.waitForApp("broken", "the sync of broken failed", time.Minute, func(a *sollv1.Application) bool {
		st := a.Status.OperationState
		return st != nil && st.Phase == sollv1.OperationFailed
	})
	h.waitForApp("app", "app held by the broken dependency", time.Minute, func(a *sollv1.Application) bool {
		return dependencies(a, sollv1.ReasonDependencyNotReady, "waiting for "+h.sollNS+"/broken (")
	})
	if app := h.appNamed("app"); app.Status.OperationState != nil {
		t.Errorf("app synced although its dependency fails: %s", describe(app))
	}
}

// TestDependsOnDeletionOrder deletes two apps together, one depending on
// the other: the one depended on keeps its objects until the dependant is
// gone, and says so.
func TestDependsOnDeletionOrder(t *testing.T) {
	held := strings.Replace(configMapYAML("dependant-cm", 0, map[string]string{"k": "v"}), "metadata:\n", "metadata:\n  finalizers: [test.soll.dev/hold]\n", 1)
	h := newHarnessWith(t, harnessOptions{refreshInterval: time.Hour, files: map[string]string{
		"base/cm.yaml":      configMapYAML("base-cm", 0, map[string]string{"k": "v"}),
		"dependant/cm.yaml": held,
	}})
	h.createAppNamed("base", "base", dependsOn(true))
	h.createAppNamed("dependant", "dependant", dependsOn(true, "base"))
	h.waitForApp("dependant", "dependant synced", 2*time.Minute, syncedHealthy)
	ctx := context.Background()
	for _, name := range []string{"dependant", "base"} {
		if err := h.env.Client.Delete(ctx, h.appNamed(name)); err != nil {
			t.Fatal(err)
		}
	}
	h.waitForApp("base", "base waiting for its dependant", time.Minute, func(a *sollv1.Application) bool {
		return a.Status.Deletion != nil && strings.Contains(a.Status.Deletion.Message, "waiting for the Applications that depend on it to be deleted first: "+h.sollNS+"/dependant")
	})
	h.configMap("base-cm") // still there

	// Let the dependant's object go: then the dependant, then base.
	cm := h.configMap("dependant-cm")
	patch := client.MergeFrom(cm.DeepCopy())
	cm.Finalizers = nil
	if err := h.env.Client.Patch(ctx, cm, patch); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := testenv.Eventually(wctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		err := h.env.Client.Get(ctx, client.ObjectKey{Namespace: h.sollNS, Name: "base"}, &sollv1.Application{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	}); err != nil {
		t.Fatalf("base never went after its dependant: %v", err)
	}
	if err := h.env.Client.Get(ctx, client.ObjectKey{Namespace: h.destNS, Name: "base-cm"}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Errorf("base-cm after base was deleted: %v", err)
	}
}
