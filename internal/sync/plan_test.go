package sync_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"soll.dev/internal/health"
	"soll.dev/internal/resource"
	syncengine "soll.dev/internal/sync"
)

// The tests in this file run the engine against fakeKube: no cluster, no
// waiting. With Concurrency 1 a step's applies happen in plan order, so
// each test states the exact sequence of applies, creates, deletes and
// health waits.

// cmYAML is a ConfigMap named name with extra metadata (a flow mapping's
// inside, such as `annotations: {soll.dev/sync-wave: "1"}`).
func cmYAML(name, meta string) string {
	if meta != "" {
		meta = ", " + meta
	}
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + meta + "}\ndata: {k: v}"
}

// desired is the objects of docs, desired.
func desired(t *testing.T, docs ...string) []syncengine.Object {
	t.Helper()
	var out []syncengine.Object
	for _, o := range parse(t, docs) {
		out = append(out, syncengine.Object{Desired: o})
	}
	return out
}

// live is the objects of docs as prune candidates: live, no longer desired.
func live(t *testing.T, docs ...string) []syncengine.Object {
	t.Helper()
	var out []syncengine.Object
	for _, o := range parse(t, docs) {
		out = append(out, syncengine.Object{Live: o})
	}
	return out
}

// parse decodes docs, in namespace apps when they are namespaced.
func parse(t *testing.T, docs []string) []*unstructured.Unstructured {
	t.Helper()
	if len(docs) == 0 {
		return nil
	}
	return objs(t, "apps", strings.Join(docs, "\n---\n"))
}

// fakeSync runs one operation on f, one apply at a time, with a short
// wave timeout (the fake answers at once; nothing here waits for it).
func fakeSync(f *fakeKube, in []syncengine.Object, opts syncengine.Options) syncengine.Result {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if opts.Concurrency == 0 {
		opts.Concurrency = 1
	}
	if opts.WaveTimeout == 0 {
		opts.WaveTimeout = 5 * time.Second
	}
	return f.engine().Sync(ctx, in, opts)
}

func checkCalls(t *testing.T, f *fakeKube, want []string) {
	t.Helper()
	if got := f.log(); !slices.Equal(got, want) {
		t.Errorf("calls:%s\nwant:%s", lines(got), lines(want))
	}
}

// checkResults fails the test unless res reports the results want (see
// status).
func checkResults(t *testing.T, res syncengine.Result, want []string) {
	t.Helper()
	if got := status(res); !slices.Equal(got, want) {
		t.Errorf("results:%s\nwant:%s", lines(got), lines(want))
	}
}

// status is one line per result of res: "phase Kind/name status [hook phase]".
func status(res syncengine.Result) []string {
	var out []string
	for _, o := range res.Objects {
		s := string(o.Phase) + " " + o.Key.Kind + "/" + o.Key.Name + " " + o.Status
		if o.Hook {
			s += " " + o.HookPhase
		}
		out = append(out, s)
	}
	return out
}

const (
	preSyncJob = `apiVersion: batch/v1
kind: Job
metadata: {name: migrate, annotations: {soll.dev/hook: PreSync, soll.dev/hook-delete-policy: HookSucceeded}}`
	postSyncJob = `apiVersion: batch/v1
kind: Job
metadata: {generateName: smoke-, annotations: {argocd.argoproj.io/hook: PostSync}}`
	syncFailCM = `apiVersion: v1
kind: ConfigMap
metadata: {name: on-fail, annotations: {soll.dev/hook: SyncFail}}`
	namespaceYAML = `apiVersion: v1
kind: Namespace
metadata: {name: apps}`
	crdYAML = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}`
	widgetYAML = `apiVersion: example.com/v1
kind: Widget
metadata: {name: w}`
	deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, annotations: {argocd.argoproj.io/sync-wave: "1"}}`
	serviceYAML = `apiVersion: v1
kind: Service
metadata: {name: web}`
	serviceAccountYAML = `apiVersion: v1
kind: ServiceAccount
metadata: {name: web}`
	secretYAML = `apiVersion: v1
kind: Secret
metadata: {name: early, annotations: {soll.dev/sync-wave: "-1"}}`
)

