package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/health"
	"soll.dev/internal/render"
	"soll.dev/internal/resource"
)

// An app's periodic comparison is skipped when nothing it depends on
// changed since its last full comparison, which found the app Synced and
// Healthy: the same Application (its resourceVersion: spec, annotations
// and status), the same Project, settings and SOPS keys, every source at
// the same commit, the same cluster capabilities for Helm, and every
// managed object at the same resourceVersion in soll's watch. All of these
// are in memory (the caches, the shared ref listing), so an idle app costs
// a few map lookups instead of a render, a diff and a health assessment.
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

// fingerprintInputs are what a comparison read besides the Application.
type fingerprintInputs struct {
	project, settings, sops, cluster string
	revisions                        []string
	// liveVersion returns the resourceVersion of a managed object.
	liveVersion func(gvk schema.GroupVersionKind, namespace, name string) (string, bool)
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
		if c.Type == sollv1.ConditionComparisonError || c.Type == SyncWindowCondition || c.Type == sollv1.ApplicationSharedResource || c.Type == ExistingResourceCondition {
			return false
		}
	}
	srcs, err := appSources(app)
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

// fingerprint identifies the inputs of a comparison of app; ok is false
// when a managed object is not in soll's watch.
func fingerprint(app *sollv1.Application, in fingerprintInputs) (string, bool) {
	var b strings.Builder
	fmt.Fprintf(&b, "app %s %s %d\nproject %s\nsettings %s\nsops %s\ncluster %s\n",
		app.UID, app.ResourceVersion, app.Generation, in.project, in.settings, in.sops, in.cluster)
	for _, rev := range in.revisions {
		b.WriteString("revision " + rev + "\n")
	}
	for _, rs := range app.Status.Resources {
		if rs.Hook {
			continue
		}
		gvk := schema.GroupVersionKind{Group: rs.Group, Version: rs.Version, Kind: rs.Kind}
		v, ok := in.liveVersion(gvk, rs.Namespace, rs.Name)
		if !ok {
			return "", false
		}
		fmt.Fprintf(&b, "live %s/%s/%s/%s %s\n", rs.Group, rs.Kind, rs.Namespace, rs.Name, v)
	}
	return b.String(), true
}

// projectVersion identifies a Project's version.
func projectVersion(p *sollv1.Project) string {
	return string(p.UID) + "/" + p.ResourceVersion
}

// clusterDigest identifies the cluster capabilities Helm renders with.
func clusterDigest(version string, apiVersions []string) string {
	return fmt.Sprintf("%s/%d", version, len(apiVersions))
}

// remember records the inputs of the full comparison c of app, which
// status now holds, when a later comparison may be skipped on them.
func (r *Reconciler) remember(app *sollv1.Application, c *comparison, started time.Time) {
	key := types.NamespacedName{Namespace: app.Namespace, Name: app.Name}
	if r.live == nil || !idleEligible(app) || !r.simpleSources(app) || len(c.project.Spec.SyncWindows) > 0 {
		r.unchanged.Delete(key)
		return
	}
	live := map[resource.Key]string{}
	for _, o := range c.objects {
		if o.Live != nil {
			live[resource.KeyOf(o.Live)] = o.Live.GetResourceVersion()
		}
	}
	helm := false
	for _, st := range c.sources {
		helm = helm || st.tool == render.ToolHelm
	}
	fp, ok := fingerprint(app, fingerprintInputs{
		project: projectVersion(c.project), settings: c.settings.version, sops: c.sopsVersion, cluster: c.clusterInfo,
		revisions: c.revisions(),
		liveVersion: func(gvk schema.GroupVersionKind, namespace, name string) (string, bool) {
			v, ok := live[resource.Key{Group: gvk.Group, Kind: gvk.Kind, Namespace: namespace, Name: name}]
			return v, ok
		},
	})
	if !ok {
		r.unchanged.Delete(key)
		return
	}
	r.unchanged.Store(key, unchangedMemo{fingerprint: fp, at: started, helm: helm})
}

// simpleSources reports whether app's sources have no remote Kustomize
// bases, whose commits a fingerprint does not cover.
func (r *Reconciler) simpleSources(app *sollv1.Application) bool {
	srcs, _ := appSources(app)
	for i := range srcs {
		if bases, ok := r.remoteBases.Load(remoteBasesKey(app, sourcePath(app, i))); ok && len(bases.([]string)) > 0 {
			return false
		}
	}
	return true
}

// isUnchanged reports whether app's last full comparison still stands.
// Any error or doubt answers false, and the full comparison runs.
func (r *Reconciler) isUnchanged(ctx context.Context, app *sollv1.Application) bool {
	key := types.NamespacedName{Namespace: app.Namespace, Name: app.Name}
	v, ok := r.unchanged.Load(key)
	if !ok {
		return false
	}
	memo := v.(unchangedMemo)
	if time.Since(memo.at) >= reconciledAtHeartbeat || !idleEligible(app) {
		return false
	}
	proj, err := r.project(ctx, app)
	if err != nil || len(proj.Spec.SyncWindows) > 0 {
		return false
	}
	set, err := r.settings(ctx, app.Namespace)
	if err != nil {
		return false
	}
	_, keysVersion, err := r.sopsKeys(ctx, app.Namespace, proj.Name)
	if err != nil {
		return false
	}
	cluster := ""
	if memo.helm {
		cluster = clusterDigest(r.clusterInfo())
	}
	srcs, err := appSources(app)
	if err != nil {
		return false
	}
	targets := targetRevisions(app, srcs)
	revisions := make([]string, len(srcs))
	for i := range srcs {
		_, rev, err := r.resolve(ctx, app, &srcs[i], i, targets[i])
		if err != nil {
			return false
		}
		revisions[i] = rev.Commit
	}
	fp, ok := fingerprint(app, fingerprintInputs{
		project: projectVersion(proj), settings: set.version, sops: keysVersion, cluster: cluster,
		revisions: revisions, liveVersion: r.live.version,
	})
	return ok && fp == memo.fingerprint
}
