package controller

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
			Conditions: []metav1.Condition{
				{Type: sollv1.ConditionReady, Status: metav1.ConditionTrue, Reason: sollv1.ReasonSyncedAndHealthy},
				{Type: sollv1.ConditionCompared, Status: metav1.ConditionTrue, Reason: sollv1.ReasonSucceeded},
				{Type: sollv1.ConditionOperationSucceeded, Status: metav1.ConditionTrue, Reason: sollv1.ReasonSucceeded},
			},
			Resources: []sollv1.ResourceStatus{
				{Version: "v1", Kind: "ConfigMap", Namespace: "dest", Name: "cm"},
				{Group: "batch", Version: "v1", Kind: "Job", Namespace: "dest", Name: "hook", Hook: true},
			},
		},
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
		"comparison failed": func(a *sollv1.Application) {
			a.Status.Conditions = []metav1.Condition{{Type: sollv1.ConditionCompared, Status: metav1.ConditionFalse, Reason: sollv1.ReasonSourceError}}
		},
		"a condition of an earlier version": func(a *sollv1.Application) {
			a.Status.Conditions = []metav1.Condition{{Type: "SyncError", Status: metav1.ConditionFalse, Reason: "Succeeded"}}
		},
		"sync window": func(a *sollv1.Application) {
			a.Status.Conditions = []metav1.Condition{{Type: sollv1.ConditionSyncWindowBlocked, Status: metav1.ConditionTrue}}
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
