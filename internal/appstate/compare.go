package appstate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	gosync "sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/diff"
	"soll.dev/internal/health"
	"soll.dev/internal/kube"
	"soll.dev/internal/project"
	"soll.dev/internal/render"
	"soll.dev/internal/repocreds"
	"soll.dev/internal/resource"
	"soll.dev/internal/source"
	syncengine "soll.dev/internal/sync"
)

// Comparison is the outcome of comparing an app's desired state at one
// revision with the cluster. It is the caller's to read, not to change.
type Comparison struct {
	// Sources are the app's sources in order, as resolved.
	Sources []SourceState
	// Objects are the desired and extraneous objects, ready for the
	// sync engine, hooks included.
	Objects []syncengine.Object
	// Results are the compared objects (not hooks), sorted by key.
	Results []diff.Result
	// Health is the app's health, worst of its objects', with the
	// message of the worst object when not Healthy.
	Health        health.Status
	HealthMessage string
	// Resources are the per-object sync and health of Results, as the
	// app's status.resources holds them.
	Resources []sollv1.ResourceStatus
	// Synced is true when no object differs.
	Synced bool
	// Conflicts name desired objects that another Application manages;
	// they are never applied by this one.
	Conflicts []string
	// Unadopted are the messages of the desired objects that exist
	// without soll's tracking annotation and that the app's own sync
	// options do not let it adopt.
	Unadopted []string
	// SyncOptionProblems name the entries of desired objects' sync
	// options annotations that soll ignores (unknown options, values an
	// option does not take).
	SyncOptionProblems []string
	// Project is the app's Project, whose rules the comparison passed.
	Project *sollv1.Project
	// Target is the destination cluster the comparison read.
	Target *Target

	// settings are the customizations the comparison used.
	settings *settings
	// ignore are the ignore rules it compared with, the settings' and
	// the app's.
	ignore *diff.Ignorer
	// foreign says, for each desired object that exists without soll's
	// tracking annotation, why it is not taken over without consent (see
	// adoption).
	foreign map[resource.Key]string
	// sopsVersion identifies the SOPS keys the renders used;
	// clusterInfo, the cluster capabilities Helm saw ("" without Helm).
	sopsVersion, clusterInfo string
	// decrypted are the values decrypted from SOPS files that non-Secret
	// objects may hold (the Project allows it): diffs mask them.
	decrypted []string
}

// SourceState is one source of a Comparison, resolved.
type SourceState struct {
	Source sollv1.ApplicationSource
	// Revision is what the source resolved to: a commit SHA, or a chart
	// version for charts from a chart repository.
	Revision string
	// Ref is the symbolic revision asked for (branch, tag, range).
	Ref string
	// Commit describes a Git revision; zero for charts.
	Commit source.Commit
	// Dir is the Git snapshot; empty for charts.
	Dir string
	// Tool is the tool that rendered the source.
	Tool render.Tool
}

// Revisions returns the resolved revision of each source, in order.
func (c *Comparison) Revisions() []string {
	out := make([]string, len(c.Sources))
	for i, s := range c.Sources {
		out[i] = s.Revision
	}
	return out
}

// Revision returns the revision of the first source, the one shown in
// short forms.
func (c *Comparison) Revision() string { return c.Sources[0].Revision }

// Matches reports whether c compared the revisions asked for (one per
// source, as commits or as the symbolic revisions that resolved to them;
// empty entries match anything).
func (c *Comparison) Matches(revisions []string) bool {
	for i, want := range revisions {
		if want == "" || i >= len(c.Sources) {
			continue
		}
		if st := c.Sources[i]; want != st.Revision && want != st.Ref {
			return false
		}
	}
	return true
}

// HealthChecker is the health checker the comparison assessed with: the
// default one, or the settings' Lua checks.
func (c *Comparison) HealthChecker() *health.Checker { return c.settings.health }

