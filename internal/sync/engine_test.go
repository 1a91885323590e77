package sync_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"soll.dev/internal/health"
	"soll.dev/internal/kube"
	"soll.dev/internal/resource"
	syncengine "soll.dev/internal/sync"
	"soll.dev/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func objs(t *testing.T, ns, docs string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range strings.Split(docs, "\n---\n") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
			t.Fatal(err)
		}
		if u.GetNamespace() == "" && u.GetKind() != "Namespace" {
			u.SetNamespace(ns)
		}
		out = append(out, u)
	}
	return out
}

func newEngine(t *testing.T) (*syncengine.Engine, *kube.Client) {
	env := testenv.Cluster(t)
	kc, err := kube.New(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := health.New(health.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &syncengine.Engine{Kube: kc, Health: hc}, kc
}

const app = `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations: {soll.dev/hook: PreSync, soll.dev/hook-delete-policy: HookSucceeded}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: migrate:1}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: config}
data: {mode: prod}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {argocd.argoproj.io/sync-wave: "1"}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: "web:1"}]}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  annotations: {soll.dev/sync-wave: "2"}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: batch/v1
kind: Job
metadata:
  generateName: smoke-
  annotations: {soll.dev/hook: PostSync}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: s, image: smoke:1}]`

// TestPhasesWavesAndHooks runs a real operation: the PreSync Job completes
// (and is deleted, HookSucceeded) before anything else, the wave 0
// ConfigMap comes before the wave 1 Deployment, which is Available before
// the wave 2 Service is applied, and the PostSync hook runs last.
func TestPhasesWavesAndHooks(t *testing.T) {
	e, kc := newEngine(t)
	ns := testenv.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var in []syncengine.Object
	for _, o := range objs(t, ns, app) {
		in = append(in, syncengine.Object{Desired: o})
	}
	res := e.Sync(ctx, in, syncengine.Options{Prune: true})
	if !res.Succeeded {
		t.Fatalf("sync failed: %s\n%+v", res.Message, res.Objects)
	}
	var order []string
	for _, o := range res.Objects {
		order = append(order, string(o.Phase)+":"+o.Key.Kind)
	}
	want := "PreSync:Job Sync:ConfigMap Sync:Deployment Sync:Service PostSync:Job"
	if strings.Join(order, " ") != want {
		t.Errorf("order %q, want %q", strings.Join(order, " "), want)
	}
	for _, o := range res.Objects {
		if o.Hook && o.HookPhase != "Succeeded" {
			t.Errorf("hook %s ended %s: %s", o.Key, o.HookPhase, o.Message)
		}
	}
	// The wave-1 Deployment was healthy before wave 2 started: it is
	// Available now, and the HookSucceeded Job is gone.
	dep, err := kc.Get(ctx, kube.KeyGVK(resource.Key{Group: "apps", Kind: "Deployment"}, "v1"), ns, "web")
	if err != nil || dep == nil {
		t.Fatalf("deployment: %v", err)
	}
	if hr, _ := e.Health.Check(dep); hr.Status != health.Healthy {
		t.Errorf("deployment health %s: %s", hr.Status, hr.Message)
	}
	err = testenv.Eventually(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		job, err := kc.Get(ctx, kube.KeyGVK(resource.Key{Group: "batch", Kind: "Job"}, "v1"), ns, "migrate")
		return job == nil, err
	})
	if err != nil {
		t.Errorf("HookSucceeded job not deleted: %v", err)
	}
}

// TestFailedWaveStopsAndRunsSyncFail shows a failure in one wave stops the
// operation: later waves are not applied, and SyncFail hooks run.
func TestFailedWaveStopsAndRunsSyncFail(t *testing.T) {
	e, kc := newEngine(t)
	ns := testenv.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	docs := objs(t, ns, `apiVersion: v1
kind: ConfigMap
metadata: {name: bad, annotations: {soll.dev/sync-wave: "0"}}
data: {k: [not, a, string]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: later, annotations: {soll.dev/sync-wave: "1"}}
data: {k: v}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: on-fail, annotations: {soll.dev/hook: SyncFail}}
data: {failed: "true"}`)
	var in []syncengine.Object
	for _, o := range docs {
		in = append(in, syncengine.Object{Desired: o})
	}
	res := e.Sync(ctx, in, syncengine.Options{})
	if res.Succeeded {
		t.Fatal("sync of an invalid object succeeded")
	}
	if !strings.Contains(res.Message, "ConfigMap "+ns+"/bad") {
		t.Errorf("message does not name the failing object: %s", res.Message)
	}
	cm := kube.KeyGVK(resource.Key{Kind: "ConfigMap"}, "v1")
	if later, _ := kc.Get(ctx, cm, ns, "later"); later != nil {
		t.Error("wave 1 was applied after wave 0 failed")
	}
	if hook, _ := kc.Get(ctx, cm, ns, "on-fail"); hook == nil {
		t.Error("SyncFail hook did not run")
	}
}

// cm is the GVK of ConfigMaps.
var cm = kube.KeyGVK(resource.Key{Kind: "ConfigMap"}, "v1")

// newConfigMapRun is an engine, its client, a fresh namespace and a
// context bounded by a minute, for tests of ConfigMaps.
func newConfigMapRun(t *testing.T) (*syncengine.Engine, *kube.Client, string, context.Context) {
	e, kc := newEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return e, kc, testenv.Namespace(t), ctx
}

// TestPruneDryRunAndSelective covers prune (only when enabled), a dry run
// that changes nothing, and a selective sync of one object.
func TestPruneDryRunAndSelective(t *testing.T) {
	e, kc, ns, ctx := newConfigMapRun(t)
	docs := objs(t, ns, `apiVersion: v1
kind: ConfigMap
metadata: {name: a}
data: {k: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b}
data: {k: "1"}`)

	// Dry run: valid, nothing created.
	res := e.Sync(ctx, []syncengine.Object{{Desired: docs[0]}, {Desired: docs[1]}}, syncengine.Options{DryRun: true})
	if !res.Succeeded {
		t.Fatalf("dry run failed: %s", res.Message)
	}
	if a, _ := kc.Get(ctx, cm, ns, "a"); a != nil {
		t.Fatal("dry run created an object")
	}

	// Selective: only b.
	res = e.Sync(ctx, []syncengine.Object{{Desired: docs[0]}, {Desired: docs[1]}}, syncengine.Options{Only: []resource.Key{resource.KeyOf(docs[1])}})
	if !res.Succeeded || len(res.Objects) != 1 {
		t.Fatalf("selective sync: %s %+v", res.Message, res.Objects)
	}
	if a, _ := kc.Get(ctx, cm, ns, "a"); a != nil {
		t.Fatal("selective sync applied an object it was not asked to")
	}
	liveB, _ := kc.Get(ctx, cm, ns, "b")
	if liveB == nil {
		t.Fatal("selective sync did not apply b")
	}

	// b is no longer desired: without prune it stays, with prune it goes.
	res = e.Sync(ctx, []syncengine.Object{{Desired: docs[0]}, {Live: liveB}}, syncengine.Options{})
	if !res.Succeeded || resultOf(res, "b").Status != syncengine.ResultPruneSkipped {
		t.Fatalf("prune disabled: %s %+v", res.Message, res.Objects)
	}
	if b, _ := kc.Get(ctx, cm, ns, "b"); b == nil {
		t.Fatal("object pruned although prune is off")
	}
	res = e.Sync(ctx, []syncengine.Object{{Desired: docs[0]}, {Live: liveB}}, syncengine.Options{Prune: true})
	if !res.Succeeded {
		t.Fatalf("prune: %s", res.Message)
	}
	err := testenv.Eventually(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		b, err := kc.Get(ctx, cm, ns, "b")
		return b == nil, err
	})
	if err != nil {
		t.Fatalf("b not pruned: %v", err)
	}
}

