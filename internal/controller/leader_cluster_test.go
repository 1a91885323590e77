package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/controller"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

// replica is a controller started beside the harness's, as another pod
// of soll would run.
type replica struct {
	mgr ctrl.Manager
	// finished is closed when the manager has stopped, with err.
	finished chan struct{}
	err      error
}

// startReplica starts another controller with the harness's options but
// a cache directory of its own. It is stopped when the test ends.
func (h *harness) startReplica() *replica {
	h.t.Helper()
	opts := h.opts
	opts.CacheDir = h.t.TempDir()
	mgr, err := controller.NewManager(h.config, opts)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{mgr: mgr, finished: make(chan struct{})}
	go func() {
		r.err = mgr.Start(ctx)
		close(r.finished)
	}()
	h.t.Cleanup(func() {
		cancel()
		<-r.finished
	})
	return r
}

// operationsStarted counts the OperationStarted events of the app name.
func (h *harness) operationsStarted(name string) int {
	h.t.Helper()
	n := 0
	for _, r := range h.eventReasons(name) {
		if r == "OperationStarted" {
			n++
		}
	}
	return n
}

// elected reports whether m leads.
func elected(m ctrl.Manager) bool {
	select {
	case <-m.Elected():
		return true
	default:
		return false
	}
}

// lease returns the controller's Lease in soll's namespace.
func (h *harness) lease() *coordinationv1.Lease {
	h.t.Helper()
	var l coordinationv1.Lease
	key := client.ObjectKey{Namespace: h.sollNS, Name: controller.DefaultLeaderElectionID}
	if err := h.env.Client.Get(context.Background(), key, &l); err != nil {
		h.t.Fatalf("get the Lease: %v", err)
	}
	return &l
}

func holder(l *coordinationv1.Lease) string {
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// waitUntil polls cond every 50ms for at most timeout and returns how long
// it took.
func (h *harness) waitUntil(what string, timeout time.Duration, cond func() bool) time.Duration {
	h.t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := testenv.Eventually(ctx, 50*time.Millisecond, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		h.t.Fatalf("waiting for %s: %v", what, err)
	}
	return time.Since(start)
}

// TestLeaderElection runs two controllers on one namespace: one leads and
// syncs the app once; when it stops, the other takes over within seconds,
// syncs a new app and does not run the first app's operation again. A
// leader whose Lease is taken stops with an error naming the Lease, and a
// leader that dies without releasing it is replaced once it expires.
func TestLeaderElection(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{leaderElection: true, files: map[string]string{
		"app/web.yaml": webYAML(1, "1"),
		"app2/cm.yaml": secondCM("v"),
	}})
	ctx := context.Background()
	a := h.mgr
	h.waitUntil("the first controller to lead", 30*time.Second, func() bool { return elected(a) })
	first := holder(h.lease())
	b := h.startReplica()

	automated := func(app *sollv1.Application) {
		app.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}}
	}
	synced := func(app *sollv1.Application) bool {
		st := app.Status.OperationState
		return app.Status.Sync != nil && app.Status.Sync.Status == sollv1.SyncStatusSynced &&
			st != nil && st.Phase == sollv1.OperationSucceeded && len(app.Status.History) >= 1
	}
	// App one is synced by hand: its operation is in spec.operation
	// for both controllers to see.
	h.createAppNamed("one", "app", nil)
	h.syncApp("one", 1)
	h.waitForApp("one", "the leader to sync app one", 2*time.Minute, synced)
	h.waitUntil("the OperationStarted event of app one", 30*time.Second, func() bool { return h.operationsStarted("one") == 1 })
	if elected(b.mgr) {
		t.Fatal("the second controller leads beside the first")
	}
	if got := holder(h.lease()); got != first || first == "" {
		t.Fatalf("Lease held by %q, want the first controller %q", got, first)
	}

	// The leader stops (SIGTERM): it releases the Lease, and the other
	// takes over without waiting for it to expire.
	stop := time.Now()
	h.stopController()
	h.waitUntil("the second controller to lead", 20*time.Second, func() bool { return elected(b.mgr) })
	took := time.Since(stop)
	t.Logf("handover from the stop of the leader: %s", took.Round(10*time.Millisecond))
	second := holder(h.lease())
	if second == first || second == "" {
		t.Fatalf("Lease held by %q after the handover, want another than %q", second, first)
	}
	h.createAppNamed("two", "app2", automated)
	h.waitForApp("two", "the new leader to sync app two", 2*time.Minute, synced)

	// App one's sync ran once: one history entry, one OperationStarted.
	if n := len(h.appNamed("one").Status.History); n != 1 {
		t.Errorf("app one has %d history entries, want 1: its sync ran again on the new leader", n)
	}
	if n := h.operationsStarted("one"); n != 1 {
		t.Errorf("app one has %d OperationStarted events, want 1", n)
	}

	// A third controller waits beside the leader. Another holder takes
	// the Lease (as after a partition) and never renews it (as a leader
	// killed at once): the leader cannot renew the Lease and stops with
	// an error naming it; the third controller leads once the Lease
	// expired, after the old leader stopped.
	c := h.startReplica()
	l := h.lease()
	intruder := "intruder"
	now := metav1.NewMicroTime(time.Now())
	l.Spec.HolderIdentity, l.Spec.AcquireTime, l.Spec.RenewTime = &intruder, &now, &now
	if err := h.env.Client.Update(ctx, l); err != nil {
		t.Fatal(err)
	}
	stolen := time.Now()
	h.waitUntil("the leader to stop once it lost the Lease", controller.LeaderRenewDeadline+10*time.Second, func() bool {
		select {
		case <-b.finished:
			return true
		default:
			return false
		}
	})
	stopped := time.Since(stolen)
	t.Logf("leader stopped %s after its Lease was taken", stopped.Round(10*time.Millisecond))
	if b.err == nil || !strings.Contains(b.err.Error(), "lost the Lease "+h.sollNS+"/"+controller.DefaultLeaderElectionID) {
		t.Fatalf("the leader stopped with %v, want an error naming the lost Lease", b.err)
	}
	if elected(c.mgr) {
		t.Fatal("the third controller led before the old leader stopped")
	}
	h.waitUntil("the third controller to lead after the Lease expired", controller.LeaderLeaseDuration+15*time.Second, func() bool { return elected(c.mgr) })
	took = time.Since(stolen)
	t.Logf("takeover after the last renewal of a dead leader: %s", took.Round(10*time.Millisecond))
	if took < controller.LeaderLeaseDuration {
		t.Errorf("took the Lease %s after its last renewal, before it expired (%s)", took, controller.LeaderLeaseDuration)
	}
	h.git.Commit(t, h.repo, gitserver.DefaultBranch, gitserver.Change{Message: "change app two", Files: map[string]string{"app2/cm.yaml": secondCM("w")}})
	h.setAnnotationOf("two", sollv1.RefreshAnnotation, "hard")
	h.waitForApp("two", "the new leader to sync app two's change", 2*time.Minute, func(app *sollv1.Application) bool {
		return synced(app) && len(app.Status.History) == 2
	})
}

// secondCM is the ConfigMap of app two, with the value v.
func secondCM(v string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second\ndata:\n  k: " + v + "\n"
}