// TestPlanOrder covers how an operation orders its work: phases, then
// waves, then (inside a wave) namespaces and CRDs as their own step, then
// kinds; prunes after the applies of their wave, or last with PruneLast;
// the last step awaits only hooks.
func TestPlanOrder(t *testing.T) {
	cases := []struct {
		name    string
		desired []string
		live    []string
		opts    syncengine.Options
		want    []string
	}{{
		name: "phases, waves, kinds and hooks",
		desired: []string{postSyncJob, deploymentYAML, serviceYAML, cmYAML("config", ""), namespaceYAML,
			secretYAML, preSyncJob, serviceAccountYAML},
		want: []string{
			// PreSync: the named hook is applied, awaited, and
			// deleted (HookSucceeded).
			"apply Job/migrate", "wait Job/migrate", "delete Job/migrate",
			// Sync, wave -1.
			"apply Secret/early", "wait Secret/early",
			// Wave 0: the namespace alone first, then the rest by
			// kind (accounts, then config, then services), each
			// awaited.
			"apply Namespace/apps", "wait Namespace/apps",
			"apply ServiceAccount/web", "apply ConfigMap/config", "apply Service/web",
			"wait ServiceAccount/web", "wait ConfigMap/config", "wait Service/web",
			// Wave 1.
			"apply Deployment/web", "wait Deployment/web",
			// PostSync: generateName hooks are created.
			"create Job/smoke-1", "wait Job/smoke-1",
		},
	}, {
		name:    "a CRD comes before its custom resources of the same wave",
		desired: []string{widgetYAML, crdYAML},
		want:    []string{"apply CustomResourceDefinition/widgets.example.com", "wait CustomResourceDefinition/widgets.example.com", "apply Widget/w"},
	}, {
		name:    "the last step awaits nothing but hooks",
		desired: []string{cmYAML("b", `annotations: {soll.dev/sync-wave: "1"}`), cmYAML("a", "")},
		want:    []string{"apply ConfigMap/a", "wait ConfigMap/a", "apply ConfigMap/b"},
	}, {
		name:    "a hook with several phases runs in each",
		desired: []string{cmYAML("both", `annotations: {soll.dev/hook: "PreSync,PostSync", soll.dev/hook-delete-policy: HookSucceeded}`), cmYAML("a", "")},
		want: []string{
			"apply ConfigMap/both", "wait ConfigMap/both", "delete ConfigMap/both",
			"apply ConfigMap/a", "wait ConfigMap/a",
			"apply ConfigMap/both", "wait ConfigMap/both", "delete ConfigMap/both",
		},
	}, {
		name: "hooks of a phase are ordered by wave",
		desired: []string{
			cmYAML("second", `annotations: {soll.dev/hook: PreSync, soll.dev/hook-delete-policy: HookFailed, soll.dev/sync-wave: "5"}`),
			cmYAML("first", `annotations: {soll.dev/hook: PreSync, soll.dev/hook-delete-policy: HookFailed}`),
		},
		want: []string{"apply ConfigMap/first", "wait ConfigMap/first", "apply ConfigMap/second", "wait ConfigMap/second"},
	}, {
		name:    "Skip hooks are never applied",
		desired: []string{cmYAML("skipped", `annotations: {soll.dev/hook: Skip}`), cmYAML("a", "")},
		want:    []string{"apply ConfigMap/a"},
	}, {
		name:    "prunes follow the applies of their wave",
		desired: []string{cmYAML("b", `annotations: {soll.dev/sync-wave: "1"}`), cmYAML("a", "")},
		live:    []string{cmYAML("z", `annotations: {soll.dev/sync-wave: "1"}`), cmYAML("x", "")},
		opts:    syncengine.Options{Prune: true},
		want: []string{
			"apply ConfigMap/a", "delete ConfigMap/x", "wait ConfigMap/a",
			"apply ConfigMap/b", "delete ConfigMap/z",
		},
	}, {
		name:    "PruneLast prunes after every wave",
		desired: []string{cmYAML("b", `annotations: {soll.dev/sync-wave: "1"}`), cmYAML("a", "")},
		live:    []string{cmYAML("z", `annotations: {soll.dev/sync-wave: "1"}`), cmYAML("x", ""), serviceYAML},
		opts:    syncengine.Options{Prune: true, PruneLast: true},
		want: []string{
			"apply ConfigMap/a", "wait ConfigMap/a",
			"apply ConfigMap/b", "wait ConfigMap/b",
			"delete ConfigMap/x", "delete ConfigMap/z", "delete Service/web",
		},
	}, {
		name:    "without prune nothing is deleted",
		desired: []string{cmYAML("a", "")},
		live:    []string{cmYAML("x", "")},
		want:    []string{"apply ConfigMap/a"},
	}, {
		name:    "Prune=false and unconfirmed Prune=confirm keep objects",
		desired: []string{cmYAML("a", "")},
		live: []string{
			cmYAML("kept", `annotations: {soll.dev/sync-options: Prune=false}`),
			cmYAML("precious", `annotations: {argocd.argoproj.io/sync-options: Prune=confirm}`),
			cmYAML("x", ""),
		},
		opts: syncengine.Options{Prune: true},
		want: []string{"apply ConfigMap/a", "delete ConfigMap/x"},
	}, {
		name: "confirmed Prune=confirm prunes",
		live: []string{cmYAML("precious", `annotations: {soll.dev/sync-options: Prune=confirm}`)},
		opts: syncengine.Options{Prune: true, ConfirmPrune: true},
		want: []string{"delete ConfigMap/precious"},
	}, {
		name:    "selective sync applies and prunes only what it names, and runs no hooks",
		desired: []string{preSyncJob, cmYAML("a", ""), cmYAML("b", `annotations: {soll.dev/sync-wave: "1"}`), postSyncJob},
		live:    []string{cmYAML("x", ""), cmYAML("z", "")},
		opts: syncengine.Options{Prune: true, Only: []resource.Key{
			{Kind: "ConfigMap", Namespace: "apps", Name: "b"},
			{Kind: "ConfigMap", Namespace: "apps", Name: "z"},
			{Group: "batch", Kind: "Job", Namespace: "apps", Name: "migrate"},
		}},
		want: []string{"delete ConfigMap/z", "apply ConfigMap/b"},
	}, {
		name:    "ApplyOutOfSyncOnly skips objects in sync",
		desired: []string{cmYAML("a", ""), cmYAML("b", "")},
		opts:    syncengine.Options{ApplyOutOfSyncOnly: true},
		want:    []string{"apply ConfigMap/b"},
	}, {
		name:    "a dry run validates every apply, deletes nothing and awaits nothing",
		desired: []string{preSyncJob, cmYAML("b", `annotations: {soll.dev/sync-wave: "1"}`), cmYAML("a", ""), postSyncJob},
		live:    []string{cmYAML("x", "")},
		opts:    syncengine.Options{Prune: true, DryRun: true},
		want:    []string{"apply --dry-run Job/migrate", "apply --dry-run ConfigMap/a", "apply --dry-run ConfigMap/b"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeKube()
			in := append(desired(t, c.desired...), live(t, c.live...)...)
			if c.opts.ApplyOutOfSyncOnly {
				in[0].InSync = true
			}
			res := fakeSync(f, in, c.opts)
			if !res.Succeeded {
				t.Fatalf("sync failed: %s\n%+v", res.Message, res.Objects)
			}
			checkCalls(t, f, c.want)
		})
	}
}

