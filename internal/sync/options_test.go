package sync_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"soll.dev/internal/resource"
	syncengine "soll.dev/internal/sync"
)

// TestObjectSyncOptions: every per-object option of soll and Argo CD is
// known, names and values in any case; anything else is reported, naming
// the object, the annotation and the entry, and ignored.
func TestObjectSyncOptions(t *testing.T) {
	for _, c := range []struct {
		annotations string
		option      string // asked for with ObjectSyncOption
		want        string // its value; "-": not set
		problems    []string
	}{{
		annotations: `{argocd.argoproj.io/sync-options: "Prune=false,Delete=false, PruneLast=true ,Replace=true,Force=true,ServerSideApply=true,ServerSideApply=false,Validate=false,SkipDryRunOnMissingResource=true,CreateNamespace=true,ClientSideApplyMigration=false"}`,
		option:      "Delete", want: "false",
	}, {
		annotations: `{soll.dev/sync-options: "prune=Confirm,delete=CONFIRM,AdoptExisting=true,"}`,
		option:      "Prune", want: "confirm",
	}, {
		annotations: `{soll.dev/sync-options: "Prun=false,Prune=flase,Replace"}`,
		option:      "Prune", want: "-",
		problems: []string{
			`ConfigMap apps/a: annotation soll.dev/sync-options: unknown sync option "Prun=false", ignored: the options are Prune, PruneLast, Delete, Replace, Force, AdoptExisting, ServerSideApply, ClientSideApplyMigration, Validate, SkipDryRunOnMissingResource, CreateNamespace`,
			`ConfigMap apps/a: annotation soll.dev/sync-options: sync option "Prune=flase", ignored: Prune takes true, false, confirm`,
			`ConfigMap apps/a: annotation soll.dev/sync-options: sync option "Replace", ignored: Replace takes true, false`,
		},
	}, {
		// soll's annotation wins over Argo CD's.
		annotations: `{soll.dev/sync-options: "PruneLast=false", argocd.argoproj.io/sync-options: "PruneLast=true,Typo=1"}`,
		option:      "PruneLast", want: "false",
	}} {
		obj := desired(t, cmYAML("a", "annotations: "+c.annotations))[0].Desired
		got, ok := syncengine.ObjectSyncOption(obj, c.option)
		if !ok {
			got = "-"
		}
		if got != c.want {
			t.Errorf("%s: %s = %q, want %q", c.annotations, c.option, got, c.want)
		}
		if problems := syncengine.SyncOptionProblems(obj); !slices.Equal(problems, c.problems) {
			t.Errorf("%s: problems:%s\nwant:%s", c.annotations, lines(problems), lines(c.problems))
		}
	}
}

// TestPlanObjectSyncOptions: what the per-object options do to an
// operation. An unknown option changes nothing and fails nothing.
func TestPlanObjectSyncOptions(t *testing.T) {
	cases := []struct {
		name    string
		desired []string
		live    []string
		opts    syncengine.Options
		want    []string
	}{{
		name:    "PruneLast=true prunes the object after every wave, the others in theirs",
		desired: []string{cmYAML("b", `annotations: {soll.dev/sync-wave: "1"}`), cmYAML("a", "")},
		live:    []string{cmYAML("late", `annotations: {argocd.argoproj.io/sync-options: PruneLast=true}`), cmYAML("x", "")},
		opts:    syncengine.Options{Prune: true},
		want: []string{
			"apply ConfigMap/a", "delete ConfigMap/x", "wait ConfigMap/a",
			"apply ConfigMap/b", "wait ConfigMap/b",
			"delete ConfigMap/late",
		},
	}, {
		name:    "PruneLast=false prunes the object in its wave despite the operation's PruneLast",
		desired: []string{cmYAML("b", `annotations: {soll.dev/sync-wave: "1"}`), cmYAML("a", "")},
		live:    []string{cmYAML("early", `annotations: {soll.dev/sync-options: PruneLast=false}`), cmYAML("x", "")},
		opts:    syncengine.Options{Prune: true, PruneLast: true},
		want: []string{
			"apply ConfigMap/a", "delete ConfigMap/early", "wait ConfigMap/a",
			"apply ConfigMap/b", "wait ConfigMap/b",
			"delete ConfigMap/x",
		},
	}, {
		name:    "unknown options and values are ignored",
		desired: []string{cmYAML("a", `annotations: {soll.dev/sync-options: "Prun=false,Replace=yes"}`)},
		live:    []string{cmYAML("x", `annotations: {soll.dev/sync-options: "Prune=flase"}`)},
		opts:    syncengine.Options{Prune: true},
		want:    []string{"apply ConfigMap/a", "delete ConfigMap/x"},
	}, {
		name:    "FailOnConflicts applies objects and hooks without force",
		desired: []string{preSyncJob, cmYAML("a", "")},
		opts:    syncengine.Options{FailOnConflicts: true},
		want:    []string{"apply --no-force Job/migrate", "wait Job/migrate", "delete Job/migrate", "apply --no-force ConfigMap/a"},
	}, {
		name:    "FailOnConflicts in a dry run",
		desired: []string{cmYAML("a", "")},
		opts:    syncengine.Options{FailOnConflicts: true, DryRun: true},
		want:    []string{"apply --no-force --dry-run ConfigMap/a"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeKube()
			res := fakeSync(f, append(desired(t, c.desired...), live(t, c.live...)...), c.opts)
			if !res.Succeeded {
				t.Fatalf("sync failed: %s\n%+v", res.Message, res.Objects)
			}
			checkCalls(t, f, c.want)
		})
	}
}