// KeepIgnored leaves the fields the comparison ignored as they are in the
// cluster when objects are applied (syncOptions.respectIgnoreDifferences).
func (c *Comparison) KeepIgnored() syncengine.LiveKeeper {
	return diff.KeepIgnored{Rules: c.ignore, Manager: kube.FieldManager}
}

// Sources returns the sources of app: spec.sources, or spec.source.
func Sources(app *sollv1.Application) ([]sollv1.ApplicationSource, error) {
	if app.Spec.Source != nil {
		return []sollv1.ApplicationSource{*app.Spec.Source}, nil
	}
	if len(app.Spec.Sources) > 0 {
		return app.Spec.Sources, nil
	}
	return nil, errors.New("spec: set spec.source or spec.sources")
}

// SourcePath names source i of app in messages: "spec.source" or
// "spec.sources[i]".
func SourcePath(app *sollv1.Application, i int) string {
	if app.Spec.Source != nil {
		return "spec.source"
	}
	return fmt.Sprintf("spec.sources[%d]", i)
}

// refOnly reports a source that only lends its files to others ($ref).
func refOnly(src *sollv1.ApplicationSource) bool {
	return src.Ref != "" && src.Chart == "" && src.Path == "" && src.Directory == nil && src.Kustomize == nil &&
		src.Helm == nil && src.Jsonnet == nil && src.Plugin == nil
}

// targetRevisions are the revisions to deploy, one per source: the pinned
// ones after a rollback, else each source's targetRevision.
func targetRevisions(app *sollv1.Application, srcs []sollv1.ApplicationSource) []string {
	out := make([]string, len(srcs))
	for i, src := range srcs {
		out[i] = src.TargetRevision
		if app.Spec.Pin != nil && i < len(app.Spec.Pin.Revisions) && app.Spec.Pin.Revisions[i] != "" {
			out[i] = app.Spec.Pin.Revisions[i]
		}
	}
	return out
}

// Compare fetches, renders and diffs app at revisions (one per source; nil
// or an empty entry: that source's target). Live objects come from the
// Live cache when it can answer, else from the API server. Errors are
// *Error, naming the stage that failed.
func (p *Pipeline) Compare(ctx context.Context, app *sollv1.Application, revisions []string) (*Comparison, error) {
	c, desired, err := p.desired(ctx, app, revisions)
	if err != nil {
		return nil, err
	}
	if err := c.Target.diffLive(ctx, app, c, desired); err != nil {
		return nil, &Error{ReasonDiffError, err}
	}
	return c, nil
}