// TestPlanResults checks what the operation reports per object: phases,
// hook outcomes, prune verdicts, and the real name of a generateName hook.
func TestPlanResults(t *testing.T) {
	f := newFakeKube()
	in := append(desired(t, preSyncJob, cmYAML("a", ""), postSyncJob),
		live(t, cmYAML("kept", `annotations: {soll.dev/sync-options: Prune=false}`), cmYAML("x", ""))...)
	for _, o := range in[3:] {
		f.put(o.Live)
	}
	res := fakeSync(f, in, syncengine.Options{Prune: true})
	if !res.Succeeded || res.Message != "successfully synced 5 objects" {
		t.Fatalf("sync: succeeded=%v %q", res.Succeeded, res.Message)
	}
	want := []string{
		"PreSync Job/migrate Synced Succeeded",
		"Sync ConfigMap/a Synced",
		"Sync ConfigMap/kept PruneSkipped",
		"Sync ConfigMap/x Pruned",
		"PostSync Job/smoke-1 Synced Succeeded",
	}
	checkResults(t, res, want)
	if f.has("ConfigMap", "apps", "x") || !f.has("ConfigMap", "apps", "kept") || !f.has("ConfigMap", "apps", "a") || f.has("Job", "apps", "migrate") || !f.has("Job", "apps", "smoke-1") {
		t.Errorf("cluster after the sync: %v", f.objects)
	}
}

