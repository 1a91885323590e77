package sync_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"soll.dev/internal/health"
	"soll.dev/internal/resource"
	syncengine "soll.dev/internal/sync"
)

// TestHookPhases covers the hook annotation of both tools, deletion phases
// included, and the errors that name the annotation the object carries.
func TestHookPhases(t *testing.T) {
	cases := []struct {
		name, meta string
		want       []syncengine.Phase
		skip       bool
		err        string
	}{
		{name: "ordinary object"},
		{name: "PreDelete", meta: `annotations: {soll.dev/hook: PreDelete}`, want: []syncengine.Phase{syncengine.PhasePreDelete}},
		{name: "Argo CD's PostDelete", meta: `annotations: {argocd.argoproj.io/hook: PostDelete}`, want: []syncengine.Phase{syncengine.PhasePostDelete}},
		{name: "sync and deletion phases", meta: `annotations: {soll.dev/hook: " PreSync , PreDelete,PostDelete"}`,
			want: []syncengine.Phase{syncengine.PhasePreSync, syncengine.PhasePreDelete, syncengine.PhasePostDelete}},
		{name: "a phase named twice counts once", meta: `annotations: {soll.dev/hook: "PreDelete,PreDelete"}`, want: []syncengine.Phase{syncengine.PhasePreDelete}},
		{name: "soll's annotation wins over Argo CD's", meta: `annotations: {soll.dev/hook: PostDelete, argocd.argoproj.io/hook: PreSync}`, want: []syncengine.Phase{syncengine.PhasePostDelete}},
		{name: "Skip", meta: `annotations: {soll.dev/hook: Skip}`, skip: true},
		{name: "Helm's spelling is not soll's", meta: `annotations: {soll.dev/hook: pre-delete}`,
			err: `ConfigMap apps/h: annotation soll.dev/hook: unknown hook "pre-delete": use PreSync, Sync, PostSync, SyncFail, PreDelete, PostDelete or Skip`},
		{name: "the error names Argo CD's annotation when that is the one set", meta: `annotations: {argocd.argoproj.io/hook: Predelete}`,
			err: `annotation argocd.argoproj.io/hook: unknown hook "Predelete"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj := parse(t, []string{cmYAML("h", c.meta)})[0]
			phases, skip, err := syncengine.HookPhases(obj)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error = %v, want one with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(phases, c.want) || skip != c.skip {
				t.Errorf("phases %v skip %v, want %v %v", phases, skip, c.want, c.skip)
			}
			for _, p := range []syncengine.Phase{syncengine.PhasePreDelete, syncengine.PhasePostDelete} {
				if got := syncengine.IsDeletionHook(obj, p); got != slices.Contains(c.want, p) {
					t.Errorf("IsDeletionHook(%s) = %v", p, got)
				}
			}
		})
	}
	if syncengine.IsDeletionHook(parse(t, []string{cmYAML("h", `annotations: {soll.dev/hook: PreSync}`)})[0], syncengine.PhasePreSync) {
		t.Error("IsDeletionHook takes PreSync for a deletion phase")
	}
}

const (
	backupJob = `apiVersion: batch/v1
kind: Job
metadata: {name: backup, annotations: {soll.dev/hook: PreDelete}}`
	drainJob = `apiVersion: batch/v1
kind: Job
metadata: {name: drain, annotations: {argocd.argoproj.io/hook: PreDelete, argocd.argoproj.io/hook-delete-policy: HookSucceeded, argocd.argoproj.io/sync-wave: "-1"}}`
	cleanupJob = `apiVersion: batch/v1
kind: Job
metadata: {generateName: cleanup-, annotations: {soll.dev/hook: PostDelete}}`
)

// TestSyncRunsNoDeletionHooks: a sync applies neither PreDelete nor
// PostDelete hooks; a hook of a sync phase and a deletion phase runs in
// its sync phase only.
func TestSyncRunsNoDeletionHooks(t *testing.T) {
	f := newFakeKube()
	both := cmYAML("both", `annotations: {soll.dev/hook: "PreSync,PreDelete", soll.dev/hook-delete-policy: HookSucceeded}`)
	res := fakeSync(f, desired(t, backupJob, drainJob, cleanupJob, both, cmYAML("a", "")), syncengine.Options{})
	if !res.Succeeded {
		t.Fatalf("sync failed: %s", res.Message)
	}
	checkCalls(t, f, []string{"apply ConfigMap/both", "wait ConfigMap/both", "delete ConfigMap/both", "apply ConfigMap/a"})
	checkResults(t, res, []string{"PreSync ConfigMap/both Synced Succeeded", "Sync ConfigMap/a Synced"})
}

// runHooks runs the hooks of phase among the objects of docs on f.
func runHooks(t *testing.T, f *fakeKube, phase syncengine.Phase, opts syncengine.Options, docs ...string) syncengine.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts.Concurrency, opts.WaveTimeout = 1, 5*time.Second
	return f.engine().RunHooks(ctx, desired(t, docs...), phase, opts)
}

// TestRunHooks covers the hooks of a deletion phase: only that phase's
// hooks run, by wave, each awaited, with their delete policies; nothing
// else is applied or deleted.
func TestRunHooks(t *testing.T) {
	all := []string{backupJob, drainJob, cleanupJob, preSyncJob, cmYAML("a", "")}
	cases := []struct {
		name    string
		phase   syncengine.Phase
		opts    syncengine.Options
		want    []string
		results []string
		message string
	}{{
		name:  "PreDelete hooks by wave, delete policies honoured, every run a new one",
		phase: syncengine.PhasePreDelete,
		want: []string{
			// BeforeHookCreation is implied (drain's policy is
			// HookSucceeded only): a retry must be a new run.
			"delete Job/drain", "apply Job/drain", "wait Job/drain", "delete Job/drain",
			"delete Job/backup", "apply Job/backup", "wait Job/backup",
		},
		results: []string{"PreDelete Job/drain Synced Succeeded", "PreDelete Job/backup Synced Succeeded"},
		message: "2 PreDelete hooks succeeded",
	}, {
		name:    "PostDelete hooks, generateName included",
		phase:   syncengine.PhasePostDelete,
		want:    []string{"create Job/cleanup-1", "wait Job/cleanup-1"},
		results: []string{"PostDelete Job/cleanup-1 Synced Succeeded"},
		message: "1 PostDelete hooks succeeded",
	}, {
		name:    "hooks that succeeded in an earlier attempt do not run again",
		phase:   syncengine.PhasePreDelete,
		opts:    syncengine.Options{DoneHooks: map[resource.Key]bool{{Group: "batch", Kind: "Job", Namespace: "apps", Name: "drain"}: true}},
		want:    []string{"delete Job/backup", "apply Job/backup", "wait Job/backup"},
		results: []string{"PreDelete Job/backup Synced Succeeded"},
		message: "1 PreDelete hooks succeeded",
	}, {
		name:    "a sync phase is refused",
		phase:   syncengine.PhasePreSync,
		want:    nil,
		message: "PreSync is not a phase of deletion",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeKube()
			res := runHooks(t, f, c.phase, c.opts, all...)
			if res.Succeeded != (c.phase.Deletion()) || !strings.Contains(res.Message, c.message) {
				t.Errorf("succeeded=%v %q, want %q", res.Succeeded, res.Message, c.message)
			}
			checkCalls(t, f, c.want)
			checkResults(t, res, c.results)
		})
	}
}

// TestRunHooksFailure: a failed hook stops its phase (later waves do not
// run) and is kept for inspection unless its policy says HookFailed.
func TestRunHooksFailure(t *testing.T) {
	f := newFakeKube()
	f.health["Job/drain"] = health.Result{Status: health.Degraded, Message: "BackoffLimitExceeded"}
	res := runHooks(t, f, syncengine.PhasePreDelete, syncengine.Options{}, drainJob, backupJob)
	if res.Succeeded || !strings.Contains(res.Message, "PreDelete hook failed: ") || !strings.Contains(res.Message, "BackoffLimitExceeded") {
		t.Errorf("succeeded=%v %q", res.Succeeded, res.Message)
	}
	checkCalls(t, f, []string{"delete Job/drain", "apply Job/drain", "wait Job/drain"})
	checkResults(t, res, []string{"PreDelete Job/drain SyncFailed Failed"})
	if !f.has("Job", "apps", "drain") {
		t.Error("the failed hook was deleted, though its policy is HookSucceeded")
	}
}