// desired fetches and renders app at revisions, as Compare does, and
// checks the result against the app's Project: it returns the comparison
// so far (sources, settings, Project) and the objects to apply, without
// reading the cluster's live objects.
func (p *Pipeline) desired(ctx context.Context, app *sollv1.Application, revisions []string) (*Comparison, []*unstructured.Unstructured, error) {
	srcs, err := Sources(app)
	if err != nil {
		return nil, nil, &Error{ReasonInvalidSpec, err}
	}
	target, err := p.Target(app.Spec.Destination)
	if err != nil {
		return nil, nil, err
	}
	proj, err := p.project(ctx, app)
	if err != nil {
		return nil, nil, &Error{ReasonInvalidSpec, err}
	}
	// The Project's destinations may name the cluster by name or by
	// server, whichever way the app names it.
	resolved := withCluster(app, target)
	if err := project.CheckApplication(proj, resolved); err != nil {
		return nil, nil, &Error{ReasonProjectViolation, err}
	}
	targets := targetRevisions(app, srcs)
	for i, rev := range revisions {
		if i < len(targets) && rev != "" {
			targets[i] = rev
		}
	}
	set, err := p.settings(ctx, app.Namespace)
	if err != nil {
		return nil, nil, &Error{ReasonInvalidSettings, err}
	}
	keys, keysVersion, err := p.sopsKeys(ctx, app.Namespace, proj.Name)
	if err != nil {
		return nil, nil, &Error{ReasonInvalidSettings, err}
	}
	c := &Comparison{settings: set, Sources: make([]SourceState, len(srcs)), Project: proj, Target: target, sopsVersion: keysVersion}

	// Resolve and check out every Git source first: others may read
	// their files through refs.
	refs := map[string]string{}
	creds := make([]source.Credentials, len(srcs))
	for i := range srcs {
		src := &srcs[i]
		st := &c.Sources[i]
		st.Source, st.Ref = *src, targets[i]
		if src.Chart != "" {
			if creds[i], err = repocreds.Lookup(ctx, p.Client, app, src, SourcePath(app, i)); err != nil {
				return nil, nil, &Error{ReasonSourceError, err}
			}
			continue
		}
		var rev source.Revision
		if creds[i], rev, err = p.resolve(ctx, app, src, i, targets[i]); err != nil {
			return nil, nil, &Error{ReasonSourceError, err}
		}
		snap, err := p.Fetcher.Checkout(ctx, src.RepoURL, rev.Commit, creds[i])
		if err != nil {
			return nil, nil, &Error{ReasonSourceError, fmt.Errorf("%s: check out %s at %s: %w", SourcePath(app, i), src.RepoURL, Short(rev.Commit), err)}
		}
		st.Revision, st.Commit, st.Dir = rev.Commit, snap.Commit, snap.Dir
		if src.Ref != "" {
			if _, dup := refs[src.Ref]; dup {
				return nil, nil, &Error{ReasonInvalidSpec, fmt.Errorf("%s.ref: %q names two sources: give each a different ref", SourcePath(app, i), src.Ref)}
			}
			refs[src.Ref] = snap.Dir
		}
	}

	var objs []rendered
	renderedSources := 0
	for i := range srcs {
		src := &srcs[i]
		st := &c.Sources[i]
		if refOnly(src) {
			st.Tool = render.Tool(sollv1.SourceTypeRef)
			continue
		}
		req := p.renderRequest(app, src, st, creds[i], refs)
		req.Decrypter, req.Keys = keys, keysVersion
		req.SourceRepos = append([]string{}, proj.Spec.SourceRepos...)
		tool, err := p.tools.of(req)
		if err != nil {
			return nil, nil, &Error{ReasonRenderError, fmt.Errorf("%s: %w", SourcePath(app, i), err)}
		}
		st.Tool, req.Tool = tool, tool
		if tool == render.ToolPlugin {
			req.Config = set.pluginsHash
		}
		if tool == render.ToolHelm {
			// Only Helm sees the cluster's capabilities: other tools
			// would lose their cached renders whenever a CRD comes.
			req.App.KubeVersion, req.App.APIVersions = target.clusterInfo()
			c.clusterInfo = clusterDigest(req.App.KubeVersion, req.App.APIVersions)
		}
		if tool == render.ToolKustomize {
			if err := p.resolveKustomize(ctx, app, proj, SourcePath(app, i), &req); err != nil {
				return nil, nil, err
			}
		}
		res, err := p.Renderer.Render(ctx, req)
		if err != nil {
			what := fmt.Sprintf("%s at %s", src.Path, Short(st.Revision))
			if src.Chart != "" {
				what = fmt.Sprintf("chart %s %s", src.Chart, targets[i])
			}
			return nil, nil, &Error{renderReason(proj, err), fmt.Errorf("%s: render %s: %w", SourcePath(app, i), what, err)}
		}
		decrypted, err := checkDecrypted(proj, res.Decrypted, res.Objects)
		if err != nil {
			return nil, nil, &Error{ReasonProjectViolation, fmt.Errorf("%s: %w", SourcePath(app, i), err)}
		}
		c.decrypted = append(c.decrypted, decrypted...)
		if src.Chart != "" {
			st.Revision = res.Revision
			if st.Revision == "" {
				st.Revision = targets[i]
			}
		}
		for _, o := range res.Objects {
			r := rendered{Object: o}
			if len(srcs) > 1 {
				r.source = SourcePath(app, i)
			}
			objs = append(objs, r)
		}
		renderedSources++
	}
	if renderedSources == 0 {
		return nil, nil, &Error{ReasonInvalidSpec, errors.New("spec.sources: every source only has a ref: at least one source must render manifests")}
	}
	desired, err := prepare(app, objs, newScopes(target.Kube.Namespaced, objs))
	if err != nil {
		return nil, nil, &Error{ReasonRenderError, err}
	}
	desired, err = helmHooks(app, desired)
	if err != nil {
		return nil, nil, &Error{ReasonRenderError, err}
	}
	if err := checkResources(proj, resolved, desired); err != nil {
		return nil, nil, &Error{ReasonProjectViolation, err}
	}
	if err := checkTarget(target, desired); err != nil {
		return nil, nil, &Error{ReasonInvalidSpec, err}
	}
	return c, desired, nil
}

