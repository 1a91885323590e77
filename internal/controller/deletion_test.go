package controller_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

// hookJobOf is a Job with the annotations ann (a flow mapping's inside);
// kwok completes its pod. With unschedulable, its pod never runs, and the
// Job fails after a second (activeDeadlineSeconds).
func hookJobOf(name, ann string, unschedulable bool) string {
	fail := ""
	if unschedulable {
		fail = "  activeDeadlineSeconds: 1\n"
	}
	spec := `apiVersion: batch/v1
kind: Job
metadata:
  name: ` + name + `
  annotations: {` + ann + `}
spec:
  backoffLimit: 0
` + fail + `  template:
    spec:
      restartPolicy: Never
`
	if unschedulable {
		spec += "      nodeSelector: {soll.dev/test-no-such-node: \"true\"}\n"
	}
	return spec + `      containers:
      - name: run
        image: busybox:1.36
`
}

// timeline records, in the API server's order (resourceVersion), what
// happens to the Jobs and ConfigMaps of a namespace: "ADDED Job/x",
// "COMPLETE Job/x" (Complete or SuccessCriteriaMet), "FAILED Job/x"
// (Failed or FailureTarget), "DELETED ConfigMap/y".
type timeline struct {
	mu     gosync.Mutex
	events map[string]uint64 // first resourceVersion of each
	all    []string
}

// watchTimeline starts recording the Jobs and ConfigMaps of h.destNS and
// returns once both watches run (their first events arrived).
func watchTimeline(t *testing.T, h *harness) *timeline {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	tl := &timeline{events: map[string]uint64{}}
	jobs, err := h.env.Kube.BatchV1().Jobs(h.destNS).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cms, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{}, 2)
	follow := func(w watch.Interface) {
		defer w.Stop()
		first := true
		for ev := range w.ResultChan() {
			var what []string
			var rv string
			switch o := ev.Object.(type) {
			case *batchv1.Job:
				rv = o.ResourceVersion
				what = append(what, string(ev.Type)+" Job/"+o.Name)
				// The first of a Job's conditions that says it is
				// done, as soll's health check reads them.
				for _, c := range o.Status.Conditions {
					if c.Status != corev1.ConditionTrue {
						continue
					}
					switch c.Type {
					case batchv1.JobComplete, batchv1.JobSuccessCriteriaMet:
						what = append(what, "COMPLETE Job/"+o.Name)
					case batchv1.JobFailed, batchv1.JobFailureTarget:
						what = append(what, "FAILED Job/"+o.Name)
					}
				}
			case *corev1.ConfigMap:
				rv = o.ResourceVersion
				what = append(what, string(ev.Type)+" ConfigMap/"+o.Name)
			default:
				continue
			}
			n, err := strconv.ParseUint(rv, 10, 64)
			if err != nil {
				continue
			}
			tl.mu.Lock()
			for _, w := range what {
				if _, seen := tl.events[w]; !seen {
					tl.events[w] = n
					tl.all = append(tl.all, fmt.Sprintf("%d %s", n, w))
				}
			}
			tl.mu.Unlock()
			if first {
				first = false
				started <- struct{}{}
			}
		}
	}
	go follow(jobs)
	go follow(cms)
	// Every namespace holds a ConfigMap (kube-root-ca.crt), so the
	// ConfigMap watch reports at once; the Job watch may have nothing to
	// report: a Job made for the purpose starts it.
	marker := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "timeline-start"},
		Spec: batchv1.JobSpec{Suspend: ptrTo(true), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox:1.36"}},
		}}},
	}
	if _, err := h.env.Kube.BatchV1().Jobs(h.destNS).Create(context.Background(), marker, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case <-started:
		case <-time.After(30 * time.Second):
			t.Fatal("the watches of the timeline did not start")
		}
	}
	return tl
}

func ptrTo[T any](v T) *T { return &v }

// at returns the resourceVersion of the first event what; 0: none yet.
func (tl *timeline) at(what string) uint64 {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.events[what]
}

func (tl *timeline) String() string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return "\n\t" + strings.Join(tl.all, "\n\t")
}

