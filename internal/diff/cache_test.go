package diff

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// countingKube answers dry runs with the desired object and counts them.
type countingKube struct{ calls atomic.Int64 }

func (k *countingKube) Apply(_ context.Context, obj *unstructured.Unstructured, _ bool) (*unstructured.Unstructured, error) {
	k.calls.Add(1)
	return obj.DeepCopy(), nil
}

func TestDryRunCacheSkipsUnchanged(t *testing.T) {
	kube := &countingKube{}
	d := &Differ{Kube: kube, Cache: NewDryRunCache(0)}
	desired := mustObj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: n}, data: {k: v}}`)
	live := desired.DeepCopy()
	live.SetResourceVersion("1")
	live.SetUID("u1")

	for i := 0; i < 3; i++ {
		if r := d.Diff(context.Background(), []Item{{Desired: desired, Live: live}})[0]; r.Status != Synced {
			t.Fatalf("status %s", r.Status)
		}
	}
	if n := kube.calls.Load(); n != 1 {
		t.Fatalf("%d dry runs for an unchanged object, want 1", n)
	}
	// Only the status and bookkeeping changed (a controller's status
	// update): the answer stands.
	statusOnly := live.DeepCopy()
	statusOnly.SetResourceVersion("2")
	statusOnly.SetGeneration(3)
	_ = unstructured.SetNestedField(statusOnly.Object, "Ready", "status", "phase")
	_ = unstructured.SetNestedSlice(statusOnly.Object, []any{map[string]any{"manager": "kcm", "operation": "Update", "time": "2026-11-26T00:00:00Z"}}, "metadata", "managedFields")
	timeOnly := statusOnly.DeepCopy()
	timeOnly.SetResourceVersion("3")
	_ = unstructured.SetNestedSlice(timeOnly.Object, []any{map[string]any{"manager": "kcm", "operation": "Update", "time": "2026-11-26T00:05:00Z"}}, "metadata", "managedFields")
	d.Diff(context.Background(), []Item{{Desired: desired, Live: statusOnly}})
	calls := kube.calls.Load()
	d.Diff(context.Background(), []Item{{Desired: desired, Live: timeOnly}})
	if n := kube.calls.Load(); n != calls {
		t.Fatalf("a status update with new times: %d dry runs, want %d", n, calls)
	}
	// The same version again: the answer stands, without hashing it.
	d.Diff(context.Background(), []Item{{Desired: desired, Live: timeOnly}})
	if n := kube.calls.Load(); n != calls {
		t.Fatalf("the same version: %d dry runs, want %d", n, calls)
	}
	// The live content changed: a new dry run.
	live2 := timeOnly.DeepCopy()
	live2.SetResourceVersion("4")
	_ = unstructured.SetNestedField(live2.Object, "edited", "data", "other")
	d.Diff(context.Background(), []Item{{Desired: desired, Live: live2}})
	if n := kube.calls.Load(); n != calls+1 {
		t.Fatalf("live change: %d dry runs, want %d", n, calls+1)
	}
	// Another field manager: a new dry run (ownership decides what an
	// apply removes).
	owners := live2.DeepCopy()
	owners.SetResourceVersion("5")
	_ = unstructured.SetNestedSlice(owners.Object, []any{map[string]any{"manager": "kubectl-edit", "operation": "Update"}}, "metadata", "managedFields")
	d.Diff(context.Background(), []Item{{Desired: desired, Live: owners}})
	if n := kube.calls.Load(); n != calls+2 {
		t.Fatalf("new field manager: %d dry runs, want %d", n, calls+2)
	}
	calls += 2
	// The desired object changed: a new dry run, and the diff shows it.
	desired2 := desired.DeepCopy()
	_ = unstructured.SetNestedField(desired2.Object, "w", "data", "k")
	if r := d.Diff(context.Background(), []Item{{Desired: desired2, Live: live2}})[0]; r.Status != OutOfSync {
		t.Fatalf("changed desired object: %s", r.Status)
	}
	if n := kube.calls.Load(); n != calls+1 {
		t.Fatalf("desired change: %d dry runs, want %d", n, calls+1)
	}
	d.Cache.Forget()
	d.Diff(context.Background(), []Item{{Desired: desired2, Live: live2}})
	if n := kube.calls.Load(); n != calls+2 {
		t.Fatalf("after Forget: %d dry runs, want %d", n, calls+2)
	}
}

func TestMissingObjectsCostNoDryRun(t *testing.T) {
	kube := &countingKube{}
	d := &Differ{Kube: kube, Cache: NewDryRunCache(0)}
	desired := mustObj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: n}, data: {k: v}}`)
	if r := d.Diff(context.Background(), []Item{{Desired: desired}})[0]; r.Status != Missing || r.Err != nil || r.Diff == "" {
		t.Fatalf("missing object: status %s, err %v, diff %q", r.Status, r.Err, r.Diff)
	}
	if n := kube.calls.Load(); n != 0 {
		t.Fatalf("%d dry runs for a missing object, want 0", n)
	}
}