// TestPlanProgressConcurrent runs waves with parallel applies: inside a
// step the order is free, but no apply of a wave starts before every
// object of the previous wave has been awaited.
func TestPlanProgressConcurrent(t *testing.T) {
	f := newFakeKube()
	var docs []string
	for _, n := range []string{"a", "b", "c", "d"} {
		docs = append(docs, cmYAML(n+"0", ""), cmYAML(n+"1", `annotations: {soll.dev/sync-wave: "1"}`))
	}
	docs = append(docs, cmYAML("last", `annotations: {soll.dev/sync-wave: "2"}`))
	res := fakeSync(f, desired(t, docs...), syncengine.Options{Concurrency: 8})
	if !res.Succeeded {
		t.Fatalf("sync failed: %s", res.Message)
	}
	calls := f.log()
	// The wave of each call, by the digit its name ends with.
	waveOf := func(c string) int {
		if strings.HasSuffix(c, "last") {
			return 2
		}
		return int(c[len(c)-1] - '0')
	}
	want := []string{"apply", "wait", "apply", "wait", "apply"} // by wave: 0, 0, 1, 1, 2
	var got []string
	for i, c := range calls {
		verb, _, _ := strings.Cut(c, " ")
		if i == 0 || verb != strings.Fields(calls[i-1])[0] || waveOf(c) != waveOf(calls[i-1]) {
			got = append(got, verb)
		}
		if i > 0 && waveOf(c) < waveOf(calls[i-1]) {
			t.Errorf("%q after %q", c, calls[i-1])
		}
	}
	if !slices.Equal(got, want) || len(calls) != 17 {
		t.Errorf("calls:%s\nwant the runs %q", lines(calls), want)
	}
}

