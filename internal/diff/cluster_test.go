package diff_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"soll.dev/internal/diff"
	"soll.dev/internal/kube"
	"soll.dev/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func manifest(t *testing.T, ns, s string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(s), &u.Object); err != nil {
		t.Fatal(err)
	}
	u.SetNamespace(ns)
	return u
}

// setup returns the cluster, a namespace of the test's own, a context for
// the test and a client.
func setup(t *testing.T) (*testenv.Env, string, context.Context, *kube.Client) {
	t.Helper()
	env := testenv.Cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	kc, err := kube.New(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return env, testenv.Namespace(t), ctx, kc
}

// TestDiffAgainstCluster runs the differ against a real API server: defaults
// are not drift, a missing object is Missing, an edit by another field
// manager is OutOfSync and attributed to it, and Secret values never show.
func TestDiffAgainstCluster(t *testing.T) {
	env, ns, ctx, kc := setup(t)
	dep := manifest(t, ns, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: "web:1"}]}
`)
	secret := manifest(t, ns, `{apiVersion: v1, kind: Secret, metadata: {name: db}, stringData: {password: hunter2-from-git}}`)
	d := &diff.Differ{Kube: kc, Reread: func(ctx context.Context, o *unstructured.Unstructured) (*unstructured.Unstructured, error) {
		return kc.Get(ctx, o.GroupVersionKind(), o.GetNamespace(), o.GetName())
	}}

	// Nothing applied yet: both Missing.
	res := d.Diff(ctx, []diff.Item{{Desired: dep}, {Desired: secret}})
	for _, r := range res {
		if r.Status != diff.Missing || r.Err != nil {
			t.Fatalf("%s: status %s err %v, want Missing", r.Key, r.Status, r.Err)
		}
	}
	if strings.Contains(res[1].Diff, "hunter2") {
		t.Fatalf("diff of a missing Secret leaks its value:\n%s", res[1].Diff)
	}

	// Applied: the API server adds many defaults (strategy, probes,
	// terminationMessagePath, ...); none of them count as drift.
	var live []*unstructured.Unstructured
	for _, o := range []*unstructured.Unstructured{dep, secret} {
		l, err := kc.Apply(ctx, o, false)
		if err != nil {
			t.Fatal(err)
		}
		live = append(live, l)
	}
	res = d.Diff(ctx, []diff.Item{{Desired: dep, Live: live[0]}, {Desired: secret, Live: live[1]}})
	for _, r := range res {
		if r.Status != diff.Synced {
			t.Fatalf("%s right after apply: %s, want Synced; diff:\n%s", r.Key, r.Status, r.Diff)
		}
	}

	// Someone scales and edits the Deployment with another field manager.
	patch := []byte(`{"spec":{"replicas":5,"template":{"spec":{"containers":[{"name":"app","image":"web:hotfix"}]}}}}`)
	edited, err := env.Dynamic.Resource(deploymentsGVR).Namespace(ns).Patch(ctx, "web", types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-edit"})
	if err != nil {
		t.Fatal(err)
	}
	res = d.Diff(ctx, []diff.Item{{Desired: dep, Live: edited}})
	r := res[0]
	if r.Status != diff.OutOfSync {
		t.Fatalf("after kubectl edit: %s, want OutOfSync", r.Status)
	}
	var drift []string
	for _, dr := range r.Drift {
		drift = append(drift, dr.String())
	}
	want := "spec.replicas changed by kubectl-edit; spec.template.spec.containers[0].image changed by kubectl-edit"
	if strings.Join(drift, "; ") != want {
		t.Errorf("drift = %q, want %q", strings.Join(drift, "; "), want)
	}
	if !strings.Contains(r.Diff, "-  replicas: 5") || !strings.Contains(r.Diff, "+  replicas: 2") {
		t.Errorf("diff does not show the replica change:\n%s", r.Diff)
	}

	// Leaving replicas to the editor (like an HPA) removes that drift only.
	ig, err := diff.NewIgnorer([]diff.IgnoreRule{{Group: "apps", Kind: "Deployment", ManagedFieldsManagers: []string{"kubectl-edit"}}})
	if err != nil {
		t.Fatal(err)
	}
	d.Ignore = ig
	if r := d.Diff(ctx, []diff.Item{{Desired: dep, Live: edited}})[0]; r.Status != diff.Synced {
		t.Errorf("with the editor's fields ignored: %s, want Synced; diff:\n%s", r.Status, r.Diff)
	}
	d.Ignore = nil

	// A changed Secret value shows as changed, never as text.
	changed := secret.DeepCopy()
	_ = unstructured.SetNestedField(changed.Object, "new-password-value", "stringData", "password")
	r = d.Diff(ctx, []diff.Item{{Desired: changed, Live: live[1]}})[0]
	if r.Status != diff.OutOfSync {
		t.Fatalf("changed secret: %s, want OutOfSync", r.Status)
	}
	for _, leak := range []string{"new-password-value", "hunter2"} {
		if strings.Contains(r.Diff, leak) {
			t.Errorf("diff leaks %q:\n%s", leak, r.Diff)
		}
	}
}

var deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// countingApplies counts the dry runs the differ makes.
type countingApplies struct {
	*kube.Client
	dryRuns int
}

func (c *countingApplies) Apply(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	if dryRun {
		c.dryRuns++
	}
	return c.Client.Apply(ctx, obj, dryRun)
}

// TestDryRunCacheAgainstCluster checks the dry-run cache's ownership
// shortcut against a real API server's managedFields: another manager's
// annotation costs no dry run, and an edit of a field soll owns, or of
// one soll's apply would only take over, is still seen.
func TestDryRunCacheAgainstCluster(t *testing.T) {
	env, ns, ctx, kc := setup(t)
	counting := &countingApplies{Client: kc}
	cache := diff.NewDryRunCache(0)
	cache.Manager = kube.FieldManager
	d := &diff.Differ{Kube: counting, Cache: cache}
	cms := env.Dynamic.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(ns)
	patch := func(manager, body string) *unstructured.Unstructured {
		t.Helper()
		out, err := cms.Patch(ctx, "cfg", types.MergePatchType, []byte(body), metav1.PatchOptions{FieldManager: manager})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	check := func(what string, desired, live *unstructured.Unstructured, want diff.Status, dryRuns int) {
		t.Helper()
		counting.dryRuns = 0
		if r := d.Diff(ctx, []diff.Item{{Desired: desired, Live: live}})[0]; r.Status != want || r.Err != nil || counting.dryRuns != dryRuns {
			t.Errorf("%s: %s (err %v) after %d dry runs, want %s after %d; diff:\n%s", what, r.Status, r.Err, counting.dryRuns, want, dryRuns, r.Diff)
		}
	}

	desired := manifest(t, ns, `{apiVersion: v1, kind: ConfigMap, metadata: {name: cfg}, data: {k: v}}`)
	applied, err := kc.Apply(ctx, desired, false)
	if err != nil {
		t.Fatal(err)
	}
	cache.Seed(desired, applied)
	check("right after the apply", desired, applied, diff.Synced, 0)
	annotated := patch("annotator", `{"metadata":{"annotations":{"rev":"1"}}}`)
	check("annotated by another manager", desired, annotated, diff.Synced, 0)
	edited := patch("kubectl-edit", `{"data":{"k":"edited"}}`)
	check("a field soll owns edited", desired, edited, diff.OutOfSync, 1)
	check("still edited, unchanged", desired, edited, diff.OutOfSync, 0)
	edited = patch("annotator", `{"metadata":{"annotations":{"rev":"2"}}}`)
	check("still edited, annotated again", desired, edited, diff.OutOfSync, 1)

	// Another manager sets x; then soll's desired state gains x at that
	// same value: in sync, but soll does not own x yet.
	restored, err := kc.Apply(ctx, desired, false)
	if err != nil {
		t.Fatal(err)
	}
	cache.Seed(desired, restored)
	withX := patch("helm", `{"data":{"x":"1"}}`)
	desiredX := manifest(t, ns, `{apiVersion: v1, kind: ConfigMap, metadata: {name: cfg}, data: {k: v, x: "1"}}`)
	check("x already at its desired value", desiredX, withX, diff.Synced, 1)
	movedX := patch("helm", `{"data":{"x":"2"}}`)
	check("x changed by its manager", desiredX, movedX, diff.OutOfSync, 1)
}
