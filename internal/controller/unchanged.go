package controller

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/appstate"
	"soll.dev/internal/health"
)

// An app's periodic comparison is skipped when nothing it depends on
// changed since its last full comparison, which found the app Synced and
// Healthy: its fingerprint (appstate.Pipeline.Fingerprint) is the same.
// A full comparison still runs at least every reconciledAtHeartbeat, which
// also catches what no version tells (a webhook that now defaults a field
// differently).

// unchangedMemo is the inputs of an app's last full comparison.
type unchangedMemo struct {
	fingerprint string
	at          time.Time
	// helm: whether a source rendered with Helm, whose output depends on
	// the cluster's capabilities.
	helm bool
}

// idleEligible tells whether app's status is one an unchanged comparison
// may keep: Synced, Healthy, no operation asked for or running, no error.
func idleEligible(app *sollv1.Application) bool {
	s := &app.Status
	if app.Operation != nil || s.Sync == nil || s.Sync.Status != sollv1.SyncStatusSynced ||
		s.Health == nil || s.Health.Status != sollv1.HealthStatusCode(health.Healthy) || s.ReconciledAt == nil {
		return false
	}
	if st := s.OperationState; st != nil && (st.Phase == sollv1.OperationRunning || st.Phase == sollv1.OperationTerminating) {
		return false
	}
	for _, c := range s.Conditions {
		// A failed comparison leaves status.sync Unknown, so it never
		// gets here; a problem that holds syncs back, or a condition
		// an earlier version of soll wrote, is compared anew.
		if c.Type == sollv1.ConditionSyncWindowBlocked || c.Type == sollv1.ApplicationSharedResource || c.Type == sollv1.ConditionExistingResource ||
			(c.Type == sollv1.ConditionCompared || c.Type == sollv1.ConditionDependenciesReady) && c.Status != metav1.ConditionTrue {
			return false
		}
	}
	if hasRetiredConditions(s) {
		return false
	}
	srcs, err := appstate.Sources(app)
	if err != nil {
		return false
	}
	for _, src := range srcs {
		if src.Chart != "" {
			return false // a version range may match a new chart
		}
	}
	return true
}

// remember records the inputs of the full comparison c of app, which
// status now holds, when a later comparison may be skipped on them.
func (r *Reconciler) remember(app *sollv1.Application, c *appstate.Comparison, started time.Time) {
	key := client.ObjectKeyFromObject(app)
	var memo *unchangedMemo
	if c.Target.Live != nil && idleEligible(app) && !r.hasRemoteBases(app) {
		if fp, ok := c.Fingerprint(app); ok {
			memo = &unchangedMemo{fingerprint: fp, at: started, helm: c.UsesHelm()}
		}
	}
	r.apps.update(key, func(rec *appRecord) { rec.unchanged = memo })
}

// hasRemoteBases reports whether app's sources have remote Kustomize
// bases, whose commits a fingerprint does not cover.
func (r *Reconciler) hasRemoteBases(app *sollv1.Application) bool {
	bases := r.apps.get(client.ObjectKeyFromObject(app)).remoteBases
	srcs, _ := appstate.Sources(app)
	for i := range srcs {
		if len(bases[appstate.SourcePath(app, i)]) > 0 {
			return true
		}
	}
	return false
}

// isUnchanged reports whether app's last full comparison still stands.
// Any error or doubt answers false, and the full comparison runs.
func (r *Reconciler) isUnchanged(ctx context.Context, app *sollv1.Application) bool {
	memo := r.apps.get(client.ObjectKeyFromObject(app)).unchanged
	if memo == nil || time.Since(memo.at) >= reconciledAtHeartbeat || !idleEligible(app) {
		return false
	}
	fp, ok := r.Pipeline.Fingerprint(ctx, app, memo.helm)
	return ok && fp == memo.fingerprint
}
