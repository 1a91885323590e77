package argoimport

import (
	"cmp"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
)

// application converts an Argo CD Application.
func (c *converter) application(in Input) {
	oc := c.begin(in)
	n := oc.root(in.Object, "")
	n.ignore("apiVersion", "kind", "status", "operation")
	app := &sollv1.Application{TypeMeta: metav1.TypeMeta{APIVersion: sollv1.GroupVersion.String(), Kind: "Application"}}
	app.ObjectMeta = c.objectMeta(n, true)
	if app.Namespace != c.o.Namespace {
		oc.note(Changed, "metadata.namespace", "the Application stays in namespace %s: list it in its Project's sourceNamespaces (imported from the AppProject's) so that soll accepts it there", app.Namespace)
	}
	for _, f := range n.md.strs("finalizers") {
		switch {
		case f == ArgoResourceFinalizer:
			app.Finalizers = append(app.Finalizers, sollv1.ResourcesFinalizer)
		case strings.HasPrefix(f, ArgoResourceFinalizer+"/"):
			app.Finalizers = append(app.Finalizers, sollv1.ResourcesFinalizer)
			oc.note(Changed, "metadata.finalizers", "%s deletes the app's resources with propagation %s; soll's finalizer %s deletes them with the app's prunePropagationPolicy (default foreground)",
				f, strings.TrimPrefix(f, ArgoResourceFinalizer+"/"), sollv1.ResourcesFinalizer)
		case strings.Contains(f, "argoproj.io"):
			oc.note(NoEquivalent, "metadata.finalizers", "the finalizer %s is Argo CD's and is left out; soll runs PreDelete and PostDelete hooks from their annotations", f)
		default:
			app.Finalizers = append(app.Finalizers, f)
		}
	}
	n.md.rest()
	c.appAnnotations(oc, app)

	spec := n.child("spec")
	if spec == nil {
		oc.errorf("spec", "missing")
	} else {
		c.appSpec(spec, app)
		spec.rest()
	}
	n.rest()
	c.end(in, oc, app)
}

func (c *converter) appAnnotations(oc *objConv, app *sollv1.Application) {
	keys := make([]string, 0, len(app.Annotations))
	for k := range app.Annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := app.Annotations[k]
		field := "metadata.annotations." + k
		switch {
		case strings.HasPrefix(k, ArgoNotificationsPref):
			oc.note(Kept, field, "soll has no notifications yet: the subscription is kept as an annotation, harmless until soll reads it; keep Argo CD's notifications controller for now if you need it")
		case k == "argocd.argoproj.io/skip-reconcile":
			delete(app.Annotations, k)
			if v == "true" {
				app.Spec.Suspend = true
				oc.note(Changed, field, "became spec.suspend: true")
			}
		case k == "argocd.argoproj.io/tracking-id":
			delete(app.Annotations, k)
			oc.note(Changed, field, "Argo CD's tracking of this Application as a resource of an app of apps is left out: soll tracks it when the parent app is imported and synced")
		case k == "argocd.argoproj.io/refresh" || k == "argocd.argoproj.io/hydrate":
			delete(app.Annotations, k)
		case k == "argocd.argoproj.io/manifest-generate-paths":
			delete(app.Annotations, k)
			oc.note(NoEquivalent, field, "soll refreshes an app on every push webhook of its repository; the paths are left out")
		case k == "argocd.argoproj.io/sync-wave" || k == "argocd.argoproj.io/sync-options" || k == "argocd.argoproj.io/hook" || k == "argocd.argoproj.io/hook-delete-policy":
			// soll honours these when the Application is a resource of an
			// app of apps.
		case strings.HasPrefix(k, "argocd.argoproj.io/"):
			oc.note(Kept, field, "soll does not read this Argo CD annotation; it is kept")
		case strings.Contains(k, "argoproj.io/"):
			oc.note(Kept, field, "read by another Argo project's tool, not by soll; it is kept")
		}
	}
	if len(app.Annotations) == 0 {
		app.Annotations = nil
	}
}