// inOrder fails the test unless each event of order happened, each
// after the one before it.
func (tl *timeline) inOrder(t *testing.T, order ...string) {
	t.Helper()
	var last uint64
	for i, what := range order {
		at := tl.at(what)
		if at == 0 {
			t.Errorf("%s never happened; timeline:%s", what, tl)
			return
		}
		if at <= last {
			t.Errorf("%s happened before %s; timeline:%s", what, order[i-1], tl)
			return
		}
		last = at
	}
}

// waitGone waits until the Application name is gone.
func (h *harness) waitGone(name string, timeout time.Duration) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last sollv1.Application
	err := testenv.Eventually(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		err := h.env.Client.Get(ctx, client.ObjectKey{Namespace: h.sollNS, Name: name}, &last)
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if err != nil {
		h.t.Fatalf("application %s not deleted: %v\nlast status: %s", name, err, describe(&last))
	}
}

// deleteApp deletes the Application name, with its objects (cascade: the
// finalizer stays) or without them (the finalizer is removed first, as
// soll app delete --cascade=false does).
func (h *harness) deleteApp(name string, cascade bool) {
	h.t.Helper()
	app := h.appNamed(name)
	if !cascade {
		patch := client.MergeFrom(app.DeepCopy())
		controllerutil.RemoveFinalizer(app, sollv1.ResourcesFinalizer)
		if err := h.env.Client.Patch(context.Background(), app, patch); err != nil {
			h.t.Fatal(err)
		}
	}
	if err := h.env.Client.Delete(context.Background(), app); err != nil {
		h.t.Fatal(err)
	}
}

// eventReasons lists the reasons of the events of the Application name.
func (h *harness) eventReasons(name string) []string {
	h.t.Helper()
	events, err := h.env.Kube.EventsV1().Events(h.sollNS).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, e := range events.Items {
		if e.Regarding.Kind == "Application" && e.Regarding.Name == name {
			out = append(out, e.Reason)
		}
	}
	return out
}

