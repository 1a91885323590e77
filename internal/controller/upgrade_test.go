package controller_test

import (
	"context"
	"io"
	"slices"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/config/install"
	"soll.dev/internal/testenv"
)

var (
	applicationsResource = schema.GroupVersionResource{Group: "soll.dev", Version: "v1alpha1", Resource: "applications"}
	projectsResource     = schema.GroupVersionResource{Group: "soll.dev", Version: "v1alpha1", Resource: "projects"}
)

// installPreviousCRDs installs the previous release's CRDs as its `soll
// install --apply` did or, with byHelm, as `helm install` does: created
// (not applied) by the field manager helm, so that the upgrade's apply
// finds every field owned by another manager.
func installPreviousCRDs(t *testing.T, env *testenv.Env, byHelm bool) {
	t.Helper()
	if !byHelm {
		env.InstallPreviousCRDs(t)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	crds := testenv.PreviousCRDs(t)
	for _, u := range crds {
		if err := env.Client.Create(ctx, u, client.FieldOwner("helm")); err != nil {
			t.Fatalf("create the previous CRD %s: %v", u.GetName(), err)
		}
	}
	// Helm waits for them too, before it creates anything else.
	for _, u := range crds {
		if err := install.WaitEstablished(ctx, env.Client, u.GetName()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUpgradeKeepsApplications installs the previous release's CRDs into a
// private cluster (the shared one keeps the current CRDs), stores a
// Project and Applications as that release wrote them (a spec field since
// removed, history, a retired condition and an operation in flight), then
// upgrades with the install code path of `soll install --apply`. Every
// object is still there with its spec (minus the removed field), history
// and operation; the controller then resumes the operation and compares
// both Applications to Synced. The previous CRDs come from `soll install
// --apply` or from the Helm chart's first install.
func TestUpgradeKeepsApplications(t *testing.T) {
	for _, previous := range []string{"soll install", "helm install"} {
		t.Run("from "+previous, func(t *testing.T) { testUpgrade(t, previous == "helm install") })
	}
}

func testUpgrade(t *testing.T, byHelm bool) {
	start := time.Now()
	env := testenv.NewCluster(t, 1)
	t.Logf("private cluster up in %s", time.Since(start).Round(time.Millisecond))
	files := map[string]string{
		"settled/cm.yaml":  configMapYAML("settled", 0, map[string]string{"k": "v"}),
		"inflight/cm.yaml": configMapYAML("inflight", 0, map[string]string{"k": "v"}),
	}
	oldRevision := "0123456789abcdef0123456789abcdef01234567"
	deployedAt := metav1.NewTime(time.Now().Add(-time.Hour).Truncate(time.Second))
	h := newHarnessWith(t, harnessOptions{env: env, files: files, installCRDs: func(t *testing.T, env *testenv.Env) {
		installPreviousCRDs(t, env, byHelm)
	}, beforeStart: func(h *harness) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		dyn := env.Dynamic
		createUnstructured(ctx, t, dyn, projectsResource, h.sollNS, map[string]any{
			"apiVersion": "soll.dev/v1alpha1", "kind": "Project",
			"metadata": map[string]any{"name": "team"},
			"spec": map[string]any{
				"description":  "the team's apps",
				"sourceRepos":  []any{"*"},
				"destinations": []any{map[string]any{"server": "*", "namespace": "*"}},
			},
		}, nil)
		history := []any{map[string]any{
			"id": int64(0), "revisions": []any{oldRevision}, "deployedAt": deployedAt.UTC().Format(time.RFC3339),
		}}
		for _, name := range []string{"settled", "inflight"} {
			status := map[string]any{
				"history": history,
				"conditions": []any{map[string]any{
					"type": "SyncError", "status": "True", "reason": "SyncFailed", "message": "written by the previous release",
					"lastTransitionTime": deployedAt.UTC().Format(time.RFC3339),
				}},
			}
			if name == "inflight" {
				status["operationState"] = map[string]any{
					"operation": map[string]any{
						"sync":        map[string]any{"syncOptions": map[string]any{"failOnSharedResource": true}},
						"initiatedBy": map[string]any{"username": "alice"},
					},
					"phase": "Running", "message": "applying", "startedAt": time.Now().UTC().Format(time.RFC3339),
				}
			}
			app := createUnstructured(ctx, t, dyn, applicationsResource, h.sollNS, map[string]any{
				"apiVersion": "soll.dev/v1alpha1", "kind": "Application",
				"metadata": map[string]any{"name": name, "finalizers": []any{sollv1.ResourcesFinalizer}},
				"spec": map[string]any{
					"project": "team",
					"source": map[string]any{
						"repoURL": h.git.HTTPURL(h.repo), "targetRevision": "main", "path": name,
						"credentialsRef": map[string]any{"name": "git-creds"},
					},
					"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": h.destNS},
					"syncPolicy": map[string]any{
						"automated":   map[string]any{"prune": true},
						"syncOptions": map[string]any{"failOnSharedResource": true, "createNamespace": false},
					},
				},
			}, status)
			// The previous release stored the field that is gone now.
			if v, ok, _ := unstructured.NestedBool(app.Object, "spec", "syncPolicy", "syncOptions", "failOnSharedResource"); !ok || !v {
				t.Fatalf("the previous CRDs did not store spec.syncPolicy.syncOptions.failOnSharedResource of %s: %v", name, app.Object["spec"])
			}
		}

		// The upgrade: the current install, as soll install --apply applies it.
		objs, err := install.Objects(install.Options{Namespace: "soll", Image: "registry.example/soll:next"})
		if err != nil {
			t.Fatal(err)
		}
		upgradeStart := time.Now()
		if err := install.Apply(ctx, env.Client, objs, io.Discard); err != nil {
			t.Fatalf("upgrade: %v", err)
		}
		t.Logf("upgrade applied in %s", time.Since(upgradeStart).Round(time.Millisecond))
		checkUpgradedCRDs(ctx, t, env)
		checkUpgradedObjects(ctx, t, h, oldRevision)
	}})

	for _, name := range []string{"settled", "inflight"} {
		app := h.waitForApp(name, "Synced with the operation done", 2*time.Minute, func(a *sollv1.Application) bool {
			st := a.Status.OperationState
			return a.Status.Sync != nil && a.Status.Sync.Status == sollv1.SyncStatusSynced &&
				st != nil && st.Phase == sollv1.OperationSucceeded
		})
		if slices.ContainsFunc(app.Status.Conditions, func(c metav1.Condition) bool { return c.Type == "SyncError" }) {
			t.Errorf("%s: the retired SyncError condition is still there: %+v", name, app.Status.Conditions)
		}
		if len(app.Status.History) == 0 || app.Status.History[0].ID != 0 || !slices.Equal(app.Status.History[0].Revisions, []string{oldRevision}) {
			t.Errorf("%s: the history before the upgrade is lost: %+v", name, app.Status.History)
		}
		if name == "inflight" {
			if by := app.Status.OperationState.Operation.InitiatedBy; by == nil || by.Username != "alice" {
				t.Errorf("inflight: the operation in flight was not the one resumed: initiated by %+v", by)
			}
		}
	}
}

func createUnstructured(ctx context.Context, t *testing.T, dyn dynamic.Interface, gvr schema.GroupVersionResource, ns string, obj, status map[string]any) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{Object: obj}
	created, err := dyn.Resource(gvr).Namespace(ns).Create(ctx, u, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create %s %s: %v", u.GetKind(), u.GetName(), err)
	}
	if status == nil {
		return created
	}
	created.Object["status"] = status
	updated, err := dyn.Resource(gvr).Namespace(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("write status of %s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return updated
}

// checkUpgradedCRDs checks the CRDs are the current ones, served and
// stored as v1alpha1.
func checkUpgradedCRDs(ctx context.Context, t *testing.T, env *testenv.Env) {
	t.Helper()
	for _, name := range []string{"applications.soll.dev", "projects.soll.dev"} {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, &crd); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(crd.Status.StoredVersions, []string{"v1alpha1"}) {
			t.Errorf("CRD %s: stored versions %v, want [v1alpha1]", name, crd.Status.StoredVersions)
		}
		if name != "applications.soll.dev" {
			continue
		}
		props := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["syncPolicy"].Properties["syncOptions"].Properties
		if _, ok := props["failOnSharedResource"]; ok {
			t.Errorf("CRD %s still has spec.syncPolicy.syncOptions.failOnSharedResource: the upgrade did not replace it", name)
		}
		if _, ok := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["status"].Properties["deletion"]; !ok {
			t.Errorf("CRD %s has no status.deletion: the upgrade did not replace it", name)
		}
	}
}

// checkUpgradedObjects checks the Project and Applications stored by the
// previous release read back whole, minus the removed field, and take
// updates.
func checkUpgradedObjects(ctx context.Context, t *testing.T, h *harness, oldRevision string) {
	t.Helper()
	var proj sollv1.Project
	if err := h.env.Client.Get(ctx, client.ObjectKey{Namespace: h.sollNS, Name: "team"}, &proj); err != nil {
		t.Fatalf("Project team after the upgrade: %v", err)
	}
	if proj.Spec.Description != "the team's apps" || !slices.Equal(proj.Spec.SourceRepos, []string{"*"}) || len(proj.Spec.Destinations) != 1 {
		t.Errorf("Project team changed in the upgrade: %+v", proj.Spec)
	}
	for _, name := range []string{"settled", "inflight"} {
		u, err := h.env.Dynamic.Resource(applicationsResource).Namespace(h.sollNS).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("Application %s after the upgrade: %v", name, err)
		}
		opts, _, _ := unstructured.NestedMap(u.Object, "spec", "syncPolicy", "syncOptions")
		if _, ok := opts["failOnSharedResource"]; ok {
			t.Errorf("%s: the removed field is still served: spec.syncPolicy.syncOptions = %v", name, opts)
		}
		if v, ok := opts["createNamespace"]; !ok || v != false {
			t.Errorf("%s: spec.syncPolicy.syncOptions.createNamespace lost in the upgrade: %v", name, opts)
		}
		var app sollv1.Application
		if err := h.env.Client.Get(ctx, client.ObjectKey{Namespace: h.sollNS, Name: name}, &app); err != nil {
			t.Fatalf("Application %s does not decode after the upgrade: %v", name, err)
		}
		if app.Spec.Project != "team" || app.Spec.Source == nil || app.Spec.Source.Path != name ||
			app.Spec.Destination.Namespace != h.destNS || app.Spec.SyncPolicy == nil || app.Spec.SyncPolicy.Automated == nil {
			t.Errorf("%s: spec changed in the upgrade: %s", name, describe(&app))
		}
		if len(app.Status.History) != 1 || app.Status.History[0].ID != 0 || !slices.Equal(app.Status.History[0].Revisions, []string{oldRevision}) {
			t.Errorf("%s: history changed in the upgrade: %+v", name, app.Status.History)
		}
		if !slices.ContainsFunc(app.Status.Conditions, func(c metav1.Condition) bool { return c.Type == "SyncError" }) {
			t.Errorf("%s: status conditions changed in the upgrade, before any controller ran: %+v", name, app.Status.Conditions)
		}
		if name == "inflight" {
			st := app.Status.OperationState
			if st == nil || st.Phase != sollv1.OperationRunning || st.Operation.Sync == nil || st.Operation.InitiatedBy == nil || st.Operation.InitiatedBy.Username != "alice" {
				t.Errorf("inflight: the operation in flight changed in the upgrade: %+v", st)
			}
			if _, ok, _ := unstructured.NestedFieldNoCopy(u.Object, "status", "operationState", "operation", "sync", "syncOptions", "failOnSharedResource"); ok {
				t.Errorf("inflight: the removed field is still served in status.operationState")
			}
		}
		// An object stored by the previous release takes an update.
		app.Labels = map[string]string{"upgraded": "true"}
		if err := h.env.Client.Update(ctx, &app); err != nil {
			t.Errorf("update %s after the upgrade: %v", name, err)
		}
	}
}
