package controller_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/kube"
	"soll.dev/internal/resource"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

// The reliability tests: what soll does when the world misbehaves. Each
// one breaks something real (the controller process, the Git server, a
// commit, the API server) and checks that nothing is lost, nothing is
// applied that should not be, and soll recovers by itself.

func configMapYAML(name string, wave int, data map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n", name)
	if wave != 0 {
		fmt.Fprintf(&b, "  annotations:\n    soll.dev/sync-wave: %q\n", fmt.Sprint(wave))
	}
	b.WriteString("data:\n")
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s: %q\n", k, data[k])
	}
	return b.String()
}

// deploymentYAML is a Deployment that becomes available minReady seconds
// after its pod is ready: Kubernetes itself guarantees the wait.
func deploymentYAML(name string, wave, minReady int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  annotations:
    soll.dev/sync-wave: "%[2]d"
spec:
  replicas: 1
  minReadySeconds: %[3]d
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
      - name: app
        image: registry.example/%[1]s:1
`, name, wave, minReady)
}

func isCondition(a *sollv1.Application, typ, reason string) bool {
	c := condition(a, typ)
	return c != nil && c.Status == metav1.ConditionTrue && (reason == "" || c.Reason == reason)
}

func hasResult(st *sollv1.OperationState, kind, name string) bool {
	if st == nil || st.SyncResult == nil {
		return false
	}
	return slices.ContainsFunc(st.SyncResult.Resources, func(r sollv1.ResourceResult) bool { return r.Kind == kind && r.Name == name })
}

// liveUIDs reads every object of the app's inventory and returns their
// UIDs; it fails the test when one is missing or being deleted.
func (h *harness) liveUIDs(app *sollv1.Application) map[resource.Key]types.UID {
	h.t.Helper()
	kc, err := kube.New(h.env.Config)
	if err != nil {
		h.t.Fatal(err)
	}
	uids := map[resource.Key]types.UID{}
	for _, rs := range app.Status.Resources {
		k := resource.Key{Group: rs.Group, Kind: rs.Kind, Namespace: rs.Namespace, Name: rs.Name}
		live, err := kc.Get(context.Background(), kube.KeyGVK(k, rs.Version), k.Namespace, k.Name)
		switch {
		case err != nil:
			h.t.Fatalf("read %s: %v", k, err)
		case live == nil:
			h.t.Fatalf("%s is gone from the cluster", k)
		case live.GetDeletionTimestamp() != nil:
			h.t.Fatalf("%s is being deleted", k)
		}
		uids[k] = live.GetUID()
	}
	return uids
}

// failedSyncs counts the sync operations that failed in this process
// (soll_sync_operations_total{result="failed"}): a failure the controller
// could not record in the Application, for want of an API server, still
// counts.
func failedSyncs(t *testing.T) float64 { return syncOps(t, "failed") }

// syncOps counts the sync operations that ended with result in this
// process.
func syncOps(t *testing.T, result string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() != "soll_sync_operations_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

// TestEachAutomatedAppSyncsOnce creates many automated apps at once: each
// syncs exactly once. The watch events of a sync's own objects queue the
// app again while its status is written, and the reconcile that follows
// must not read a cache still showing the operation Running and run it a
// second time.
func TestEachAutomatedAppSyncsOnce(t *testing.T) {
	const n = 16
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("app%02d/cm.yaml", i)] = configMapYAML(fmt.Sprintf("cm%02d", i), 0, map[string]string{"i": "x"})
		files[fmt.Sprintf("app%02d/deploy.yaml", i)] = deploymentYAML(fmt.Sprintf("d%02d", i), 0, 0)
	}
	h := newHarnessWith(t, harnessOptions{files: files})
	before := syncOps(t, "succeeded")
	for i := range n {
		name := fmt.Sprintf("app%02d", i)
		h.createAppNamed(name, name, func(a *sollv1.Application) {
			a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{Prune: true, SelfHeal: true}}
		})
	}
	for i := range n {
		app := h.waitForApp(fmt.Sprintf("app%02d", i), "Synced and Healthy", 2*time.Minute, syncedHealthy)
		if len(app.Status.History) != 1 {
			t.Errorf("%s: %d history entries, want 1:\n%s", app.Name, len(app.Status.History), describe(app))
		}
	}
	if got := syncOps(t, "succeeded") - before; got != n {
		t.Fatalf("%v sync operations for %d apps, want one each", got, n)
	}
}

// TestResumeAfterControllerRestart stops the controller in the middle of a
// sync (wave 0 applied, wave 1 waiting to become healthy, wave 2 not
// applied) and starts a new one: the operation is left Running, not
// failed (its SyncFail hook does not run), and the new controller resumes
// the same operation to Succeeded, applying the waves in order.
func TestResumeAfterControllerRestart(t *testing.T) {
	const minReady = 6
	h := newHarnessWith(t, harnessOptions{files: map[string]string{
		"waves/wave0.yaml": configMapYAML("wave0", 0, map[string]string{"n": "0"}),
		"waves/wave1.yaml": deploymentYAML("wave1", 1, minReady),
		"waves/wave2.yaml": configMapYAML("wave2", 2, map[string]string{"n": "2"}),
		"waves/on-fail.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: on-fail\n  annotations:\n    soll.dev/hook: SyncFail\n" +
			"data:\n  failed: \"true\"\n",
	}})
	h.appName = "waves"
	h.createAppNamed(h.appName, "waves", nil)
	h.waitFor("OutOfSync", time.Minute, func(a *sollv1.Application) bool {
		return a.Status.Sync != nil && a.Status.Sync.Status == sollv1.SyncStatusOutOfSync
	})

	h.requestSync()
	running := h.waitFor("wave 1 applied", time.Minute, func(a *sollv1.Application) bool {
		st := a.Status.OperationState
		return st != nil && st.Phase == sollv1.OperationRunning && hasResult(st, "Deployment", "wave1")
	})
	// wave1 cannot be available for minReady seconds after its pod is
	// ready, so the sync is still waiting for it.
	h.stopController()
	if hasResult(running.Status.OperationState, "ConfigMap", "wave2") {
		t.Fatalf("wave 2 was applied before the controller stopped; the test needs a slower wave 1:\n%s", describe(running))
	}

	stopped := h.app()
	st := stopped.Status.OperationState
	if st == nil || st.Phase != sollv1.OperationRunning {
		t.Fatalf("after the controller stopped, the operation should be left Running to be resumed:\n%s", describe(stopped))
	}
	for _, name := range []string{"wave2", "on-fail"} {
		if _, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).Get(context.Background(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("ConfigMap %s exists although the controller stopped during wave 1 (err=%v)", name, err)
		}
	}
	startedAt := st.StartedAt

	h.startController()
	app := h.waitFor("operation resumed and Succeeded", 2*time.Minute, func(a *sollv1.Application) bool {
		st := a.Status.OperationState
		return st != nil && st.Phase == sollv1.OperationSucceeded && syncedHealthy(a)
	})
	st = app.Status.OperationState
	if !st.StartedAt.Equal(&startedAt) || st.Operation.InitiatedBy == nil || st.Operation.InitiatedBy.Username != "alice" {
		t.Errorf("a new operation ran instead of the interrupted one being resumed: started %s (want %s), initiated by %+v",
			st.StartedAt, startedAt, st.Operation.InitiatedBy)
	}
	if len(app.Status.History) != 1 {
		t.Errorf("want one history entry for the one operation, got %d: %+v", len(app.Status.History), app.Status.History)
	}
	var waves []int32
	for _, r := range st.SyncResult.Resources {
		if r.Status != sollv1.ResultCode("Synced") {
			t.Errorf("%s %s: %s %s", r.Kind, r.Name, r.Status, r.Message)
		}
		waves = append(waves, r.SyncWave)
	}
	if len(waves) != 3 || !slices.IsSorted(waves) {
		t.Errorf("sync result waves %v: want all three, in wave order", waves)
	}

	if _, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).Get(context.Background(), "on-fail", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the SyncFail hook ran, although the operation succeeded (err=%v)", err)
	}

	// The objects were created in wave order, and wave 2 only after wave 1
	// was available (timestamps have one-second resolution).
	ctx := context.Background()
	cm0, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).Get(ctx, "wave0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dep, err := h.env.Kube.AppsV1().Deployments(h.destNS).Get(ctx, "wave1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm2, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).Get(ctx, "wave2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c0, c1, c2 := cm0.CreationTimestamp.Time, dep.CreationTimestamp.Time, cm2.CreationTimestamp.Time
	if c1.Before(c0) || c2.Before(c1) {
		t.Errorf("created out of order: wave0 %s, wave1 %s, wave2 %s", c0, c1, c2)
	}
	if c2.Sub(c1) < (minReady-1)*time.Second {
		t.Errorf("wave 2 was created %s after wave 1, before wave 1 could be available (minReadySeconds %d)", c2.Sub(c1), minReady)
	}
	for _, c := range dep.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == "True" && c2.Before(c.LastTransitionTime.Time) {
			t.Errorf("wave 2 was created at %s, before wave 1 became available at %s", c2, c.LastTransitionTime)
		}
	}
}

// TestGitServerDown takes the Git server away from an app that is synced
// with auto-sync and prune: the app keeps its resources, says which
// repository it cannot reach, keeps retrying, and recovers by itself once
// the server is back.
func TestGitServerDown(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{errorRetryInterval: time.Second})
	h.createApp(func(a *sollv1.Application) {
		a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{Prune: true, SelfHeal: true}}
	})
	app := h.waitFor("synced by auto-sync", 2*time.Minute, syncedHealthy)
	rev, resources, history := app.Status.Sync.Revision, len(app.Status.Resources), len(app.Status.History)
	uids := h.liveUIDs(app)

	h.git.Close()
	h.setAnnotation(sollv1.RefreshAnnotation, "hard")
	app = h.waitFor("SourceError", time.Minute, func(a *sollv1.Application) bool {
		return isComparisonFailure(a, "SourceError")
	})
	msg := comparisonFailure(app).Message
	t.Logf("condition while Git is down: %s", msg)
	if !strings.Contains(msg, h.git.HTTPURL(h.repo)) {
		t.Errorf("the condition does not name the repository %s: %q", h.git.HTTPURL(h.repo), msg)
	}
	if strings.Contains(msg, "s3cret-git-password") {
		t.Errorf("the condition leaks the Git password: %q", msg)
	}
	// The controller retries on its own and keeps failing; meanwhile
	// nothing is deleted or pruned.
	failedAt := app.Status.ReconciledAt
	app = h.waitFor("a retry while the server is down", time.Minute, func(a *sollv1.Application) bool {
		return a.Status.ReconciledAt != nil && a.Status.ReconciledAt.After(failedAt.Time) && isComparisonFailure(a, "SourceError")
	})
	if len(app.Status.Resources) != resources {
		t.Errorf("the inventory changed while Git was down: %d resources, want %d\n%s", len(app.Status.Resources), resources, describe(app))
	}
	for k, uid := range h.liveUIDs(app) {
		if uids[k] != uid {
			t.Errorf("%s was replaced while Git was down", k)
		}
	}

	h.git.Restart(t)
	app = h.waitFor("recovered without help", time.Minute, func(a *sollv1.Application) bool {
		return comparisonFailure(a) == nil && syncedHealthy(a)
	})
	if app.Status.Sync.Revision != rev || len(app.Status.History) != history {
		t.Errorf("after recovery: revision %s (want %s), %d history entries (want %d)", app.Status.Sync.Revision, rev, len(app.Status.History), history)
	}
	for k, uid := range h.liveUIDs(app) {
		if uids[k] != uid {
			t.Errorf("%s was replaced", k)
		}
	}
}

// TestInvalidManifestInCommit pushes a commit that changes four files and
// breaks one of them: nothing of that commit is applied, the condition
// names the file and the line, and the next commit, which fixes it,
// deploys everything.
func TestInvalidManifestInCommit(t *testing.T) {
	files := map[string]string{}
	for _, n := range []string{"a", "b", "c", "d"} {
		files["app/"+n+".yaml"] = configMapYAML(n, 0, map[string]string{"version": "1"})
	}
	h := newHarnessWith(t, harnessOptions{files: files, errorRetryInterval: time.Second})
	h.appName = "configs"
	h.createAppNamed(h.appName, "app", func(a *sollv1.Application) {
		a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{Prune: true, SelfHeal: true}}
	})
	app := h.waitFor("version 1 synced", 2*time.Minute, syncedHealthy)
	good := app.Status.Sync.Revision

	// Line 7 is indented deeper than the mapping it belongs to.
	broken := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  version: \"2\"\n   extra: \"oops\"\n"
	h.git.Commit(t, h.repo, gitserver.DefaultBranch, gitserver.Change{Message: "version 2, with a typo", Files: map[string]string{
		"app/a.yaml": configMapYAML("a", 0, map[string]string{"version": "2"}),
		"app/b.yaml": configMapYAML("b", 0, map[string]string{"version": "2"}),
		"app/c.yaml": broken,
		"app/d.yaml": configMapYAML("d", 0, map[string]string{"version": "2"}),
	}})
	h.setAnnotation(sollv1.RefreshAnnotation, "hard")
	app = h.waitFor("RenderError", time.Minute, func(a *sollv1.Application) bool {
		return isComparisonFailure(a, "RenderError")
	})
	msg := comparisonFailure(app).Message
	t.Logf("condition after the broken commit: %s", msg)
	if !strings.Contains(msg, "app/c.yaml:7") {
		t.Errorf("the condition should name app/c.yaml, line 7: %q", msg)
	}
	// Auto-sync had its chance in the reconcile that failed; make sure
	// that reconcile and one more are over before looking.
	h.settle(h.appName, "normal")
	app = h.app()
	for _, n := range []string{"a", "b", "c", "d"} {
		if v := h.configMap(n).Data["version"]; v != "1" {
			t.Errorf("ConfigMap %s has version %s: part of the broken commit was applied", n, v)
		}
	}
	st := app.Status.OperationState
	if app.Status.Sync.Revision != good || st == nil || st.Phase != sollv1.OperationSucceeded || !slices.Equal(st.SyncResult.Revisions, []string{good}) ||
		len(app.Status.History) != 1 || len(app.Status.Resources) != 4 {
		t.Errorf("the state of the last good sync was not kept:\n%s\nhistory %+v", describe(app), app.Status.History)
	}

	fixed := h.git.Commit(t, h.repo, gitserver.DefaultBranch, gitserver.Change{Message: "fix the typo", Files: map[string]string{
		"app/c.yaml": configMapYAML("c", 0, map[string]string{"version": "2", "extra": "fixed"}),
	}})
	h.setAnnotation(sollv1.RefreshAnnotation, "hard")
	h.waitFor("the fix deployed", 2*time.Minute, func(a *sollv1.Application) bool {
		return syncedHealthy(a) && a.Status.Sync.Revision == fixed && comparisonFailure(a) == nil
	})
	for _, n := range []string{"a", "b", "c", "d"} {
		if v := h.configMap(n).Data["version"]; v != "2" {
			t.Errorf("ConfigMap %s has version %s after the fix, want 2", n, v)
		}
	}
}

// TestSharedResourceConflict has two apps render the same ConfigMap. The
// first one to sync owns it; the second reports the conflict, naming the
// object and the owner, and its syncs (automated and requested) fail
// without touching the object: no tug of war.
func TestSharedResourceConflict(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{files: map[string]string{
		"a/shared.yaml": configMapYAML("shared", 0, map[string]string{"owner": "a"}),
		"b/shared.yaml": configMapYAML("shared", 0, map[string]string{"owner": "b"}),
		"b/own.yaml":    configMapYAML("b-own", 0, map[string]string{"owner": "b"}),
	}})
	auto := func(a *sollv1.Application) {
		a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{Prune: true, SelfHeal: true}}
	}
	h.createAppNamed("app-a", "a", auto)
	h.waitForApp("app-a", "app-a synced", 2*time.Minute, syncedHealthy)
	before := h.configMap("shared")
	owner := before.Annotations[resource.TrackingAnnotation]
	if ns, name, _, ok := resource.ParseTrackingID(owner); !ok || ns != h.sollNS || name != "app-a" {
		t.Fatalf("shared is tracked as %q, want app-a", owner)
	}

	h.createAppNamed("app-b", "b", auto)
	appA := h.sollNS + "/app-a"
	b := h.waitForApp("app-b", "app-b reports the conflict", time.Minute, func(a *sollv1.Application) bool {
		return isCondition(a, sollv1.ApplicationSharedResource, "")
	})
	msg := condition(b, sollv1.ApplicationSharedResource).Message
	t.Logf("app-b's condition: %s", msg)
	if !strings.Contains(msg, "ConfigMap "+h.destNS+"/shared") || !strings.Contains(msg, appA) {
		t.Errorf("the condition should name ConfigMap %s/shared and %s: %q", h.destNS, appA, msg)
	}
	if b.Status.Sync == nil || b.Status.Sync.Status != sollv1.SyncStatusOutOfSync {
		t.Errorf("app-b should be OutOfSync:\n%s", describe(b))
	}
	failedWithConflict := func(st *sollv1.OperationState) bool {
		return st != nil && st.Phase == sollv1.OperationFailed && strings.Contains(st.Message, "shared") && strings.Contains(st.Message, appA)
	}
	h.waitForApp("app-b", "app-b's automated sync refused", time.Minute, func(a *sollv1.Application) bool {
		return failedWithConflict(a.Status.OperationState)
	})

	// A user asks for the sync anyway, twice.
	for i := range 2 {
		h.requestSyncOf("app-b")
		b = h.waitForApp("app-b", fmt.Sprintf("requested sync %d refused", i+1), time.Minute, func(a *sollv1.Application) bool {
			st := a.Status.OperationState
			return a.Operation == nil && failedWithConflict(st) && st.Operation.InitiatedBy != nil && st.Operation.InitiatedBy.Username == "alice"
		})
		if r := b.Status.OperationState.SyncResult; r == nil || !slices.ContainsFunc(r.Resources, func(r sollv1.ResourceResult) bool {
			return r.Name == "shared" && r.Status == sollv1.ResultCode("SyncFailed") && strings.Contains(r.Message, appA)
		}) {
			t.Errorf("the sync result should fail ConfigMap shared, naming %s: %+v", appA, b.Status.OperationState.SyncResult)
		}
		h.settle("app-a", "hard")
		h.settle("app-b", "hard")
	}

	after := h.configMap("shared")
	if after.Annotations[resource.TrackingAnnotation] != owner || after.Data["owner"] != "a" || after.ResourceVersion != before.ResourceVersion {
		t.Errorf("app-b's syncs changed ConfigMap shared: tracking %q, data %v, resourceVersion %s (was %s)",
			after.Annotations[resource.TrackingAnnotation], after.Data, after.ResourceVersion, before.ResourceVersion)
	}
	if _, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).Get(context.Background(), "b-own", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a refused sync applied b-own (err=%v)", err)
	}
	a := h.appNamed("app-a")
	if !syncedHealthy(a) || isCondition(a, sollv1.ApplicationSharedResource, "") || len(a.Status.History) != 1 {
		t.Errorf("app-a should be untouched: Synced, Healthy, one sync, no conflict:\n%s", describe(a))
	}
}

// TestAPIServerRestartDuringSync restarts kube-apiserver of a private
// cluster while a sync applies its waves: a slow Deployment, then 100
// ConfigMaps, then one more. The applies that meet the stopped API server
// are retried until it is back, and the operation succeeds without
// failing once: had an attempt failed, with the failure unrecorded for want
// of an API server, the next reconcile would have run the operation again
// from wave 0 and it would look the same from outside; the controller's
// metrics tell.
func TestAPIServerRestartDuringSync(t *testing.T) {
	const n, qps = 100, 5
	files := map[string]string{
		"slow/first.yaml": deploymentYAML("first", 0, 2),
		"slow/last.yaml":  configMapYAML("last", 2, map[string]string{"wave": "2"}),
	}
	for i := range n {
		files[fmt.Sprintf("slow/cm-%03d.yaml", i)] = configMapYAML(fmt.Sprintf("cm-%03d", i), 1, map[string]string{"wave": "1"})
	}
	env := testenv.NewCluster(t, 1)
	// At 5 requests a second, applying wave 1 takes 20 seconds at least,
	// longer than a restart even on a loaded machine (about 15 s seen
	// under a load of 10): the API server goes away while the wave is
	// being applied, and comes back before it ends.
	h := newHarnessWith(t, harnessOptions{env: env, files: files, errorRetryInterval: time.Second, clientQPS: qps})
	h.appName = "slow"
	h.createAppNamed(h.appName, "slow", nil)
	h.waitFor("OutOfSync", time.Minute, func(a *sollv1.Application) bool {
		return a.Status.Sync != nil && a.Status.Sync.Status == sollv1.SyncStatusOutOfSync
	})

	failedBefore := failedSyncs(t)
	h.requestSync()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wave1 := func(ctx context.Context) ([]corev1.ConfigMap, error) {
		l, err := env.Kube.CoreV1().ConfigMaps(h.destNS).List(ctx, metav1.ListOptions{LabelSelector: sollv1.ManagedLabel + "=true"})
		if err != nil {
			return nil, err
		}
		return slices.DeleteFunc(l.Items, func(cm corev1.ConfigMap) bool { return !strings.HasPrefix(cm.Name, "cm-") }), nil
	}
	var before int
	err := testenv.Eventually(ctx, 10*time.Millisecond, func(ctx context.Context) (bool, error) {
		cms, err := wave1(ctx)
		before = len(cms)
		return before > 0, err
	})
	if err != nil {
		t.Fatalf("wave 1 never started: %v\n%s", err, describe(h.app()))
	}
	restartStart := time.Now()
	if err := env.Local.Restart(ctx, "kube-apiserver"); err != nil {
		t.Fatal(err)
	}
	restartEnd := time.Now()
	t.Logf("kube-apiserver restarted in %s, with %d of %d ConfigMaps of wave 1 applied before", restartEnd.Sub(restartStart).Round(time.Millisecond), before, n)

	app := h.waitFor("the operation to end", 3*time.Minute, func(a *sollv1.Application) bool {
		st := a.Status.OperationState
		return st != nil && st.Phase != sollv1.OperationRunning
	})
	st := app.Status.OperationState
	if st.Phase != sollv1.OperationSucceeded || st.RetryCount != 0 {
		t.Fatalf("operation %s after %d retries: %s\n%s", st.Phase, st.RetryCount, st.Message, describe(app))
	}
	t.Logf("operation took %s", st.FinishedAt.Sub(st.StartedAt.Time))
	if n := failedSyncs(t) - failedBefore; n != 0 {
		t.Errorf("%v attempts of the operation failed during the restart, to be run again from the start", n)
	}
	h.waitFor("Synced and Healthy", time.Minute, syncedHealthy)
	if got := len(st.SyncResult.Resources); got != n+2 {
		t.Errorf("the sync result has %d objects, want %d", got, n+2)
	}
	// Wave 1 was being applied when the API server stopped and went on
	// when it was back: the outage fell in the middle of the wave.
	cms, err := wave1(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	after := 0
	for _, cm := range cms {
		if !cm.CreationTimestamp.Time.Before(restartEnd.Truncate(time.Second)) {
			after++
		}
	}
	if len(cms) != n || after == 0 {
		t.Errorf("%d ConfigMaps of wave 1, %d created after the restart: want %d, some after", len(cms), after, n)
	}
	last := h.configMap("last")
	for _, cm := range cms {
		if last.CreationTimestamp.Time.Before(cm.CreationTimestamp.Time) {
			t.Errorf("wave 2 was created at %s, before %s of wave 1 (%s)", last.CreationTimestamp, cm.Name, cm.CreationTimestamp)
		}
	}
}

// TestOperationTimeout stops a sync that waits longer than the app's
// spec.syncPolicy.operationTimeout: it fails, saying so, and the next
// wave is never applied.
func TestOperationTimeout(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{files: map[string]string{
		// Available only 5 minutes after its pod is ready (the default
		// progress deadline is 10 minutes).
		"slow/deploy.yaml": deploymentYAML("slow", 0, 300),
		"slow/after.yaml":  configMapYAML("after", 1, map[string]string{"n": "1"}),
	}})
	h.appName = "slow"
	h.createAppNamed(h.appName, "slow", func(a *sollv1.Application) {
		a.Spec.SyncPolicy = &sollv1.SyncPolicy{OperationTimeout: &metav1.Duration{Duration: 10 * time.Second}}
	})
	h.waitFor("OutOfSync", time.Minute, func(a *sollv1.Application) bool {
		return a.Status.Sync != nil && a.Status.Sync.Status == sollv1.SyncStatusOutOfSync
	})
	h.requestSync()
	app := h.waitFor("operation Failed", time.Minute, func(a *sollv1.Application) bool {
		st := a.Status.OperationState
		return st != nil && st.Phase == sollv1.OperationFailed
	})
	st := app.Status.OperationState
	if !strings.Contains(st.Message, "timed out after 10s (spec.syncPolicy.operationTimeout)") {
		t.Fatalf("message %q does not say the operation timed out:\n%s", st.Message, describe(app))
	}
	if took := st.FinishedAt.Sub(st.StartedAt.Time); took < 9*time.Second || took > 40*time.Second {
		t.Fatalf("the operation took %s, want about 10s", took)
	}
	if _, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).Get(context.Background(), "after", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("wave 1 was applied although wave 0 never became healthy (err=%v)", err)
	}

	// The CRD refuses a timeout out of range, naming the field.
	bad := h.app()
	bad.Spec.SyncPolicy.OperationTimeout = &metav1.Duration{Duration: time.Second}
	err := h.env.Client.Update(context.Background(), bad)
	if err == nil || !strings.Contains(err.Error(), "operationTimeout must be between 10s and 24h") {
		t.Fatalf("a 1s operationTimeout: err %v, want the CRD's refusal", err)
	}
}