// waitJobGone waits until the Job name of h.destNS is gone.
func (h *harness) waitJobGone(name string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := testenv.Eventually(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := h.env.Kube.BatchV1().Jobs(h.destNS).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if err != nil {
		h.t.Errorf("the hook's Job %s was left behind: %v", name, err)
	}
}

// TestDeletionHooksRunAroundTheObjects: deleting an Application with its
// objects runs its PreDelete hook before any object is deleted and its
// PostDelete hook once they are gone, and leaves none of the hooks'
// objects behind; syncs never run them, and they never show as resources.
// The conditions of a successful sync read as such.
func TestDeletionHooksRunAroundTheObjects(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{files: map[string]string{
		"app/cm.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: data\ndata:\n  k: v\n",
		"app/backup.yaml":  hookJobOf("backup", "soll.dev/hook: PreDelete", false),
		"app/cleanup.yaml": hookJobOf("cleanup", "soll.dev/hook: PostDelete", false),
	}})
	h.createAppNamed("db", "app", nil)
	h.requestSyncOf("db")
	app := h.waitForApp("db", "the sync", 2*time.Minute, succeededAfter(1))

	// The sync ran no deletion hook, and they are no resources.
	if names := hookNames(app); len(names) != 0 {
		t.Errorf("the sync ran hooks %v", names)
	}
	if len(app.Status.Resources) != 1 || app.Status.Resources[0].Name != "data" {
		t.Errorf("resources: %s", describe(app))
	}
	for _, job := range []string{"backup", "cleanup"} {
		if _, err := h.env.Kube.BatchV1().Jobs(h.destNS).Get(context.Background(), job, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the deletion hook %s ran during the sync (get: %v)", job, err)
		}
	}
	want := []sollv1.DeletionHook{
		{Group: "batch", Kind: "Job", Namespace: h.destNS, Name: "backup", Types: []sollv1.HookType{sollv1.HookPreDelete}},
		{Group: "batch", Kind: "Job", Namespace: h.destNS, Name: "cleanup", Types: []sollv1.HookType{sollv1.HookPostDelete}},
	}
	if d := app.Status.Deletion; d == nil || !slices.EqualFunc(d.Hooks, want, deletionHookEqual) {
		t.Errorf("status.deletion = %+v, want the hooks %+v", d, want)
	}

	// Conditions: positive, no error where there is none.
	for typ, reason := range map[string]string{
		sollv1.ConditionReady:              sollv1.ReasonSyncedAndHealthy,
		sollv1.ConditionCompared:           sollv1.ReasonSucceeded,
		sollv1.ConditionOperationSucceeded: sollv1.ReasonSucceeded,
	} {
		if c := condition(app, typ); c == nil || c.Status != metav1.ConditionTrue || c.Reason != reason {
			t.Errorf("condition %s = %+v, want True, reason %s", typ, c, reason)
		}
	}
	if c := condition(app, sollv1.ConditionOperationSucceeded); c != nil && c.Message != app.Status.OperationState.Message {
		t.Errorf("OperationSucceeded says %q, the operation %q", c.Message, app.Status.OperationState.Message)
	}
	// The conditions of an earlier version go with the next status write,
	// and the new ones come.
	app.Status.Conditions = []metav1.Condition{{
		Type: "SyncError", Status: metav1.ConditionFalse, Reason: "Succeeded", Message: "successfully synced 1 objects", LastTransitionTime: metav1.Now(),
	}}
	if err := h.env.Client.Status().Update(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	h.settle("db", "normal")
	h.waitForApp("db", "the retired condition replaced", time.Minute, func(a *sollv1.Application) bool {
		c := condition(a, sollv1.ConditionOperationSucceeded)
		return condition(a, "SyncError") == nil && c != nil && c.Status == metav1.ConditionTrue && condition(a, sollv1.ConditionReady) != nil
	})

	tl := watchTimeline(t, h)
	h.deleteApp("db", true)
	h.waitGone("db", 2*time.Minute)
	tl.inOrder(t, "ADDED Job/backup", "COMPLETE Job/backup", "DELETED ConfigMap/data", "ADDED Job/cleanup", "COMPLETE Job/cleanup")
	// The PreDelete hook's Job goes with the objects, before PostDelete.
	tl.inOrder(t, "COMPLETE Job/backup", "DELETED Job/backup", "ADDED Job/cleanup")
	h.waitJobGone("backup")
	h.waitJobGone("cleanup")
	reasons := h.eventReasons("db")
	for _, r := range []string{"PreDeleteHooksSucceeded", "PostDeleteHooksSucceeded"} {
		if !slices.Contains(reasons, r) {
			t.Errorf("no event %s among %v", r, reasons)
		}
	}
}

func deletionHookEqual(a, b sollv1.DeletionHook) bool {
	return a.Group == b.Group && a.Kind == b.Kind && a.Namespace == b.Namespace && a.Name == b.Name && slices.Equal(a.Types, b.Types)
}

// TestFailingDeletionHookHoldsTheDeletion: a deletion hook that fails
// (written with Argo CD's annotations) stops the deletion where it is,
// says so in the Ready condition, status.deletion and an event, and is
// retried. A failed PreDelete hook keeps every object; a failed PostDelete
// hook keeps the Application (its objects are gone); sources that no
// longer render hold the deletion of an app known to have deletion hooks,
// rather than delete its objects without them. The fix in Git (and a
// refresh) lets the deletion finish.
func TestFailingDeletionHookHoldsTheDeletion(t *testing.T) {
	for _, c := range []struct {
		name    string
		phase   sollv1.HookType
		failing string // the Job that fails; none: the sources break
		reason  string
		says    string // in the condition, besides the hook
		order   []string
		// timeout is the controller's DeletionTimeout (0: the default),
		// shorter than the test for sources that break: known hooks are
		// waited for beyond it.
		timeout time.Duration
	}{{
		name: "PreDelete", phase: sollv1.HookPreDelete, failing: "drain", reason: sollv1.ReasonPreDeleteHooksFailed, says: "no object was deleted",
		order: []string{"FAILED Job/drain", "COMPLETE Job/drain", "DELETED ConfigMap/data", "ADDED Job/goodbye", "COMPLETE Job/goodbye"},
	}, {
		name: "PostDelete", phase: sollv1.HookPostDelete, failing: "goodbye", reason: sollv1.ReasonPostDeleteHooksFailed, says: "the objects are deleted",
		order: []string{"COMPLETE Job/drain", "DELETED ConfigMap/data", "FAILED Job/goodbye", "COMPLETE Job/goodbye"},
	}, {
		name: "sources that do not render", phase: sollv1.HookPreDelete, reason: sollv1.ReasonPreDeleteHooksFailed, says: "cannot render the sources",
		timeout: time.Second,
		order:   []string{"ADDED Job/drain", "COMPLETE Job/drain", "DELETED ConfigMap/data", "ADDED Job/goodbye", "COMPLETE Job/goodbye"},
	}} {
		t.Run(c.name, func(t *testing.T) {
			hooks := func(failing string) map[string]string {
				return map[string]string{
					"app/drain.yaml":   hookJobOf("drain", "argocd.argoproj.io/hook: PreDelete", failing == "drain"),
					"app/goodbye.yaml": hookJobOf("goodbye", "argocd.argoproj.io/hook: PostDelete, argocd.argoproj.io/hook-delete-policy: HookSucceeded", failing == "goodbye"),
				}
			}
			files := hooks(c.failing)
			files["app/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: data\ndata:\n  k: v\n"
			h := newHarnessWith(t, harnessOptions{files: files, deletionTimeout: c.timeout})
			h.createAppNamed("db", "app", nil)
			h.requestSyncOf("db")
			h.waitForApp("db", "the sync", 2*time.Minute, succeededAfter(1))
			if c.failing == "" {
				h.breakSources("db")
			}

			tl := watchTimeline(t, h)
			h.deleteApp("db", true)
			app := h.waitForApp("db", "two failed attempts", 2*time.Minute, func(a *sollv1.Application) bool {
				d := a.Status.Deletion
				r := condition(a, sollv1.ConditionReady)
				return d != nil && d.Attempts >= 2 && r != nil && r.Status == metav1.ConditionFalse && r.Reason == c.reason
			})
			msg := condition(app, sollv1.ConditionReady).Message
			hook := "batch/Job " + h.destNS + "/" + cmp.Or(c.failing, "drain")
			for _, want := range []string{string(c.phase) + " hook", hook, c.says, "--cascade=false"} {
				if !strings.Contains(msg, want) {
					t.Errorf("the Ready condition %q does not say %q", msg, want)
				}
			}
			d := app.Status.Deletion
			failed := slices.IndexFunc(d.Results, func(r sollv1.ResourceResult) bool {
				return r.Name == c.failing && r.HookPhase == sollv1.HookPhaseFailed && r.SyncPhase == sollv1.SyncPhase(c.phase)
			})
			if d.Phase != sollv1.DeletionPhase(c.phase) || (failed < 0) != (c.failing == "") {
				t.Errorf("status.deletion = %+v", d)
			}
			if !slices.Contains(h.eventReasons("db"), c.reason) {
				t.Errorf("no %s event among %v", c.reason, h.eventReasons("db"))
			}
			if c.phase == sollv1.HookPreDelete {
				if cm := h.configMap("data"); cm.DeletionTimestamp != nil {
					t.Error("an object was deleted although the PreDelete hook failed")
				}
				notRun := []string{"goodbye"}
				if c.failing == "" {
					notRun = append(notRun, "drain") // nothing rendered, nothing runs
				}
				for _, job := range notRun {
					if tl.at("ADDED Job/"+job) != 0 {
						t.Errorf("the hook %s ran; timeline:%s", job, tl)
					}
				}
			}

			// The fix: the Job can run now.
			fix := gitserver.Change{Message: "fix", Files: hooks("")}
			if c.failing == "" {
				fix.Remove = []string{"app/broken.yaml"}
			}
			h.git.Commit(t, h.repo, gitserver.DefaultBranch, fix)
			h.setAnnotationOf("db", sollv1.RefreshAnnotation, "normal")
			h.waitGone("db", 2*time.Minute)
			tl.inOrder(t, c.order...)
			h.waitJobGone("drain")
			h.waitJobGone("goodbye")
		})
	}
}

// breakSources commits a file that does not parse to app/ and waits until
// the Application name reports the render error.
func (h *harness) breakSources(name string) {
	h.t.Helper()
	h.git.Commit(h.t, h.repo, gitserver.DefaultBranch, gitserver.Change{Message: "break", Files: map[string]string{"app/broken.yaml": "kind: [\n"}})
	h.setAnnotationOf(name, sollv1.RefreshAnnotation, "hard")
	h.waitForApp(name, "the render error", time.Minute, func(a *sollv1.Application) bool { return isComparisonFailure(a, sollv1.ReasonRenderError) })
}

// TestDeletionWithoutKnownHooksOutlivesBrokenSources: an Application whose
// comparisons found no deletion hooks is deleted with its objects even
// when its sources no longer render, once DeletionTimeout has passed.
func TestDeletionWithoutKnownHooksOutlivesBrokenSources(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{deletionTimeout: 2 * time.Second, files: map[string]string{
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: data\ndata:\n  k: v\n",
	}})
	h.createAppNamed("db", "app", nil)
	h.requestSyncOf("db")
	if app := h.waitForApp("db", "the sync", 2*time.Minute, succeededAfter(1)); app.Status.Deletion != nil {
		t.Errorf("status.deletion = %+v for an app without deletion hooks", app.Status.Deletion)
	}
	h.breakSources("db")
	h.deleteApp("db", true)
	h.waitGone("db", time.Minute)
	if _, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).Get(context.Background(), "data", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the object was left (get: %v)", err)
	}
	if reasons := h.eventReasons("db"); !slices.Contains(reasons, "DeletionHooksSkipped") {
		t.Errorf("no DeletionHooksSkipped event among %v", reasons)
	}
}