// resolve returns the credentials of src, app's Git source i, and the commit
// its target revision is at, from the ref listing its repository shares.
func (p *Pipeline) resolve(ctx context.Context, app *sollv1.Application, src *sollv1.ApplicationSource, i int, target string) (source.Credentials, source.Revision, error) {
	creds, err := repocreds.Lookup(ctx, p.Client, app, src, SourcePath(app, i))
	if err != nil {
		return creds, source.Revision{}, err
	}
	rev, err := p.Fetcher.Resolve(ctx, src.RepoURL, target, creds)
	if err != nil {
		return creds, rev, fmt.Errorf("%s: resolve revision %q of %s: %w", SourcePath(app, i), target, src.RepoURL, err)
	}
	return creds, rev, nil
}

// renderRequest builds the render request of one source.
func (p *Pipeline) renderRequest(app *sollv1.Application, src *sollv1.ApplicationSource, st *SourceState, creds source.Credentials, refs map[string]string) render.Request {
	req := render.Request{
		Root: st.Dir, Path: src.Path,
		Kustomize: src.Kustomize, Helm: src.Helm, Jsonnet: src.Jsonnet, Plugin: src.Plugin,
		Refs: refs,
		App: render.AppInfo{
			Name: app.Name, Namespace: app.Namespace, Project: app.Spec.Project,
			Revision: st.Revision, DestinationNamespace: app.Spec.Destination.Namespace,
		},
	}
	if len(refs) == 0 {
		req.Refs = nil
	}
	if src.Directory != nil {
		req.Directory = &render.DirectoryOptions{Recurse: src.Directory.Recurse, Include: src.Directory.Include, Exclude: src.Directory.Exclude}
	}
	if src.Chart != "" {
		req.Root, req.Path = "", ""
		req.Chart = &render.ChartRef{RepoURL: src.RepoURL, Chart: src.Chart, Version: st.Ref, Credentials: creds}
		req.App.Revision = st.Ref
	}
	return req
}

// InClusterServer is the API server address that names the cluster soll
// runs in.
const InClusterServer = sollv1.InClusterServer

// withCluster returns app, or a copy of it whose destination names t's
// cluster both by name and by server.
func withCluster(app *sollv1.Application, t *Target) *sollv1.Application {
	d := app.Spec.Destination
	if d.Name == t.Name && d.Server == t.Server {
		return app
	}
	cp := *app
	cp.Spec.Destination.Name, cp.Spec.Destination.Server = t.Name, t.Server
	return &cp
}

// Short shortens a commit SHA to the 8 characters shown in messages.
func Short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

