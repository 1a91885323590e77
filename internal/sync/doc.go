// Package sync applies an Application's desired objects to a cluster.
//
// An operation runs in phases: PreSync hooks, the Sync phase, PostSync
// hooks, and SyncFail hooks when something failed. Inside a phase, objects
// are grouped by sync wave (annotation soll.dev/sync-wave, or Argo CD's
// argocd.argoproj.io/sync-wave); a wave is applied in parallel with
// server-side apply (field manager soll) and awaited until healthy before
// the next one starts. Namespaces and CRDs of a wave go first and are
// awaited (a CRD until Established), so the objects that need them find
// them. Objects no longer desired are pruned in their wave, or last with
// PruneLast, and only when pruning is enabled. Each object may tune its own
// sync with per-object sync options (annotation soll.dev/sync-options, or
// Argo CD's): options.go lists every option known, and an unknown one is
// reported rather than silently ignored.
//
// PreDelete and PostDelete hooks belong to deleting the Application, not
// to a sync: Sync never runs them, and RunHooks runs those of one of
// these phases, wave by wave like a sync phase, when the caller deletes
// the Application's objects.
//
// The engine takes objects and returns a result per object; it knows
// nothing of Applications, so the controller, the CLI and the tests share
// it. It stops at the first failure, and at once when its context ends
// (terminate).
package sync
