package appstate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/resource"
)

// A fingerprint identifies the inputs of a comparison: the Application
// (its resourceVersion: spec, annotations and status), its Project,
// settings and SOPS keys, every source's commit, the cluster capabilities
// for Helm, and every managed object's resourceVersion in the Live cache.
// All of these are in memory (the caches, the shared ref listing), so
// taking one costs a few map lookups instead of a render, a diff and a
// health assessment: the controller skips a periodic comparison whose
// fingerprint equals that of the last full one. Apps whose Project has
// sync windows have none (windows open and close with time, which no
// version tells).

// fingerprintInputs are what a comparison read besides the Application.
type fingerprintInputs struct {
	project, settings, sops, cluster string
	revisions                        []string
	// liveVersion returns the resourceVersion of a managed object.
	liveVersion func(gvk schema.GroupVersionKind, namespace, name string) (string, bool)
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

// UsesHelm reports whether a source of c rendered with Helm, whose output
// depends on the cluster's capabilities.
func (c *Comparison) UsesHelm() bool {
	for _, st := range c.Sources {
		if st.Tool == render.ToolHelm {
			return true
		}
	}
	return false
}

// Fingerprint identifies the inputs of c, a comparison of app whose
// status now holds c's results (its inventory). ok is false when c cannot
// be fingerprinted: its Project has sync windows, or an object is not
// live.
func (c *Comparison) Fingerprint(app *sollv1.Application) (fp string, ok bool) {
	if len(c.Project.Spec.SyncWindows) > 0 {
		return "", false
	}
	live := map[resource.Key]string{}
	for _, o := range c.Objects {
		if o.Live != nil {
			live[resource.KeyOf(o.Live)] = o.Live.GetResourceVersion()
		}
	}
	return fingerprint(app, fingerprintInputs{
		project: projectVersion(c.Project), settings: c.settings.version, sops: c.sopsVersion, cluster: c.clusterVersion(),
		revisions: c.Revisions(),
		liveVersion: func(gvk schema.GroupVersionKind, namespace, name string) (string, bool) {
			v, ok := live[resource.Key{Group: gvk.Group, Kind: gvk.Kind, Namespace: namespace, Name: name}]
			return v, ok
		},
	})
}

// Fingerprint identifies the inputs a comparison of app would read now,
// from memory and the Live cache, without rendering or diffing: equal to
// the Fingerprint of the app's last comparison when none of them changed.
// helm says whether that comparison rendered with Helm (UsesHelm). Any
// error or doubt (no Live cache, a Project with sync windows) answers
// ok false.
func (p *Pipeline) Fingerprint(ctx context.Context, app *sollv1.Application, helm bool) (fp string, ok bool) {
	target, err := p.Target(app.Spec.Destination)
	if err != nil || target.Live == nil {
		return "", false
	}
	proj, err := p.project(ctx, app)
	if err != nil || len(proj.Spec.SyncWindows) > 0 {
		return "", false
	}
	set, err := p.settings(ctx, app.Namespace)
	if err != nil {
		return "", false
	}
	_, keysVersion, err := p.sopsKeys(ctx, app.Namespace, proj.Name)
	if err != nil {
		return "", false
	}
	cluster := target.ID
	if helm {
		cluster += " " + clusterDigest(target.clusterInfo())
	}
	revisions, err := p.Resolve(ctx, app)
	if err != nil || slices.Contains(revisions, "") {
		return "", false // a chart's version is known only once rendered
	}
	return fingerprint(app, fingerprintInputs{
		project: projectVersion(proj), settings: set.version, sops: keysVersion, cluster: cluster,
		revisions: revisions, liveVersion: target.Live.Version,
	})
}

// Resolve returns the commit each Git source of app's targets resolves to
// now, pins included, from the shared listing of each repository's refs:
// no request to Git while the listing is fresh. A chart source's entry is
// "": its version is known only once the chart is rendered.
func (p *Pipeline) Resolve(ctx context.Context, app *sollv1.Application) ([]string, error) {
	srcs, err := Sources(app)
	if err != nil {
		return nil, err
	}
	targets := targetRevisions(app, srcs)
	revisions := make([]string, len(srcs))
	for i := range srcs {
		if srcs[i].Chart != "" {
			continue
		}
		_, rev, err := p.resolve(ctx, app, &srcs[i], i, targets[i])
		if err != nil {
			return nil, err
		}
		revisions[i] = rev.Commit
	}
	return revisions, nil
}

// clusterVersion identifies the cluster c read and, when c rendered with
// Helm, the capabilities Helm saw.
func (c *Comparison) clusterVersion() string {
	if c.clusterInfo == "" {
		return c.Target.ID
	}
	return c.Target.ID + " " + c.clusterInfo
}