// diffLive reads the live objects (desired ones and the inventory of the
// last sync), diffs, and assesses health.
func (t *Target) diffLive(ctx context.Context, app *sollv1.Application, c *Comparison, desired []*unstructured.Unstructured) error {
	type pair struct {
		desired, live *unstructured.Unstructured
		hook          bool
	}
	desiredKeys := map[resource.Key]bool{}
	var pairs []*pair
	for _, d := range desired {
		phases, skip, err := syncengine.HookPhases(d)
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		desiredKeys[resource.KeyOf(d)] = true
		pairs = append(pairs, &pair{desired: d, hook: len(phases) > 0})
		c.SyncOptionProblems = append(c.SyncOptionProblems, syncengine.SyncOptionProblems(d)...)
	}
	// Inventory entries no longer desired are prune candidates, if the
	// live object really is ours.
	for _, rs := range app.Status.Resources {
		k := resource.Key{Group: rs.Group, Kind: rs.Kind, Namespace: rs.Namespace, Name: rs.Name}
		if desiredKeys[k] || rs.Hook {
			continue
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(kube.KeyGVK(k, rs.Version))
		u.SetNamespace(k.Namespace)
		u.SetName(k.Name)
		pairs = append(pairs, &pair{live: u})
	}

	var mu gosync.Mutex
	var errs []error
	sem := make(chan struct{}, 16)
	var wg gosync.WaitGroup
	for _, pr := range pairs {
		if pr.hook {
			continue
		}
		ref := pr.desired
		if ref == nil {
			ref = pr.live
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if t.Live != nil {
				if live, ok := t.Live.Get(ref.GroupVersionKind(), ref.GetNamespace(), ref.GetName()); ok {
					pr.live = live
					return
				}
			}
			// Not in a synced watch: an object soll does not manage
			// (yet), for which the API server's cache is enough (the
			// apply that follows settles it). Without a synced watch
			// of the kind, read consistently: the object may be one
			// soll just wrote, and no watch event would correct a
			// stale answer.
			get := t.Kube.Get
			if t.Live != nil && t.Live.Covers(ref.GroupVersionKind()) {
				get = t.Kube.GetRecent
			}
			live, err := get(ctx, ref.GroupVersionKind(), ref.GetNamespace(), ref.GetName())
			if err != nil && pr.desired != nil && kube.IsUnknownKind(err) {
				err = nil // its CRD is not installed yet
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("read %s: %w", resource.KeyOf(ref), err))
				mu.Unlock()
				return
			}
			pr.live = live
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}

	var items []diff.Item
	var itemConflicts []string // per item: why it must not be applied
	for _, pr := range pairs {
		switch {
		case pr.hook:
			c.Objects = append(c.Objects, syncengine.Object{Desired: pr.desired})
		case pr.desired != nil:
			conflict := ""
			if pr.live != nil && !resource.ManagedBy(pr.live, app.Namespace, app.Name) {
				if owner := trackingOwner(pr.live); owner != "" {
					// The first app to deploy an object keeps it: the
					// other one reports the conflict and never applies
					// it, so two apps cannot take turns overwriting it.
					conflict = fmt.Sprintf("%s is already managed by application %s: remove it from one of the two applications", resource.KeyOf(pr.desired), owner)
					c.Conflicts = append(c.Conflicts, conflict)
				} else {
					// Someone else's object: taken over only with
					// consent (adoptExisting).
					if c.foreign == nil {
						c.foreign = map[resource.Key]string{}
					}
					c.foreign[resource.KeyOf(pr.desired)] = foreignMessage(pr.desired, pr.live)
				}
			}
			items = append(items, diff.Item{Desired: pr.desired, Live: pr.live})
			itemConflicts = append(itemConflicts, conflict)
		case pr.live != nil && resource.ManagedBy(pr.live, app.Namespace, app.Name):
			res := diff.Result{Key: resource.KeyOf(pr.live), Live: pr.live}
			_ = diff.Compare(ctx, &res, nil) // without a target it cannot fail: the object is extraneous
			c.Results = append(c.Results, res)
			c.Objects = append(c.Objects, syncengine.Object{Live: pr.live})
		}
	}
	ig, err := ignorer(app, c.settings.ignore)
	if err != nil {
		return err
	}
	c.ignore = ig
	d := diff.Differ{Kube: t.Kube, Ignore: ig, Cache: t.DryRuns, Mask: diff.NewMasker(c.decrypted), Reread: func(ctx context.Context, o *unstructured.Unstructured) (*unstructured.Unstructured, error) {
		return t.Kube.Get(ctx, o.GroupVersionKind(), o.GetNamespace(), o.GetName())
	}}
	results := d.Diff(ctx, items)
	for i, res := range results {
		_, foreign := c.foreign[resource.KeyOf(items[i].Desired)]
		if (itemConflicts[i] != "" || foreign) && res.Status == diff.Synced {
			// Equal content, but not this app's object (yet).
			results[i].Status = diff.OutOfSync
		}
		c.Objects = append(c.Objects, syncengine.Object{Desired: items[i].Desired, Live: items[i].Live, InSync: results[i].Status == diff.Synced, Conflict: itemConflicts[i]})
	}
	c.Objects, c.Unadopted = c.adoption(appSyncOptions(app))
	c.Results = append(results, c.Results...)
	slices.SortFunc(c.Results, func(a, b diff.Result) int { return resource.Compare(a.Key, b.Key) })
	c.assess()
	return nil
}

// foreignMessage says that the desired object d exists as live without
// soll's tracking annotation, who manages it, and how to adopt it.
func foreignMessage(d, live *unstructured.Unstructured) string {
	var managers []string
	for _, mf := range live.GetManagedFields() {
		if mf.Manager != "" && !slices.Contains(managers, mf.Manager) {
			managers = append(managers, mf.Manager)
		}
	}
	by := ""
	if len(managers) > 0 {
		by = " (field managers: " + strings.Join(managers, ", ") + ")"
	}
	return fmt.Sprintf("%s exists in the cluster and soll does not manage it%s: soll takes over objects it did not create only when asked: "+
		"set spec.syncPolicy.syncOptions.adoptExisting: true, or annotate the object in the sources with %s: AdoptExisting=true, or delete the object from the cluster",
		resource.KeyOf(d), by, adoptAnnotation)
}

// adoptAnnotation is the annotation of per-object sync options, where
// AdoptExisting=true lets one object be adopted.
const adoptAnnotation = sollv1.SyncOptionsAnnotation

// adoption returns c's objects with those that exist without soll's
// tracking annotation, and may not be adopted under so (nil: no sync
// options) and their own AdoptExisting sync option, marked as conflicts,
// and the messages of those. The sync engine refuses an operation with a
// conflict before applying anything.
func (c *Comparison) adoption(so *sollv1.SyncOptions) ([]syncengine.Object, []string) {
	if len(c.foreign) == 0 {
		return c.Objects, nil
	}
	var refused []string
	out := slices.Clone(c.Objects)
	for i, o := range out {
		if o.Desired == nil {
			continue
		}
		msg, foreign := c.foreign[resource.KeyOf(o.Desired)]
		if !foreign || o.Conflict != "" && o.Conflict != msg {
			continue
		}
		adopt := so != nil && so.AdoptExisting
		if v, ok := syncengine.ObjectSyncOption(o.Desired, "AdoptExisting"); ok {
			adopt = v == "true"
		}
		out[i].Conflict = ""
		if !adopt {
			out[i].Conflict = msg
			refused = append(refused, msg)
		}
	}
	return out, refused
}

// ObjectsFor returns c's objects as a sync with the sync options so (nil:
// none) applies them: desired objects that exist without soll's tracking
// annotation, and that neither so nor their own AdoptExisting sync option
// let the app adopt, are conflicts, which the sync engine refuses before
// applying anything.
func (c *Comparison) ObjectsFor(so *sollv1.SyncOptions) []syncengine.Object {
	objs, _ := c.adoption(so)
	return objs
}

// appSyncOptions returns app's sync options; nil when it has none.
func appSyncOptions(app *sollv1.Application) *sollv1.SyncOptions {
	if p := app.Spec.SyncPolicy; p != nil {
		return p.SyncOptions
	}
	return nil
}

// trackingOwner names the app in live's tracking annotation, if any.
func trackingOwner(live *unstructured.Unstructured) string {
	ns, name, _, ok := resource.ParseTrackingID(live.GetAnnotations()[resource.TrackingAnnotation])
	if !ok {
		return ""
	}
	return ns + "/" + name
}

// assess derives per-resource and app sync and health.
func (c *Comparison) assess() {
	c.Synced = true
	var statuses []health.Status
	var worstMsg string
	worst := health.Healthy
	for _, res := range c.Results {
		rs := sollv1.ResourceStatus{Group: res.Key.Group, Kind: res.Key.Kind, Namespace: res.Key.Namespace, Name: res.Key.Name}
		src := res.Target
		if src == nil {
			src = res.Live
		}
		rs.Version = src.GroupVersionKind().Version
		if w, err := syncengine.Wave(src); err == nil {
			rs.SyncWave = int32(w)
		}
		switch res.Status {
		case diff.Synced:
			rs.Status = sollv1.SyncStatusSynced
		case diff.Extraneous:
			rs.Status = sollv1.SyncStatusOutOfSync
			rs.RequiresPruning = true
			c.Synced = false
		default:
			rs.Status = sollv1.SyncStatusOutOfSync
			c.Synced = false
		}
		var hr health.Result
		if res.Live == nil {
			hr = health.Result{Status: health.Missing, Message: "not found in the cluster"}
		} else {
			var err error
			hr, err = c.settings.health.Check(res.Live)
			if err != nil {
				hr = health.Result{Status: health.Unknown, Message: err.Error()}
			}
		}
		rs.Health = &sollv1.HealthStatus{Status: sollv1.HealthStatusCode(hr.Status), Message: hr.Message}
		if !rs.RequiresPruning {
			statuses = append(statuses, hr.Status)
			if health.Worst(worst, hr.Status) != worst {
				worst = health.Worst(worst, hr.Status)
				worstMsg = fmt.Sprintf("%s: %s", res.Key, hr.Message)
			}
		}
		c.Resources = append(c.Resources, rs)
	}
	c.Health = health.Worst(statuses...)
	if len(statuses) == 0 {
		c.Health = health.Healthy
	}
	if c.Health != health.Healthy {
		c.HealthMessage = worstMsg
	}
}

// ignorer compiles the app's ignore rules.
func ignorer(app *sollv1.Application, global []diff.IgnoreRule) (*diff.Ignorer, error) {
	rules := append([]diff.IgnoreRule(nil), global...)
	for _, r := range app.Spec.IgnoreDifferences {
		rules = append(rules, diff.IgnoreRule{
			Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name,
			JSONPointers: r.JSONPointers, JQPathExpressions: r.JQPathExpressions,
			ManagedFieldsManagers: r.ManagedFieldsManagers,
		})
	}
	return diff.NewIgnorer(rules)
}

// helmHooks gives Helm chart hooks their Helm meaning (see
// syncengine.TranslateHelmHook): the application installs the release until
// its first successful sync, and upgrades it afterwards; pre-delete and
// post-delete hooks become PreDelete and PostDelete hooks.
func helmHooks(app *sollv1.Application, desired []*unstructured.Unstructured) (keep []*unstructured.Unstructured, err error) {
	install := len(app.Status.History) == 0
	keep = desired[:0:0]
	for _, d := range desired {
		h, err := syncengine.TranslateHelmHook(d, install)
		if err != nil {
			return nil, err
		}
		if h.Keep {
			keep = append(keep, d)
		}
	}
	return keep, nil
}

// clusterInfo returns the cluster's version and API versions, or nothing
// when unknown.
func (t *Target) clusterInfo() (string, []string) {
	if t.ClusterInfo == nil {
		return "", nil
	}
	return t.ClusterInfo()
}