// TestDeletionWithoutCascadeRunsNoHooks: an Application deleted without
// its objects runs none of its deletion hooks and leaves its objects. It
// is held by a finalizer of the test's, so that the controller is seen to
// reconcile it while it is being deleted.
func TestDeletionWithoutCascadeRunsNoHooks(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{files: map[string]string{
		"app/cm.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: data\ndata:\n  k: v\n",
		"app/backup.yaml":  hookJobOf("backup", "soll.dev/hook: PreDelete", false),
		"app/cleanup.yaml": hookJobOf("cleanup", "argocd.argoproj.io/hook: PostDelete", false),
	}})
	const hold = "test.soll.dev/hold"
	h.createAppNamed("db", "app", func(a *sollv1.Application) { a.Finalizers = append(a.Finalizers, hold) })
	h.requestSyncOf("db")
	h.waitForApp("db", "the sync", 2*time.Minute, succeededAfter(1))
	tl := watchTimeline(t, h)
	h.deleteApp("db", false)
	app := h.waitForApp("db", "the deletion seen", time.Minute, func(a *sollv1.Application) bool {
		c := condition(a, sollv1.ConditionReady)
		return c != nil && c.Reason == sollv1.ReasonDeleting
	})
	if msg := condition(app, sollv1.ConditionReady).Message; !strings.Contains(msg, "without its objects") {
		t.Errorf("the Ready condition says %q", msg)
	}
	if cm := h.configMap("data"); cm.DeletionTimestamp != nil {
		t.Error("the object was deleted by a deletion without cascade")
	}
	for _, job := range []string{"backup", "cleanup"} {
		if tl.at("ADDED Job/"+job) != 0 {
			t.Errorf("the hook %s ran; timeline:%s", job, tl)
		}
	}
	patch := client.MergeFrom(app.DeepCopy())
	controllerutil.RemoveFinalizer(app, hold)
	if err := h.env.Client.Patch(context.Background(), app, patch); err != nil {
		t.Fatal(err)
	}
	h.waitGone("db", time.Minute)
	if cm := h.configMap("data"); cm.DeletionTimestamp != nil {
		t.Error("the object was deleted by a deletion without cascade")
	}
}
