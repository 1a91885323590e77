package v1alpha1_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/randfill"

	"soll.dev/api/v1alpha1"
)

func TestSchemeRegistersKinds(t *testing.T) {
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	for kind, obj := range map[string]runtime.Object{
		"Application":     &v1alpha1.Application{},
		"ApplicationList": &v1alpha1.ApplicationList{},
		"Project":         &v1alpha1.Project{},
		"ProjectList":     &v1alpha1.ProjectList{},
	} {
		gvks, _, err := s.ObjectKinds(obj)
		if err != nil {
			t.Errorf("%s: %v", kind, err)
			continue
		}
		want := schema.GroupVersionKind{Group: "soll.dev", Version: "v1alpha1", Kind: kind}
		if len(gvks) != 1 || gvks[0] != want {
			t.Errorf("%T registered as %v, want %v", obj, gvks, want)
		}
		if !s.Recognizes(want) {
			t.Errorf("scheme does not recognize %v", want)
		}
	}
	if got := v1alpha1.Resource("applications").String(); got != "applications.soll.dev" {
		t.Errorf("Resource(applications) = %q", got)
	}
}

// filled returns a new T with every pointer, slice and map populated with
// random content (fixed seed, so failures reproduce). New fields are
// covered without touching the test; TestFilledIsComplete checks that the
// filler really reaches every field.
func filled[T any](seed int64) *T {
	f := randfill.NewWithSeed(seed).NilChance(0).NumElements(1, 2).Funcs(
		// JSON carries times with second precision.
		func(t *metav1.Time, c randfill.Continue) {
			*t = metav1.NewTime(time.Unix(c.Int63n(4_000_000_000), 0).UTC())
		},
		func(d *metav1.Duration, c randfill.Continue) {
			d.Duration = time.Duration(c.Int63n(int64(1000 * time.Hour)))
		},
		// Raw must be compact JSON without HTML characters, which
		// encoding/json would escape.
		func(r *runtime.RawExtension, c randfill.Continue) {
			r.Raw = fmt.Appendf(nil, `{"replicaCount":%d,"image":{"tag":"v1.%d"}}`, c.Intn(10), c.Intn(100))
		},
		// Metadata is apimachinery's business; give it plain values.
		func(m *metav1.ObjectMeta, c randfill.Continue) {
			*m = metav1.ObjectMeta{
				Name: "wordpress", Namespace: "soll", Generation: 3,
				Labels: map[string]string{"team": c.String(5)},
			}
		},
		func(m *metav1.TypeMeta, c randfill.Continue) {},
	)
	v := new(T)
	f.Fill(v)
	return v
}

func TestFilledIsComplete(t *testing.T) {
	for _, obj := range []any{filled[v1alpha1.Application](1), filled[v1alpha1.Project](1)} {
		assertPopulated(t, reflect.TypeOf(obj).Elem().Name(), reflect.ValueOf(obj).Elem())
	}
}

// assertPopulated fails for every nil pointer and empty slice or map in v,
// not descending into other packages' types.
func assertPopulated(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			t.Errorf("%s is nil", path)
			return
		}
		assertPopulated(t, path, v.Elem())
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			t.Errorf("%s is empty", path)
		}
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Uint8 {
			for i := range v.Len() {
				assertPopulated(t, fmt.Sprintf("%s[%d]", path, i), v.Index(i))
			}
		}
	case reflect.Struct:
		if v.Type().PkgPath() != reflect.TypeFor[v1alpha1.Application]().PkgPath() {
			return
		}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				assertPopulated(t, path+"."+f.Name, v.Field(i))
			}
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for seed := range int64(20) {
		roundTrip(t, filled[v1alpha1.Application](seed))
		roundTrip(t, filled[v1alpha1.Project](seed))
	}
}

func roundTrip[T any](t *testing.T, in *T) {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("unmarshal %T: %v\n%s", in, err, b)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("%T changed in a JSON round trip (-before +after):\n%s", in, diff)
	}
}

func TestDeepCopyIsIndependent(t *testing.T) {
	for seed := range int64(5) {
		app := filled[v1alpha1.Application](seed)
		cp := app.DeepCopy()
		if diff := cmp.Diff(app, cp); diff != "" {
			t.Fatalf("DeepCopy differs (-original +copy):\n%s", diff)
		}
		assertNoSharedMemory(t, "Application", reflect.ValueOf(app), reflect.ValueOf(cp))

		proj := filled[v1alpha1.Project](seed)
		assertNoSharedMemory(t, "Project", reflect.ValueOf(proj), reflect.ValueOf(proj.DeepCopyObject()))
	}

	// The same, spelled out for a few fields that controllers mutate.
	app := filled[v1alpha1.Application](1)
	want := filled[v1alpha1.Application](1)
	cp := app.DeepCopy()
	cp.Spec.Sources[0].Helm.Parameters[0].Value = "changed"
	cp.Spec.Sources[0].Helm.ValuesObject.Raw[0] = '['
	cp.Spec.Sources[0].Kustomize.CommonLabels["new"] = "label"
	*cp.Spec.SyncPolicy.Automated.Enabled = !*cp.Spec.SyncPolicy.Automated.Enabled
	cp.Status.Conditions[0].Status = "changed"
	cp.Status.History = append(cp.Status.History[:0], v1alpha1.RevisionHistory{ID: 99})
	cp.Status.OperationState.SyncResult.Resources[0].Message = "changed"
	if diff := cmp.Diff(want, app); diff != "" {
		t.Errorf("changing the copy changed the original (-before +after):\n%s", diff)
	}
}

// assertNoSharedMemory fails when a and b (of the same type) share a
// pointer, slice backing array or map, which would let a change to one show
// in the other. Unexported fields (time.Time's location) are immutable and
// skipped.
func assertNoSharedMemory(t *testing.T, path string, a, b reflect.Value) {
	t.Helper()
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s: copy shares the pointer", path)
			return
		}
		assertNoSharedMemory(t, path, a.Elem(), b.Elem())
	case reflect.Interface:
		if !a.IsNil() && !b.IsNil() {
			assertNoSharedMemory(t, path, a.Elem(), b.Elem())
		}
	case reflect.Slice:
		if a.Len() == 0 || b.Len() == 0 {
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s: copy shares the slice", path)
			return
		}
		for i := range min(a.Len(), b.Len()) {
			assertNoSharedMemory(t, fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i))
		}
	case reflect.Map:
		if a.Len() == 0 || b.Len() == 0 {
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s: copy shares the map", path)
			return
		}
		for _, k := range a.MapKeys() {
			if bv := b.MapIndex(k); bv.IsValid() {
				assertNoSharedMemory(t, fmt.Sprintf("%s[%v]", path, k), a.MapIndex(k), bv)
			}
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if f := a.Type().Field(i); f.IsExported() {
				assertNoSharedMemory(t, path+"."+f.Name, a.Field(i), b.Field(i))
			}
		}
	}
}