// TestPlanObjectReplace: Replace=true and Argo CD's Force=true on an
// object recreate it when the API server refuses a change of an immutable
// field, as the operation's Replace does; Replace=false on the object
// keeps the operation's Replace from it.
func TestPlanObjectReplace(t *testing.T) {
	immutable := apierrors.NewInvalid(schema.GroupKind{Group: "batch", Kind: "Job"}, "migrate",
		field.ErrorList{field.Invalid(field.NewPath("spec", "template"), "x", "field is immutable")})
	job := func(options string) string {
		return "apiVersion: batch/v1\nkind: Job\nmetadata: {name: migrate, annotations: {argocd.argoproj.io/sync-options: \"" + options + "\"}}"
	}
	for _, c := range []struct {
		options string
		replace bool // the operation's
		want    bool // recreated
	}{
		{options: "Replace=true", want: true},
		{options: "Force=true,Replace=true", want: true},
		{options: "Force=true", want: true},
		{options: "Replace=false", replace: true, want: false},
		{options: "Force=false", want: false},
	} {
		f := newFakeKube()
		obj := desired(t, job(c.options))
		f.put(obj[0].Desired)
		f.fail["apply Job/migrate"] = immutable
		e := &syncengine.Engine{Kube: &onceFailing{fakeKube: f}, Health: f}
		res := e.Sync(context.Background(), obj, syncengine.Options{Replace: c.replace, WaveTimeout: 5 * time.Second})
		want := []string{"apply Job/migrate"}
		if c.want {
			want = []string{"apply Job/migrate", "delete Job/migrate", "apply Job/migrate"}
		}
		if res.Succeeded != c.want || !slices.Equal(f.log(), want) {
			t.Errorf("%s (operation's replace %v): succeeded=%v %q, calls:%s\nwant:%s", c.options, c.replace, res.Succeeded, res.Message, lines(f.log()), lines(want))
		}
	}
}

// TestPlanConflictMessage: an apply without force that meets fields of
// other managers fails that object, with a message that names each
// manager with its fields and says what to do; the operation stops there
// as for any failed object.
func TestPlanConflictMessage(t *testing.T) {
	conflict := &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: 409, Reason: metav1.StatusReasonConflict,
		Message: `Apply failed with 3 conflicts: conflict with "kubectl-edit" using apps/v1: .spec.replicas ...`,
		Details: &metav1.StatusDetails{Name: "web", Group: "apps", Kind: "deployments", Causes: []metav1.StatusCause{
			{Type: metav1.CauseTypeFieldManagerConflict, Message: `conflict with "kubectl-edit" using apps/v1`, Field: ".spec.replicas"},
			{Type: metav1.CauseTypeFieldManagerConflict, Message: `conflict with "hpa-controller" with subresource "scale" using apps/v1`, Field: ".spec.template.spec.containers[name=\"app\"].image"},
			{Type: metav1.CauseTypeFieldManagerConflict, Message: `conflict with "kubectl-edit" using apps/v1`, Field: ".metadata.labels.team"},
		}},
	}}
	f := newFakeKube()
	f.fail["apply --no-force Deployment/web"] = conflict
	res := fakeSync(f, desired(t, deploymentYAML, cmYAML("a", `annotations: {soll.dev/sync-wave: "2"}`)), syncengine.Options{FailOnConflicts: true})
	checkCalls(t, f, []string{"apply --no-force Deployment/web"})
	want := `fields set by other field managers: .spec.replicas, .metadata.labels.team (field manager "kubectl-edit"); ` +
		`.spec.template.spec.containers[name="app"].image (field manager "hpa-controller"): soll does not take them over, ` +
		`since spec.syncPolicy.syncOptions.forceConflicts is false`
	if res.Succeeded || !strings.Contains(res.Message, want) {
		t.Errorf("sync: succeeded=%v %q\nwant the message to contain %q", res.Succeeded, res.Message, want)
	}
	if i := slices.IndexFunc(res.Objects, func(o syncengine.ObjectResult) bool { return o.Key.Name == "web" }); i < 0 ||
		res.Objects[i].Status != syncengine.ResultSyncFailed || !strings.HasPrefix(res.Objects[i].Message, want) {
		t.Errorf("result of Deployment/web: %+v", res.Objects)
	}
}