// TestPlanHooks covers hooks that meet an earlier object of their name,
// and hooks done before a restart.
func TestPlanHooks(t *testing.T) {
	const tracking = `soll.dev/tracking-id: "apps:ConfigMap:apps/hook"`
	named := cmYAML("hook", `annotations: {soll.dev/hook: PreSync, `+tracking+`}`)
	cases := []struct {
		name     string
		existing string // live before the sync
		opts     syncengine.Options
		want     []string
		fail     string
	}{{
		name:     "BeforeHookCreation (the default) deletes the hook's last run first",
		existing: cmYAML("hook", `annotations: {`+tracking+`}`),
		want:     []string{"delete ConfigMap/hook", "apply ConfigMap/hook", "wait ConfigMap/hook", "apply ConfigMap/a"},
	}, {
		name:     "an object of the hook's name that the hook did not leave is refused",
		existing: cmYAML("hook", ""),
		want:     []string{},
		fail:     "this hook did not create it",
	}, {
		name:     "AdoptExisting replaces it",
		existing: cmYAML("hook", ""),
		opts:     syncengine.Options{AdoptExisting: true},
		want:     []string{"delete ConfigMap/hook", "apply ConfigMap/hook", "wait ConfigMap/hook", "apply ConfigMap/a"},
	}, {
		name: "no earlier run: the delete finds nothing",
		want: []string{"delete ConfigMap/hook", "apply ConfigMap/hook", "wait ConfigMap/hook", "apply ConfigMap/a"},
	}, {
		name: "hooks done before a restart do not run again",
		opts: syncengine.Options{DoneHooks: map[resource.Key]bool{{Kind: "ConfigMap", Namespace: "apps", Name: "hook"}: true}},
		want: []string{"apply ConfigMap/a"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeKube()
			if c.existing != "" {
				f.put(desired(t, c.existing)[0].Desired)
			}
			res := fakeSync(f, desired(t, named, cmYAML("a", "")), c.opts)
			if c.fail == "" && !res.Succeeded {
				t.Fatalf("sync failed: %s", res.Message)
			}
			if c.fail != "" && (res.Succeeded || !strings.Contains(res.Message, c.fail)) {
				t.Fatalf("sync: succeeded=%v %q, want a failure with %q", res.Succeeded, res.Message, c.fail)
			}
			checkCalls(t, f, c.want)
		})
	}
}

// TestPlanGeneratedHooks covers hooks named by generateName: each run is
// created with a name of its own, BeforeHookCreation deletes the earlier
// runs of the same hook (told by their tracking annotation) and nothing
// else, and a run done before a restart, recorded under its generated
// name, is not repeated.
func TestPlanGeneratedHooks(t *testing.T) {
	const tracking = `soll.dev/tracking-id: "apps:batch/Job/apps/smoke-*"`
	run := func(name, meta string) string {
		return "apiVersion: batch/v1\nkind: Job\nmetadata: {name: " + name + ", labels: {soll.dev/managed: \"true\"}, annotations: {" + meta + "}}"
	}
	hook := func(meta string) string {
		return "apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: smoke-, annotations: {soll.dev/hook: PreSync, " + tracking + meta + "}}"
	}
	earlier := []string{
		run("smoke-b2c4d", tracking),
		run("smoke-x7k2p", tracking),
		run("smoke-other", `soll.dev/tracking-id: "apps:batch/Job/apps/other-*"`),                       // another hook's
		"apiVersion: batch/v1\nkind: Job\nmetadata: {name: unmanaged, annotations: {" + tracking + "}}", // no managed label: not soll's
	}
	cases := []struct {
		name string
		hook string
		opts syncengine.Options
		want []string
		left []string // of earlier, still there after the sync
	}{{
		name: "BeforeHookCreation (the default) deletes the earlier runs",
		hook: hook(""),
		want: []string{"delete Job/smoke-b2c4d", "delete Job/smoke-x7k2p", "create Job/smoke-1", "wait Job/smoke-1", "apply ConfigMap/a"},
		left: []string{"smoke-other", "unmanaged"},
	}, {
		name: "HookSucceeded alone keeps them and deletes this run",
		hook: hook(", soll.dev/hook-delete-policy: HookSucceeded"),
		want: []string{"create Job/smoke-1", "wait Job/smoke-1", "delete Job/smoke-1", "apply ConfigMap/a"},
		left: []string{"smoke-b2c4d", "smoke-x7k2p", "smoke-other", "unmanaged"},
	}, {
		name: "a run done before a restart is not repeated",
		hook: hook(""),
		opts: syncengine.Options{DoneHooks: map[resource.Key]bool{{Group: "batch", Kind: "Job", Namespace: "apps", Name: "smoke-x7k2p"}: true}},
		want: []string{"apply ConfigMap/a"},
		left: []string{"smoke-b2c4d", "smoke-x7k2p", "smoke-other", "unmanaged"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeKube()
			for _, o := range parse(t, earlier) {
				f.put(o)
			}
			res := fakeSync(f, desired(t, c.hook, cmYAML("a", "")), c.opts)
			if !res.Succeeded {
				t.Fatalf("sync failed: %s", res.Message)
			}
			checkCalls(t, f, c.want)
			var left []string
			for _, o := range parse(t, earlier) {
				if f.has("Job", "apps", o.GetName()) {
					left = append(left, o.GetName())
				}
			}
			if !slices.Equal(left, c.left) {
				t.Errorf("earlier objects left: %v, want %v", left, c.left)
			}
		})
	}
}

