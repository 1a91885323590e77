package diff

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"soll.dev/internal/resource"
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

// answerKube answers dry runs with answer(desired, live) for the live
// object it is told about, and counts them.
type answerKube struct {
	calls  atomic.Int64
	live   *unstructured.Unstructured
	answer func(live *unstructured.Unstructured) *unstructured.Unstructured
}

func (k *answerKube) Apply(_ context.Context, _ *unstructured.Unstructured, _ bool) (*unstructured.Unstructured, error) {
	k.calls.Add(1)
	return k.answer(k.live), nil
}

// owners sets the managedFields of obj: manager -> fieldsV1.
func owners(t *testing.T, obj *unstructured.Unstructured, rv string, entries ...[2]string) *unstructured.Unstructured {
	t.Helper()
	o := obj.DeepCopy()
	o.SetResourceVersion(rv)
	var mf []any
	for _, e := range entries {
		var fields map[string]any
		if err := yaml.Unmarshal([]byte(e[1]), &fields); err != nil {
			t.Fatal(err)
		}
		mf = append(mf, map[string]any{"manager": e[0], "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": fields, "time": "2026-11-26T10:00:0" + rv + "Z"})
	}
	if err := unstructured.SetNestedSlice(o.Object, mf, "metadata", "managedFields"); err != nil {
		t.Fatal(err)
	}
	return o
}

// TestDryRunCacheKeepsAnAnswerWhileItsFieldsStay: an object in sync stays
// in sync, without a dry run, while only fields of other managers change;
// a change of a field soll owns, or an answer that would take a field
// over or found drift, gets dry runs again.
func TestDryRunCacheKeepsAnAnswerWhileItsFieldsStay(t *testing.T) {
	desired := mustObj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: n}, data: {k: v, x: "1"}}`)
	sollFields := `{f:data: {f:k: {}, f:x: {}}}`
	base := desired.DeepCopy()
	base.SetUID("u1")
	applied := owners(t, base, "1", [2]string{"soll", sollFields})
	// Another controller annotates the object (as the Deployment
	// controller sets its revision).
	annotated := owners(t, applied, "2", [2]string{"soll", sollFields}, [2]string{"kcm", `{f:metadata: {f:annotations: {f:rev: {}}}}`})
	annotated.SetAnnotations(map[string]string{"rev": "1"})
	// Someone edits a field soll owns: soll's entry loses it.
	edited := owners(t, annotated, "3", [2]string{"soll", `{f:data: {f:k: {}}}`}, [2]string{"kubectl-edit", `{f:data: {f:x: {}}}`})
	_ = unstructured.SetNestedField(edited.Object, "2", "data", "x")

	kube := &answerKube{}
	d := &Differ{Kube: kube, Cache: &DryRunCache{Manager: "soll", m: map[resource.Key]cacheEntry{}, max: 10}}
	diff := func(live *unstructured.Unstructured) Status {
		kube.live = live
		return d.Diff(context.Background(), []Item{{Desired: desired, Live: live}})[0].Status
	}
	// The dry-run answer: the live object with soll's fields at their
	// desired values and soll owning them.
	kube.answer = func(live *unstructured.Unstructured) *unstructured.Unstructured {
		out := live.DeepCopy()
		_ = unstructured.SetNestedField(out.Object, "1", "data", "x")
		var mf []any
		for _, e := range out.GetManagedFields() {
			if e.Manager != "soll" {
				b, _ := json.Marshal(e)
				var m map[string]any
				_ = json.Unmarshal(b, &m)
				mf = append(mf, m)
			}
		}
		mf = append(mf, owners(t, out, "9", [2]string{"soll", sollFields}).Object["metadata"].(map[string]any)["managedFields"].([]any)...)
		_ = unstructured.SetNestedSlice(out.Object, mf, "metadata", "managedFields")
		return out
	}

	d.Cache.Seed(desired, applied)
	if s := diff(annotated); s != Synced || kube.calls.Load() != 0 {
		t.Fatalf("another manager's annotation: %s after %d dry runs, want Synced after none", s, kube.calls.Load())
	}
	if s := diff(edited); s != OutOfSync || kube.calls.Load() != 1 {
		t.Fatalf("a field soll owns edited: %s after %d dry runs, want OutOfSync after 1", s, kube.calls.Load())
	}
	// Still drifted, and another manager changes something else: the
	// drift must not be hidden, so this costs a dry run.
	edited2 := edited.DeepCopy()
	edited2.SetResourceVersion("4")
	edited2.SetAnnotations(map[string]string{"rev": "2"})
	if s := diff(edited2); s != OutOfSync || kube.calls.Load() != 2 {
		t.Fatalf("drifted, then annotated: %s after %d dry runs, want OutOfSync after 2", s, kube.calls.Load())
	}

	// In sync by value, but the apply would take x over from another
	// manager: a later change of x by that manager must still be seen.
	shared := owners(t, base, "5", [2]string{"soll", `{f:data: {f:k: {}}}`}, [2]string{"helm", `{f:data: {f:x: {}}}`})
	if s := diff(shared); s != Synced || kube.calls.Load() != 3 {
		t.Fatalf("in sync by value: %s after %d dry runs, want Synced after 3", s, kube.calls.Load())
	}
	moved := shared.DeepCopy()
	moved.SetResourceVersion("6")
	_ = unstructured.SetNestedField(moved.Object, "2", "data", "x")
	if s := diff(moved); s != OutOfSync || kube.calls.Load() != 4 {
		t.Fatalf("a field soll would take over changed: %s after %d dry runs, want OutOfSync after 4", s, kube.calls.Load())
	}
}
