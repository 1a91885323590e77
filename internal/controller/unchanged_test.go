package controller

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	sollv1 "soll.dev/api/v1alpha1"
)

func idleApp() *sollv1.Application {
	now := metav1.Now()
	return &sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: "soll", Name: "a", UID: "u1", ResourceVersion: "7", Generation: 2},
		Spec:       sollv1.ApplicationSpec{Source: &sollv1.ApplicationSource{RepoURL: "https://git.example.com/r.git", Path: "app"}},
		Status: sollv1.ApplicationStatus{
			Sync:         &sollv1.SyncStatus{Status: sollv1.SyncStatusSynced},
			Health:       &sollv1.HealthStatus{Status: sollv1.HealthHealthy},
			ReconciledAt: &now,
			Resources: []sollv1.ResourceStatus{
				{Version: "v1", Kind: "ConfigMap", Namespace: "dest", Name: "cm"},
				{Group: "batch", Version: "v1", Kind: "Job", Namespace: "dest", Name: "hook", Hook: true},
			},
		},
	}
}

// TestFingerprintNamesEveryInput: a comparison is only skipped when the
// fingerprint is equal, so every input must change it.
func TestFingerprintNamesEveryInput(t *testing.T) {
	versions := map[string]string{"ConfigMap/dest/cm": "100"}
	base := func() fingerprintInputs {
		return fingerprintInputs{
			project: "p/1", settings: "s/1", sops: "k/1", cluster: "v1.37.2/40", revisions: []string{"aaaa"},
			liveVersion: func(gvk schema.GroupVersionKind, ns, name string) (string, bool) {
				v, ok := versions[gvk.Kind+"/"+ns+"/"+name]
				return v, ok
			},
		}
	}
	want, ok := fingerprint(idleApp(), base())
	if !ok {
		t.Fatal("fingerprint of an app whose objects are all watched: not ok")
	}
	if again, _ := fingerprint(idleApp(), base()); again != want {
		t.Fatal("fingerprint is not deterministic")
	}
	changes := map[string]func(*sollv1.Application, *fingerprintInputs){
		"app version":   func(a *sollv1.Application, _ *fingerprintInputs) { a.ResourceVersion = "8" },
		"app uid":       func(a *sollv1.Application, _ *fingerprintInputs) { a.UID = "u2" },
		"project":       func(_ *sollv1.Application, in *fingerprintInputs) { in.project = "p/2" },
		"settings":      func(_ *sollv1.Application, in *fingerprintInputs) { in.settings = "s/2" },
		"sops keys":     func(_ *sollv1.Application, in *fingerprintInputs) { in.sops = "k/2" },
		"cluster":       func(_ *sollv1.Application, in *fingerprintInputs) { in.cluster = "v1.37.2/41" },
		"commit":        func(_ *sollv1.Application, in *fingerprintInputs) { in.revisions = []string{"bbbb"} },
		"second source": func(_ *sollv1.Application, in *fingerprintInputs) { in.revisions = append(in.revisions, "cccc") },
		"live object": func(_ *sollv1.Application, in *fingerprintInputs) {
			in.liveVersion = func(schema.GroupVersionKind, string, string) (string, bool) { return "101", true }
		},
		"inventory": func(a *sollv1.Application, _ *fingerprintInputs) {
			a.Status.Resources = append(a.Status.Resources, sollv1.ResourceStatus{Version: "v1", Kind: "ConfigMap", Namespace: "dest", Name: "cm"})
		},
	}
	for name, change := range changes {
		app, in := idleApp(), base()
		change(app, &in)
		if got, ok := fingerprint(app, in); ok && got == want {
			t.Errorf("a change of the %s leaves the fingerprint equal", name)
		}
	}
	// A managed object missing from the watch: no fingerprint at all.
	in := base()
	in.liveVersion = func(schema.GroupVersionKind, string, string) (string, bool) { return "", false }
	if _, ok := fingerprint(idleApp(), in); ok {
		t.Error("fingerprint with an object the watch does not hold: ok")
	}
}

func TestIdleEligible(t *testing.T) {
	if !idleEligible(idleApp()) {
		t.Fatal("a Synced, Healthy app is not eligible")
	}
	cases := map[string]func(*sollv1.Application){
		"OutOfSync":        func(a *sollv1.Application) { a.Status.Sync.Status = sollv1.SyncStatusOutOfSync },
		"Progressing":      func(a *sollv1.Application) { a.Status.Health.Status = sollv1.HealthProgressing },
		"operation asked":  func(a *sollv1.Application) { a.Operation = &sollv1.Operation{} },
		"never reconciled": func(a *sollv1.Application) { a.Status.ReconciledAt = nil },
		"operation running": func(a *sollv1.Application) {
			a.Status.OperationState = &sollv1.OperationState{Phase: sollv1.OperationRunning}
		},
		"comparison error": func(a *sollv1.Application) {
			a.Status.Conditions = []metav1.Condition{{Type: "ComparisonError", Status: metav1.ConditionTrue}}
		},
		"sync window": func(a *sollv1.Application) {
			a.Status.Conditions = []metav1.Condition{{Type: SyncWindowCondition, Status: metav1.ConditionTrue}}
		},
		"chart source": func(a *sollv1.Application) {
			a.Spec.Source = &sollv1.ApplicationSource{RepoURL: "https://charts.example.com", Chart: "app", TargetRevision: "1.x"}
		},
	}
	for name, change := range cases {
		app := idleApp()
		change(app)
		if idleEligible(app) {
			t.Errorf("%s: eligible", name)
		}
	}
}

// TestRefreshesWakeOnTicks: periodic comparisons end on whole ticks, so
// apps due within one tick share one wake-up, and none comes early.
func TestRefreshesWakeOnTicks(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 300_000_000, time.UTC)
	for _, tc := range []struct {
		after, tick, want time.Duration
	}{
		{3 * time.Minute, time.Second, 3*time.Minute + 700*time.Millisecond},
		{3*time.Minute + 500*time.Millisecond, time.Second, 3*time.Minute + 700*time.Millisecond},
		{700 * time.Millisecond, time.Second, 700 * time.Millisecond}, // on a tick already
		{260 * time.Millisecond, 50 * time.Millisecond, 300 * time.Millisecond},
	} {
		got := untilTick(now, tc.after, tc.tick)
		if got != tc.want {
			t.Errorf("untilTick(%v, tick %v) = %v, want %v", tc.after, tc.tick, got, tc.want)
		}
		if got < tc.after {
			t.Errorf("untilTick(%v, tick %v) = %v: earlier than asked", tc.after, tc.tick, got)
		}
	}
	if got := refreshTick(3 * time.Minute); got != time.Second {
		t.Errorf("refreshTick(3m) = %v, want 1s", got)
	}
	if got := refreshTick(300 * time.Millisecond); got != 30*time.Millisecond {
		t.Errorf("refreshTick(300ms) = %v, want 30ms", got)
	}
}
