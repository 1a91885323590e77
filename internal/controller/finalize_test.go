package controller

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	sollv1 "soll.dev/api/v1alpha1"
)

func TestDeletionRetryDelay(t *testing.T) {
	want := map[int32]time.Duration{
		1: 5 * time.Second, 2: 10 * time.Second, 3: 20 * time.Second, 6: 160 * time.Second,
		7: 3 * time.Minute, 40: 3 * time.Minute,
	}
	for attempts, d := range want {
		if got := deletionRetryDelay(attempts); got != d {
			t.Errorf("after %d failures: %s, want %s", attempts, got, d)
		}
	}
}

// TestMergeHookResults: an attempt replaces the results of the hooks it
// ran, of its phase only, and keeps the others.
func TestMergeHookResults(t *testing.T) {
	res := func(phase sollv1.SyncPhase, name string, hp sollv1.HookPhase) sollv1.ResourceResult {
		return sollv1.ResourceResult{Group: "batch", Kind: "Job", Namespace: "db", Name: name, SyncPhase: phase, HookPhase: hp}
	}
	pre, post := sollv1.SyncPhasePreDelete, sollv1.SyncPhasePostDelete
	all := []sollv1.ResourceResult{
		res(pre, "backup", sollv1.HookPhaseSucceeded),
		res(pre, "drain", sollv1.HookPhaseFailed),
		res(post, "drain", sollv1.HookPhaseFailed),
	}
	got := mergeHookResults(all, pre, []sollv1.ResourceResult{res(pre, "drain", sollv1.HookPhaseSucceeded), res(pre, "notify", sollv1.HookPhaseRunning)})
	want := []sollv1.ResourceResult{
		res(pre, "backup", sollv1.HookPhaseSucceeded),
		res(pre, "drain", sollv1.HookPhaseSucceeded),
		res(post, "drain", sollv1.HookPhaseFailed),
		res(pre, "notify", sollv1.HookPhaseRunning),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged results (-want +got):\n%s", diff)
	}
	if all[1].HookPhase != sollv1.HookPhaseFailed {
		t.Error("mergeHookResults changed its input")
	}
}
