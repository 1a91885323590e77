package sync_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	gosync "sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"soll.dev/internal/health"
	syncengine "soll.dev/internal/sync"
)

// fakeKube is an in-memory cluster for the engine: it keeps the objects
// applied and created, and records every apply, create, delete and health
// check, in order, as "verb Kind/name" ("apply --dry-run ConfigMap/a",
// "create Job/smoke-1", "delete ConfigMap/b", "wait Deployment/web"). Gets
// are not recorded: the engine polls with them.
type fakeKube struct {
	mu      gosync.Mutex
	objects map[string]*unstructured.Unstructured // by ref
	calls   []string
	// fail makes the call of a "verb Kind/name" fail with the error.
	fail map[string]error
	// health is the health of objects by "Kind/name"; Healthy when unset.
	health    map[string]health.Result
	generated int
	uids      int
}

func newFakeKube() *fakeKube {
	return &fakeKube{objects: map[string]*unstructured.Unstructured{}, fail: map[string]error{}, health: map[string]health.Result{}}
}

func ref(kind, name string) string { return kind + "/" + name }

func storeKey(kind, namespace, name string) string { return kind + " " + namespace + "/" + name }

// call records verb on Kind/name and returns the error set for it.
func (f *fakeKube) call(verb, kind, name string) error {
	c := verb + " " + ref(kind, name)
	f.calls = append(f.calls, c)
	return f.fail[c]
}

// put stores a copy of obj as live, with a UID.
func (f *fakeKube) put(obj *unstructured.Unstructured) *unstructured.Unstructured {
	live := obj.DeepCopy()
	if live.GetUID() == "" {
		f.uids++
		live.SetUID(types.UID(fmt.Sprintf("uid-%d", f.uids)))
	}
	f.objects[storeKey(live.GetKind(), live.GetNamespace(), live.GetName())] = live
	return live.DeepCopy()
}

func (f *fakeKube) Apply(_ context.Context, obj *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	return f.apply(obj, dryRun, "apply")
}

// ApplyNoForce is recorded as "apply --no-force Kind/name".
func (f *fakeKube) ApplyNoForce(_ context.Context, obj *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	return f.apply(obj, dryRun, "apply --no-force")
}

func (f *fakeKube) apply(obj *unstructured.Unstructured, dryRun bool, verb string) (*unstructured.Unstructured, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if dryRun {
		verb += " --dry-run"
	}
	if err := f.call(verb, obj.GetKind(), obj.GetName()); err != nil {
		return nil, err
	}
	if dryRun {
		return obj.DeepCopy(), nil
	}
	return f.put(obj), nil
}

func (f *fakeKube) Create(_ context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	created := obj.DeepCopy()
	if created.GetName() == "" {
		f.generated++
		created.SetName(fmt.Sprintf("%s%d", created.GetGenerateName(), f.generated))
	}
	if err := f.call("create", created.GetKind(), created.GetName()); err != nil {
		return nil, err
	}
	return f.put(created), nil
}

func (f *fakeKube) Get(_ context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if live, ok := f.objects[storeKey(gvk.Kind, namespace, name)]; ok {
		return live.DeepCopy(), nil
	}
	return nil, nil
}

func (f *fakeKube) Delete(_ context.Context, gvk schema.GroupVersionKind, namespace, name string, _ metav1.DeletionPropagation, uid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("delete", gvk.Kind, name); err != nil {
		return err
	}
	k := storeKey(gvk.Kind, namespace, name)
	if live, ok := f.objects[k]; ok && (uid == "" || string(live.GetUID()) == uid) {
		delete(f.objects, k)
	}
	return nil
}

// List returns the objects of gvk's kind in namespace whose labels match
// selector; like Get, it is not recorded.
func (f *fakeKube) List(_ context.Context, gvk schema.GroupVersionKind, namespace, selector string) ([]unstructured.Unstructured, error) {
	sel, err := labels.Parse(selector)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []unstructured.Unstructured
	for _, o := range f.objects {
		if o.GetKind() == gvk.Kind && o.GetNamespace() == namespace && sel.Matches(labels.Set(o.GetLabels())) {
			out = append(out, *o.DeepCopy())
		}
	}
	slices.SortFunc(out, func(a, b unstructured.Unstructured) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out, nil
}

// Check is the engine's health checker: it records the wait and answers
// with the health set for the object.
func (f *fakeKube) Check(obj *unstructured.Unstructured) (health.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = f.call("wait", obj.GetKind(), obj.GetName())
	if h, ok := f.health[ref(obj.GetKind(), obj.GetName())]; ok {
		return h, nil
	}
	return health.Result{Status: health.Healthy}, nil
}

// has reports whether Kind/name exists in namespace ns.
func (f *fakeKube) has(kind, ns, name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.objects[storeKey(kind, ns, name)]
	return ok
}

// log returns the calls so far.
func (f *fakeKube) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// engine returns an engine on f.
func (f *fakeKube) engine() *syncengine.Engine {
	return &syncengine.Engine{Kube: f, Health: f}
}

var (
	_ syncengine.Kube          = (*fakeKube)(nil)
	_ syncengine.HealthChecker = (*fakeKube)(nil)
)

// lines joins calls one a line, for failure messages that stay readable.
func lines(calls []string) string { return "\n\t" + strings.Join(calls, "\n\t") }