// TestPruneConfirm leaves an object marked Prune=confirm in place, even
// with prune on, until the operation confirms its pruning.
func TestPruneConfirm(t *testing.T) {
	e, kc, ns, ctx := newConfigMapRun(t)
	docs := objs(t, ns, `apiVersion: v1
kind: ConfigMap
metadata: {name: keep}
data: {k: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: precious
  annotations: {soll.dev/sync-options: "Prune=confirm"}
data: {k: "1"}`)
	if res := e.Sync(ctx, []syncengine.Object{{Desired: docs[0]}, {Desired: docs[1]}}, syncengine.Options{}); !res.Succeeded {
		t.Fatalf("first sync: %s", res.Message)
	}
	live, err := kc.Get(ctx, cm, ns, "precious")
	if err != nil || live == nil {
		t.Fatalf("precious not applied: %v", err)
	}

	res := e.Sync(ctx, []syncengine.Object{{Desired: docs[0]}, {Live: live}}, syncengine.Options{Prune: true})
	if r := resultOf(res, "precious"); !res.Succeeded || r.Status != syncengine.ResultPruneSkipped || !strings.Contains(r.Message, "confirmPrune") {
		t.Fatalf("unconfirmed prune: %s %+v", res.Message, res.Objects)
	}
	if still, _ := kc.Get(ctx, cm, ns, "precious"); still == nil {
		t.Fatal("an object marked Prune=confirm was pruned without confirmation")
	}

	res = e.Sync(ctx, []syncengine.Object{{Desired: docs[0]}, {Live: live}}, syncengine.Options{Prune: true, ConfirmPrune: true})
	if r := resultOf(res, "precious"); !res.Succeeded || r.Status != syncengine.ResultPruned {
		t.Fatalf("confirmed prune: %s %+v", res.Message, res.Objects)
	}
	err = testenv.Eventually(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		gone, err := kc.Get(ctx, cm, ns, "precious")
		return gone == nil, err
	})
	if err != nil {
		t.Fatalf("precious not pruned after confirmation: %v", err)
	}
}