// TestPlanFailures covers how a failure ends an operation: later steps
// and phases do not run, SyncFail hooks do, and hook delete policies
// follow the outcome.
func TestPlanFailures(t *testing.T) {
	invalid := apierrors.NewInvalid(schema.GroupKind{Kind: "ConfigMap"}, "bad", field.ErrorList{field.Invalid(field.NewPath("data"), "x", "not a string")})
	degraded := health.Result{Status: health.Degraded, Message: "BackoffLimitExceeded"}
	cases := []struct {
		name    string
		desired []string
		fail    map[string]error
		health  map[string]health.Result
		want    []string
		message string
		results []string
	}{{
		name:    "a failed apply stops the waves and runs SyncFail hooks",
		desired: []string{preSyncJob, cmYAML("bad", ""), cmYAML("later", `annotations: {soll.dev/sync-wave: "1"}`), postSyncJob, syncFailCM},
		fail:    map[string]error{"apply ConfigMap/bad": invalid},
		want: []string{
			"apply Job/migrate", "wait Job/migrate", "delete Job/migrate",
			"apply ConfigMap/bad",
			"delete ConfigMap/on-fail", "apply ConfigMap/on-fail", "wait ConfigMap/on-fail",
		},
		message: "ConfigMap apps/bad",
		results: []string{
			"PreSync Job/migrate Synced Succeeded",
			"Sync ConfigMap/bad SyncFailed",
			"SyncFail ConfigMap/on-fail Synced Succeeded",
		},
	}, {
		name: "a failed hook is deleted with HookFailed, kept without",
		desired: []string{
			cmYAML("a", ""),
			`apiVersion: batch/v1
kind: Job
metadata: {name: check, annotations: {soll.dev/hook: PostSync, soll.dev/hook-delete-policy: "HookFailed,HookSucceeded"}}`,
			`apiVersion: batch/v1
kind: Job
metadata: {name: report, annotations: {soll.dev/hook: PostSync, soll.dev/hook-delete-policy: HookSucceeded}}`,
		},
		health: map[string]health.Result{"Job/check": degraded, "Job/report": degraded},
		want: []string{
			"apply ConfigMap/a", "wait ConfigMap/a",
			"apply Job/check", "apply Job/report",
			"wait Job/check", "delete Job/check", "wait Job/report",
		},
		message: "BackoffLimitExceeded",
		results: []string{
			"Sync ConfigMap/a Synced",
			"PostSync Job/check SyncFailed Failed",
			"PostSync Job/report SyncFailed Failed",
		},
	}, {
		name:    "a degraded object stops the next wave",
		desired: []string{deploymentYAML, cmYAML("later", `annotations: {soll.dev/sync-wave: "2"}`)},
		health:  map[string]health.Result{"Deployment/web": degraded},
		want:    []string{"apply Deployment/web", "wait Deployment/web"},
		message: "apps/Deployment apps/web is Degraded: BackoffLimitExceeded",
		results: []string{"Sync Deployment/web Synced"},
	}, {
		name:    "a failed PreSync hook runs no Sync phase",
		desired: []string{preSyncJob, cmYAML("a", "")},
		health:  map[string]health.Result{"Job/migrate": degraded},
		want:    []string{"apply Job/migrate", "wait Job/migrate"},
		message: "BackoffLimitExceeded",
		results: []string{"PreSync Job/migrate SyncFailed Failed"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeKube()
			for k, err := range c.fail {
				f.fail[k] = err
			}
			for k, h := range c.health {
				f.health[k] = h
			}
			res := fakeSync(f, desired(t, c.desired...), syncengine.Options{})
			if res.Succeeded || !strings.Contains(res.Message, c.message) {
				t.Errorf("sync: succeeded=%v %q, want a failure with %q", res.Succeeded, res.Message, c.message)
			}
			checkCalls(t, f, c.want)
			checkResults(t, res, c.results)
		})
	}
}