func (c *converter) appSpec(spec *node, app *sollv1.Application) {
	oc := spec.c
	app.Spec.Project = spec.str("project")
	if app.Spec.Project == "" {
		app.Spec.Project = "default"
	}
	srcs := spec.list("sources")
	if len(srcs) > 0 {
		if spec.has("source") {
			spec.take("source")
			oc.note(Changed, "spec.source", "Argo CD ignores source when sources is set; so does the import")
		}
		for _, s := range srcs {
			app.Spec.Sources = append(app.Spec.Sources, c.source(s))
			s.rest()
		}
	} else if s := spec.child("source"); s != nil {
		src := c.source(s)
		s.rest()
		app.Spec.Source = &src
	} else {
		oc.errorf("spec.source", "missing: set source or sources")
	}
	spec.drop("sourceHydrator", "soll has no source hydrator: render into a Git branch with your CI and point the app's source at it")

	if d := spec.child("destination"); d != nil {
		app.Spec.Destination = sollv1.ApplicationDestination{Server: d.str("server"), Name: d.str("name"), Namespace: d.str("namespace")}
		switch dest := &app.Spec.Destination; {
		case dest.Server != "" && dest.Name != "":
			oc.note(Changed, "spec.destination.name", "server and name are both set; soll takes one: kept server %s", dest.Server)
			dest.Name = ""
		case dest.Server == "" && dest.Name == "":
			oc.errorf("spec.destination", "set server or name")
		}
		if app.Spec.Destination.Namespace == c.o.ArgoNamespace {
			app.Spec.Destination.Namespace = c.o.Namespace
			oc.note(Changed, "spec.destination.namespace", "the app deploys into Argo CD's namespace %s, as the parent of an app of apps does: it deploys into soll's namespace %s instead (convert the Applications it deploys with --output-dir, and give it a Project that allows namespace %s)", c.o.ArgoNamespace, c.o.Namespace, c.o.Namespace)
		}
		if dest := app.Spec.Destination; dest.Name != "" && dest.Name != "in-cluster" || dest.Server != "" && dest.Server != "https://kubernetes.default.svc" {
			oc.note(Changed, "spec.destination", "soll deploys to the cluster it runs in; other clusters cannot be registered yet: import this app into a soll running in %s, or wait for cluster registration", cmp.Or(dest.Name, dest.Server))
		}
		d.rest()
	} else {
		oc.errorf("spec.destination", "missing")
	}

	if sp := spec.child("syncPolicy"); sp != nil {
		app.Spec.SyncPolicy = c.syncPolicy(sp)
		sp.rest()
	}
	// The objects Argo CD deployed lack soll's tracking annotation; without
	// adoptExisting soll would refuse to sync over them.
	if app.Spec.SyncPolicy == nil {
		app.Spec.SyncPolicy = &sollv1.SyncPolicy{}
	}
	if app.Spec.SyncPolicy.SyncOptions == nil {
		app.Spec.SyncPolicy.SyncOptions = &sollv1.SyncOptions{}
	}
	app.Spec.SyncPolicy.SyncOptions.AdoptExisting = true
	oc.note(Changed, "spec.syncPolicy.syncOptions", "adoptExisting is set so that the first sync takes over the objects Argo CD deployed (they lack soll's tracking annotation); remove it once the app has synced")
	for _, d := range spec.list("ignoreDifferences") {
		rule := sollv1.ResourceIgnoreDifferences{
			Group: d.str("group"), Kind: d.str("kind"), Name: d.str("name"), Namespace: d.str("namespace"),
			JSONPointers: d.strs("jsonPointers"), JQPathExpressions: d.strs("jqPathExpressions"), ManagedFieldsManagers: d.strs("managedFieldsManagers"),
		}
		d.rest()
		switch {
		case rule.Kind == "":
			oc.errorf(d.path+".kind", "missing")
		case len(rule.JSONPointers)+len(rule.JQPathExpressions)+len(rule.ManagedFieldsManagers) == 0:
			oc.note(NoEquivalent, d.path, "the rule ignores nothing (no jsonPointers, jqPathExpressions or managedFieldsManagers); it is left out")
		default:
			app.Spec.IgnoreDifferences = append(app.Spec.IgnoreDifferences, rule)
		}
	}
	if spec.has("revisionHistoryLimit") {
		if v, ok := spec.int32("revisionHistoryLimit"); ok {
			v = clamp(oc, "spec.revisionHistoryLimit", v, 0, 100)
			app.Spec.RevisionHistoryLimit = &v
		}
	}
	if infos := spec.list("info"); len(infos) > 0 {
		var pairs []string
		for _, i := range infos {
			pairs = append(pairs, i.str("name")+"="+i.str("value"))
			i.rest()
		}
		oc.note(NoEquivalent, "spec.info", "soll shows no info links; the entries (%s) are left out: keep them in the app's README or an annotation of your own", strings.Join(pairs, ", "))
	}
}