// TestTerminate shows cancelling the context stops an operation that waits
// on a wave which never becomes healthy.
func TestTerminate(t *testing.T) {
	e, _ := newEngine(t)
	ns := testenv.Namespace(t)
	docs := objs(t, ns, `apiVersion: v1
kind: Service
metadata: {name: lb}
spec: {type: LoadBalancer, ports: [{port: 80}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: after, annotations: {soll.dev/sync-wave: "1"}}
data: {k: v}`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan syncengine.Result)
	go func() {
		done <- e.Sync(ctx, []syncengine.Object{{Desired: docs[0]}, {Desired: docs[1]}}, syncengine.Options{})
	}()
	// A LoadBalancer Service never gets an address here: the operation
	// waits in wave 0 until terminated.
	cancel()
	select {
	case res := <-done:
		if res.Succeeded || !strings.Contains(res.Message, "terminated") {
			t.Fatalf("terminated operation: succeeded=%v message=%q", res.Succeeded, res.Message)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("operation did not stop after terminate")
	}
}

func resultOf(res syncengine.Result, name string) syncengine.ObjectResult {
	for _, o := range res.Objects {
		if o.Key.Name == name {
			return o
		}
	}
	return syncengine.ObjectResult{}
}

// TestConflictRefusesSync shows that an object another owner manages
// fails the operation before anything is applied: no object of any wave,
// no hook, and the result names the object with the conflict.
func TestConflictRefusesSync(t *testing.T) {
	e, kc := newEngine(t)
	ns := testenv.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	docs := objs(t, ns, `apiVersion: v1
kind: ConfigMap
metadata: {name: mine}
data: {k: v}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: theirs, annotations: {soll.dev/sync-wave: "1"}}
data: {k: v}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: pre, annotations: {soll.dev/hook: PreSync}}
data: {k: v}`)
	const conflict = "owned by application other/app"
	var in []syncengine.Object
	for _, o := range docs {
		obj := syncengine.Object{Desired: o}
		if o.GetName() == "theirs" {
			obj.Conflict = conflict
		}
		in = append(in, obj)
	}
	res := e.Sync(ctx, in, syncengine.Options{})
	if res.Succeeded || !strings.Contains(res.Message, conflict) {
		t.Fatalf("sync with a conflict: succeeded=%v, message %q", res.Succeeded, res.Message)
	}
	if len(res.Objects) != 1 || res.Objects[0].Key.Name != "theirs" || res.Objects[0].Status != syncengine.ResultSyncFailed || res.Objects[0].Message != conflict {
		t.Errorf("results %+v: want only theirs, SyncFailed with the conflict", res.Objects)
	}
	cm := kube.KeyGVK(resource.Key{Kind: "ConfigMap"}, "v1")
	for _, name := range []string{"mine", "theirs", "pre"} {
		if live, err := kc.Get(ctx, cm, ns, name); err != nil || live != nil {
			t.Errorf("%s was applied (err=%v)", name, err)
		}
	}
	// A selective sync that leaves the conflicting object out goes ahead.
	res = e.Sync(ctx, in, syncengine.Options{Only: []resource.Key{resource.KeyOf(docs[0])}})
	if !res.Succeeded {
		t.Errorf("selective sync without the conflicting object: %s", res.Message)
	}
}

// TestProgressReports shows when the engine reports progress: after each
// step's applies (waiting, when the step is awaited) and after each wait,
// but not after the applies of a last step that waits for nothing, since
// the operation ends there.
func TestProgressReports(t *testing.T) {
	e, _ := newEngine(t)
	ns := testenv.Namespace(t)
	docs := objs(t, ns, `apiVersion: v1
kind: ConfigMap
metadata: {name: first}
data: {k: v}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: second, annotations: {soll.dev/sync-wave: "1"}}
data: {k: v}`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sync := func(objs ...*unstructured.Unstructured) []string {
		var in []syncengine.Object
		for _, o := range objs {
			in = append(in, syncengine.Object{Desired: o})
		}
		var reports []string
		res := e.Sync(ctx, in, syncengine.Options{OnProgress: func(res syncengine.Result, waiting bool) {
			reports = append(reports, fmt.Sprintf("%d objects, waiting=%v", len(res.Objects), waiting))
		}})
		if !res.Succeeded {
			t.Fatalf("sync failed: %s", res.Message)
		}
		return reports
	}
	if got := sync(docs[0]); len(got) != 0 {
		t.Errorf("one step that waits for nothing reported %q, want no report", got)
	}
	want := []string{"1 objects, waiting=true", "1 objects, waiting=false"}
	if got := sync(docs...); !slices.Equal(got, want) {
		t.Errorf("two waves reported %q, want %q", got, want)
	}
}
