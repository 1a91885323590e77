package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	gosync "sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/diff"
	"soll.dev/internal/health"
	"soll.dev/internal/kube"
	"soll.dev/internal/render"
	"soll.dev/internal/resource"
	"soll.dev/internal/source"
	syncengine "soll.dev/internal/sync"
)

// ManagedLabel marks every object soll applies, so live-state watches can
// be filtered by the API server to soll's objects only.
const ManagedLabel = "soll.dev/managed"

// comparison is the outcome of comparing an app's desired state at one
// revision with the cluster.
type comparison struct {
	// settings are the customizations the comparison used.
	settings *settings
	revision source.Revision
	commit   source.Commit
	// objects are the desired and extraneous objects, ready for the
	// sync engine.
	objects []syncengine.Object
	results []diff.Result
	// desiredHooks are hook objects; they are not compared.
	hooks     int
	health    health.Status
	healthMsg string
	resources []sollv1.ResourceStatus
	synced    bool
	// conflicts name desired objects that another Application manages;
	// they are never applied by this one.
	conflicts []string
}

// stageError is an error of one stage (source, render, diff) with the
// condition reason it sets.
type stageError struct {
	reason string
	err    error
}

func (e *stageError) Error() string { return e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// appSource returns the single source of app; several sources come with
// the renderers.
func appSource(app *sollv1.Application) (*sollv1.ApplicationSource, error) {
	if app.Spec.Source != nil {
		return app.Spec.Source, nil
	}
	if len(app.Spec.Sources) == 1 {
		return &app.Spec.Sources[0], nil
	}
	return nil, errors.New("spec.sources: several sources per application are not supported yet: use spec.source")
}

// targetRevision is the revision to deploy: the pinned one after a
// rollback, else the source's targetRevision.
func targetRevision(app *sollv1.Application, src *sollv1.ApplicationSource) string {
	if app.Spec.Pin != nil && len(app.Spec.Pin.Revisions) > 0 {
		return app.Spec.Pin.Revisions[0]
	}
	return src.TargetRevision
}

// compare fetches, renders and diffs app at revision (empty: its target).
func (r *Reconciler) compare(ctx context.Context, app *sollv1.Application, revision string) (*comparison, error) {
	src, err := appSource(app)
	if err != nil {
		return nil, &stageError{"InvalidSpec", err}
	}
	if err := checkDestination(app.Spec.Destination); err != nil {
		return nil, &stageError{"InvalidSpec", err}
	}
	creds, err := r.credentials(ctx, app, src)
	if err != nil {
		return nil, &stageError{"SourceError", err}
	}
	if revision == "" {
		revision = targetRevision(app, src)
	}
	rev, err := r.Fetcher.Resolve(ctx, src.RepoURL, revision, creds)
	if err != nil {
		return nil, &stageError{"SourceError", fmt.Errorf("resolve revision %q of %s: %w", revision, src.RepoURL, err)}
	}
	snap, err := r.Fetcher.Checkout(ctx, src.RepoURL, rev.Commit, creds)
	if err != nil {
		return nil, &stageError{"SourceError", fmt.Errorf("check out %s at %s: %w", src.RepoURL, short(rev.Commit), err)}
	}
	req := render.Request{Root: snap.Dir, Path: src.Path}
	if src.Directory != nil {
		req.Directory = &render.DirectoryOptions{Recurse: src.Directory.Recurse, Include: src.Directory.Include, Exclude: src.Directory.Exclude}
	}
	rendered, err := r.Renderer.Render(ctx, req)
	if err != nil {
		return nil, &stageError{"RenderError", fmt.Errorf("render %s at %s: %w", src.Path, short(rev.Commit), err)}
	}
	set, err := r.settings(ctx, app.Namespace)
	if err != nil {
		return nil, &stageError{"InvalidSettings", err}
	}
	c := &comparison{revision: rev, commit: snap.Commit, settings: set}
	desired, err := r.prepare(app, rendered.Objects)
	if err != nil {
		return nil, &stageError{"RenderError", err}
	}
	if err := r.diffLive(ctx, app, c, desired); err != nil {
		return nil, &stageError{"ComparisonError", err}
	}
	return c, nil
}

// InClusterServer is the API server address that names the cluster soll
// runs in.
const InClusterServer = "https://kubernetes.default.svc"

// checkDestination refuses destinations this controller cannot reach yet,
// rather than deploying them into the wrong cluster.
func checkDestination(d sollv1.ApplicationDestination) error {
	if d.Server == InClusterServer || d.Name == "in-cluster" {
		return nil
	}
	target := d.Server
	if target == "" {
		target = "name " + d.Name
	}
	return fmt.Errorf("spec.destination: cluster %s is not registered: only the cluster soll runs in (server %s or name in-cluster) can be a destination until clusters can be registered", target, InClusterServer)
}

func short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

// prepare defaults namespaces, checks for duplicates, and marks every
// desired object with the tracking annotation and the managed label.
func (r *Reconciler) prepare(app *sollv1.Application, objs []render.Object) ([]*unstructured.Unstructured, error) {
	seen := map[resource.Key]render.Origin{}
	var out []*unstructured.Unstructured
	for _, o := range objs {
		u := o.Unstructured.DeepCopy()
		namespaced, err := r.Kube.Namespaced(u.GroupVersionKind())
		if err != nil {
			// Unknown kind: maybe a CRD of this very app; assume
			// namespaced unless it says otherwise.
			namespaced = u.GetKind() != "Namespace" && u.GetKind() != "CustomResourceDefinition"
		}
		switch {
		case namespaced && u.GetNamespace() == "":
			u.SetNamespace(app.Spec.Destination.Namespace)
		case !namespaced:
			u.SetNamespace("")
		}
		k := resource.KeyOf(u)
		if prev, dup := seen[k]; dup {
			return nil, fmt.Errorf("%s is defined twice, in %s and %s: keep one", k, prev, o.Origin)
		}
		seen[k] = o.Origin
		ann := u.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[resource.TrackingAnnotation] = resource.TrackingID(app.Namespace, app.Name, k)
		u.SetAnnotations(ann)
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[ManagedLabel] = "true"
		u.SetLabels(labels)
		out = append(out, u)
	}
	return out, nil
}

// diffLive reads the live objects (desired ones and the inventory of the
// last sync), diffs, and assesses health.
func (r *Reconciler) diffLive(ctx context.Context, app *sollv1.Application, c *comparison, desired []*unstructured.Unstructured) error {
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
	for _, p := range pairs {
		if p.hook {
			continue
		}
		ref := p.desired
		if ref == nil {
			ref = p.live
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			live, err := r.Kube.Get(ctx, ref.GroupVersionKind(), ref.GetNamespace(), ref.GetName())
			if err != nil && p.desired != nil && r.isUnknownKind(err) {
				err = nil // its CRD is not installed yet
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("read %s: %w", resource.KeyOf(ref), err))
				mu.Unlock()
				return
			}
			p.live = live
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}

	var items []diff.Item
	var itemConflicts []string // per item: why it must not be applied
	for _, p := range pairs {
		switch {
		case p.hook:
			c.hooks++
			c.objects = append(c.objects, syncengine.Object{Desired: p.desired})
		case p.desired != nil:
			conflict := ""
			if p.live != nil && !resource.ManagedBy(p.live, app.Namespace, app.Name) {
				if owner := trackingOwner(p.live); owner != "" {
					// The first app to deploy an object keeps it: the
					// other one reports the conflict and never applies
					// it, so two apps cannot take turns overwriting it.
					conflict = fmt.Sprintf("%s is already managed by application %s: remove it from one of the two applications", resource.KeyOf(p.desired), owner)
					c.conflicts = append(c.conflicts, conflict)
				}
			}
			items = append(items, diff.Item{Desired: p.desired, Live: p.live})
			itemConflicts = append(itemConflicts, conflict)
		case p.live != nil && resource.ManagedBy(p.live, app.Namespace, app.Name):
			res := diff.Result{Key: resource.KeyOf(p.live), Live: p.live}
			_ = diff.Compare(ctx, &res, nil)
			c.results = append(c.results, res)
			c.objects = append(c.objects, syncengine.Object{Live: p.live})
		}
	}
	ig, err := ignorer(app, c.settings.ignore)
	if err != nil {
		return err
	}
	d := diff.Differ{Kube: r.Kube, Ignore: ig, Cache: r.DryRuns, Reread: func(ctx context.Context, o *unstructured.Unstructured) (*unstructured.Unstructured, error) {
		return r.Kube.Get(ctx, o.GroupVersionKind(), o.GetNamespace(), o.GetName())
	}}
	results := d.Diff(ctx, items)
	for i, res := range results {
		if itemConflicts[i] != "" && res.Status == diff.Synced {
			// Equal content, but not this app's object.
			results[i].Status = diff.OutOfSync
		}
		c.objects = append(c.objects, syncengine.Object{Desired: items[i].Desired, Live: items[i].Live, InSync: results[i].Status == diff.Synced, Conflict: itemConflicts[i]})
	}
	c.results = append(results, c.results...)
	slices.SortFunc(c.results, func(a, b diff.Result) int { return resource.Compare(a.Key, b.Key) })
	r.assess(c)
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

func (r *Reconciler) isUnknownKind(err error) bool {
	return strings.Contains(err.Error(), "resolve kind") || strings.Contains(err.Error(), "no matches for kind")
}

// assess derives per-resource and app sync and health.
func (r *Reconciler) assess(c *comparison) {
	c.synced = true
	var statuses []health.Status
	var worstMsg string
	worst := health.Healthy
	for _, res := range c.results {
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
			c.synced = false
		default:
			rs.Status = sollv1.SyncStatusOutOfSync
			c.synced = false
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
		c.resources = append(c.resources, rs)
	}
	c.health = health.Worst(statuses...)
	if len(statuses) == 0 {
		c.health = health.Healthy
	}
	if c.health != health.Healthy {
		c.healthMsg = worstMsg
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

// credentials reads the app's repository credentials from a Secret in
// soll's namespace. Values never leave this function except inside the
// returned Credentials, whose String form is redacted.
func (r *Reconciler) credentials(ctx context.Context, app *sollv1.Application, src *sollv1.ApplicationSource) (source.Credentials, error) {
	if src.CredentialsRef == nil {
		return source.Credentials{}, nil
	}
	var s corev1.Secret
	key := client.ObjectKey{Namespace: app.Namespace, Name: src.CredentialsRef.Name}
	if err := r.Client.Get(ctx, key, &s); err != nil {
		return source.Credentials{}, fmt.Errorf("spec.source.credentialsRef: read Secret %s: %w", key, err)
	}
	d := s.Data
	return source.Credentials{
		Username:      string(d["username"]),
		Password:      string(d["password"]),
		BearerToken:   string(d["bearerToken"]),
		TLSClientCert: d["tlsClientCert"],
		TLSClientKey:  d["tlsClientKey"],
		CACert:        d["caCert"],
		SSHPrivateKey: d["sshPrivateKey"],
		SSHPassphrase: string(d["sshPassphrase"]),
		SSHKnownHosts: d["sshKnownHosts"],
	}, nil
}