func (c *converter) syncPolicy(sp *node) *sollv1.SyncPolicy {
	oc := sp.c
	p := &sollv1.SyncPolicy{}
	if a := sp.child("automated"); a != nil {
		auto := &sollv1.AutomatedSyncPolicy{Prune: a.boolean("prune"), SelfHeal: a.boolean("selfHeal"), AllowEmpty: a.boolean("allowEmpty")}
		enabled := true
		if a.has("enabled") {
			enabled = a.boolean("enabled")
			auto.Enabled = &enabled
		}
		if enabled && !c.o.KeepSyncPolicy {
			off := false
			auto.Enabled = &off
			oc.note(Changed, a.path, "automated sync is off until you have checked the first comparison (soll app diff); then turn it on with soll app set <app> --auto-sync, or import with --keep-sync-policy")
		}
		a.rest()
		p.Automated = auto
	}
	opts := &sollv1.SyncOptions{}
	for i, o := range sp.strs("syncOptions") {
		field := fmt.Sprintf("%s[%d]", sp.field("syncOptions"), i)
		k, v, _ := strings.Cut(o, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		on := strings.EqualFold(v, "true")
		switch k {
		case "CreateNamespace":
			opts.CreateNamespace = on
		case "ApplyOutOfSyncOnly":
			opts.ApplyOutOfSyncOnly = on
		case "Replace":
			opts.Replace = on
		case "PruneLast":
			opts.PruneLast = on
		case "RespectIgnoreDifferences":
			opts.RespectIgnoreDifferences = on
		case "FailOnSharedResource":
			msg := "soll always fails a sync that includes an object another Application tracks, before applying anything; the option is left out"
			if !on {
				msg = "Argo CD takes over an object another Application tracks when this option is off; soll never does: it fails the sync before applying anything; the option is left out"
			}
			oc.note(Changed, field, "%s", msg)
		case "PrunePropagationPolicy":
			switch pp := sollv1.PrunePropagationPolicy(strings.ToLower(v)); pp {
			case sollv1.PropagationForeground, sollv1.PropagationBackground, sollv1.PropagationOrphan:
				opts.PrunePropagationPolicy = pp
			default:
				oc.errorf(field, "%q: want foreground, background or orphan", v)
			}
		case "ServerSideApply":
			oc.note(Changed, field, "soll always applies server-side; the option is left out")
		case "Validate":
			oc.note(NoEquivalent, field, "soll always lets the API server validate objects; fix the objects it refuses")
		case "SkipDryRunOnMissingResource":
			oc.note(NoEquivalent, field, "soll learns kinds from the CRDs in the same app and waits for them; the option is left out")
		case "ClientSideApplyMigration":
			oc.note(NoEquivalent, field, "soll always applies server-side; the option is left out")
		default:
			oc.note(NoEquivalent, field, "soll has no sync option %s: it is left out", k)
		}
	}
	if *opts != (sollv1.SyncOptions{}) {
		p.SyncOptions = opts
	}
	if r := sp.child("retry"); r != nil {
		rs := &sollv1.RetryStrategy{}
		if r.has("limit") {
			if l, ok := r.int32("limit"); ok {
				if l < 0 {
					oc.note(Changed, r.field("limit"), "Argo CD retries without end when the limit is negative; soll retries at most 100 times: written 100")
					l = 100
				}
				l = clamp(oc, r.field("limit"), l, 0, 100)
				rs.Limit = &l
			}
		}
		if b := r.child("backoff"); b != nil {
			bo := &sollv1.Backoff{Duration: duration(b, "duration"), MaxDuration: duration(b, "maxDuration")}
			if b.has("factor") {
				if f, ok := b.int32("factor"); ok {
					f = clamp(oc, b.field("factor"), f, 1, 10)
					bo.Factor = &f
				}
			}
			b.rest()
			rs.Backoff = bo
		}
		r.drop("refresh", "soll retries against the revision of the failed sync; to pick up new commits, sync again")
		r.rest()
		p.Retry = rs
	}
	if m := sp.child("managedNamespaceMetadata"); m != nil {
		p.ManagedNamespaceMetadata = &sollv1.ManagedNamespaceMetadata{Labels: m.strMap("labels"), Annotations: m.strMap("annotations")}
		m.rest()
	}
	if *p == (sollv1.SyncPolicy{}) {
		return nil
	}
	return p
}

// clamp returns v within [lo, hi], noting a change.
func clamp(oc *objConv, field string, v, lo, hi int32) int32 {
	switch {
	case v < lo:
		oc.note(Changed, field, "%d is below soll's minimum: written %d", v, lo)
		return lo
	case v > hi:
		oc.note(Changed, field, "%d is above soll's maximum: written %d", v, hi)
		return hi
	}
	return v
}