func TestSeededApplySkipsTheNextDryRun(t *testing.T) {
	kube := &countingKube{}
	d := &Differ{Kube: kube, Cache: NewDryRunCache(0)}
	desired := mustObj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: n}, data: {k: v}}`)
	applied := desired.DeepCopy()
	applied.SetResourceVersion("7")
	applied.SetUID("u1")
	d.Cache.Seed(desired, applied)
	if r := d.Diff(context.Background(), []Item{{Desired: desired, Live: applied.DeepCopy()}})[0]; r.Status != Synced {
		t.Fatalf("status %s after a seeded apply", r.Status)
	}
	if n := kube.calls.Load(); n != 0 {
		t.Fatalf("%d dry runs after a seeded apply, want 0", n)
	}
	later := applied.DeepCopy()
	later.SetResourceVersion("8")
	later.SetLabels(map[string]string{"edited": "by-hand"})
	d.Diff(context.Background(), []Item{{Desired: desired, Live: later}})
	if n := kube.calls.Load(); n != 1 {
		t.Fatalf("%d dry runs once the object changed, want 1", n)
	}
}

// racingKube simulates another controller that writes the object once
// more after each of the first writes reads: every dry run sees a
// version one ahead of what the last reread returned.
type racingKube struct {
	mu      sync.Mutex
	version int
	writes  int // writes still to come
}

func (k *racingKube) object(obj *unstructured.Unstructured) *unstructured.Unstructured {
	o := obj.DeepCopy()
	o.SetResourceVersion(strconv.Itoa(k.version))
	o.SetAnnotations(map[string]string{"revision": strconv.Itoa(k.version)})
	return o
}

func (k *racingKube) Apply(_ context.Context, obj *unstructured.Unstructured, _ bool) (*unstructured.Unstructured, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.writes > 0 {
		k.writes--
		k.version++
	}
	return k.object(obj), nil
}

func (k *racingKube) reread(_ context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.object(obj), nil
}

func TestRereadWhileAnotherControllerWrites(t *testing.T) {
	desired := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "a", "namespace": "n"}}}
	for _, tc := range []struct {
		writes int
		want   Status
	}{
		{writes: 0, want: Synced},
		{writes: 2, want: Synced},                     // the controller wrote twice: settles within the attempts
		{writes: rereadAttempts + 1, want: OutOfSync}, // never settles: bounded, reported as is
	} {
		kube := &racingKube{version: 1, writes: tc.writes}
		live, _ := kube.reread(context.Background(), desired)
		d := &Differ{Kube: kube, Reread: kube.reread}
		if got := d.Diff(context.Background(), []Item{{Desired: desired, Live: live}})[0].Status; got != tc.want {
			t.Errorf("%d concurrent writes: %s, want %s", tc.writes, got, tc.want)
		}
	}
}