// liveKeeper is a LiveKeeper that sets data.k to "live:" and the value it
// saw in the live object, and records the keys it was asked about.
type liveKeeper struct{ keys []resource.Key }

func (k *liveKeeper) KeepLive(_ context.Context, key resource.Key, live, desired *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	k.keys = append(k.keys, key)
	v, _, _ := unstructured.NestedString(live.Object, "data", "k")
	out := desired.DeepCopy()
	_ = unstructured.SetNestedField(out.Object, "live:"+v, "data", "k")
	return out, nil
}

// TestPlanKeepLive: with KeepLive, each object applied is desired as the
// keeper changed it, given the live object read right before the apply
// (not the comparison's); new objects and hooks are applied as desired.
func TestPlanKeepLive(t *testing.T) {
	f := newFakeKube()
	in := desired(t, cmYAML("a", ""), cmYAML("new", ""), cmYAML("hook", `annotations: {soll.dev/hook: PreSync, soll.dev/hook-delete-policy: HookFailed}`))
	stale := in[0].Desired.DeepCopy()
	in[0].Live = stale // the comparison's, older than the cluster's
	current := in[0].Desired.DeepCopy()
	_ = unstructured.SetNestedField(current.Object, "scaled", "data", "k")
	f.put(current)
	var applied []*unstructured.Unstructured
	keeper := &liveKeeper{}
	res := fakeSync(f, in, syncengine.Options{KeepLive: keeper, OnApplied: func(d, _ *unstructured.Unstructured) { applied = append(applied, d) }})
	if !res.Succeeded {
		t.Fatalf("sync failed: %s", res.Message)
	}
	if want := []resource.Key{{Kind: "ConfigMap", Namespace: "apps", Name: "a"}}; !slices.Equal(keeper.keys, want) {
		t.Errorf("KeepLive asked about %v, want %v", keeper.keys, want)
	}
	for name, want := range map[string]string{"a": "live:scaled", "new": "v", "hook": "v"} {
		obj, _ := f.Get(context.Background(), schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, "apps", name)
		if got, _, _ := unstructured.NestedString(obj.Object, "data", "k"); got != want {
			t.Errorf("ConfigMap %s applied with data.k %q, want %q", name, got, want)
		}
	}
	// OnApplied gets what was applied, so a dry-run cache is seeded with
	// the object really sent.
	if len(applied) != 2 || applied[0].GetName() != "a" || applied[0].Object["data"].(map[string]any)["k"] != "live:scaled" {
		t.Errorf("OnApplied got %v", applied)
	}

	// A keeper's error fails that object.
	f = newFakeKube()
	f.put(current)
	boom := errors.New("jq expression failed")
	res = fakeSync(f, desired(t, cmYAML("a", "")), syncengine.Options{KeepLive: failingKeeper{boom}})
	if res.Succeeded || !strings.Contains(res.Message, boom.Error()) {
		t.Errorf("sync with a failing keeper: succeeded=%v %q", res.Succeeded, res.Message)
	}
	checkCalls(t, f, nil)
}

type failingKeeper struct{ err error }

func (k failingKeeper) KeepLive(context.Context, resource.Key, *unstructured.Unstructured, *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return nil, k.err
}