// TestPlanConflict: an object in conflict fails the operation before
// anything is applied.
func TestPlanConflict(t *testing.T) {
	f := newFakeKube()
	in := desired(t, preSyncJob, cmYAML("mine", ""), cmYAML("theirs", ""))
	in[2].Conflict = "owned by application other/app"
	res := fakeSync(f, in, syncengine.Options{})
	if res.Succeeded || !strings.Contains(res.Message, "nothing was applied: owned by application other/app") {
		t.Errorf("sync: succeeded=%v %q", res.Succeeded, res.Message)
	}
	checkCalls(t, f, nil)
}

// TestPlanReplace: with Replace, an apply refused for an immutable field
// deletes the object and applies it again; without, the refusal fails.
func TestPlanReplace(t *testing.T) {
	immutable := apierrors.NewInvalid(schema.GroupKind{Group: "batch", Kind: "Job"}, "migrate",
		field.ErrorList{field.Invalid(field.NewPath("spec", "template"), "x", "field is immutable")})
	job := `apiVersion: batch/v1
kind: Job
metadata: {name: migrate}`
	for _, replace := range []bool{false, true} {
		f := newFakeKube()
		f.put(desired(t, job)[0].Desired)
		f.fail["apply Job/migrate"] = immutable
		// The second apply, after the delete, goes through.
		kube := &onceFailing{fakeKube: f}
		e := &syncengine.Engine{Kube: kube, Health: f}
		res := e.Sync(context.Background(), desired(t, job), syncengine.Options{Replace: replace, WaveTimeout: 5 * time.Second})
		if res.Succeeded != replace {
			t.Errorf("replace=%v: succeeded=%v %q", replace, res.Succeeded, res.Message)
		}
		want := []string{"apply Job/migrate"}
		if replace {
			want = []string{"apply Job/migrate", "delete Job/migrate", "apply Job/migrate"}
		}
		checkCalls(t, f, want)
		if !errors.Is(kube.err, immutable) {
			t.Errorf("the first apply did not fail as set up: %v", kube.err)
		}
	}
}

// onceFailing lets the fake's failure of an apply happen once.
type onceFailing struct {
	*fakeKube
	err error
}

func (o *onceFailing) Apply(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	out, err := o.fakeKube.Apply(ctx, obj, dryRun)
	if err != nil && o.err == nil {
		o.err = err
		o.fakeKube.mu.Lock()
		clear(o.fakeKube.fail)
		o.fakeKube.mu.Unlock()
	}
	return out, err
}

// TestPlanTerminate: an operation whose context ends stops before its next
// step and runs its SyncFail hooks, with time of their own, unless it was
// interrupted (its caller goes away and will run it again).
func TestPlanTerminate(t *testing.T) {
	for _, c := range []struct {
		name  string
		cause error
		want  []string
	}{
		{"terminated", errors.New("terminated by the user"),
			[]string{"delete ConfigMap/on-fail", "apply ConfigMap/on-fail", "wait ConfigMap/on-fail"}},
		{"interrupted", syncengine.ErrInterrupted, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeKube()
			ctx, cancel := context.WithCancelCause(context.Background())
			cancel(c.cause)
			res := f.engine().Sync(ctx, desired(t, cmYAML("a", ""), syncFailCM), syncengine.Options{Concurrency: 1, WaveTimeout: 5 * time.Second})
			if res.Succeeded || !strings.HasPrefix(res.Message, "operation terminated: ") {
				t.Errorf("sync: succeeded=%v %q", res.Succeeded, res.Message)
			}
			checkCalls(t, f, c.want)
		})
	}
}
