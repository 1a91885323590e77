package argoimport

import (
	"cmp"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
)

// Argo CD's API group and the names of its objects that this package
// reads.
const (
	ArgoGroup             = "argoproj.io"
	ArgoSecretTypeLabel   = "argocd.argoproj.io/secret-type"
	ArgoResourceFinalizer = "resources-finalizer.argocd.argoproj.io"
	ArgoCM                = "argocd-cm"
	ArgoRBACCM            = "argocd-rbac-cm"
	ArgoKnownHostsCM      = "argocd-ssh-known-hosts-cm"
	ArgoTLSCertsCM        = "argocd-tls-certs-cm"
	ArgoNotificationsCM   = "argocd-notifications-cm"
	ArgoNotificationsPref = "notifications.argoproj.io/subscribe."
)

// The ConfigMaps soll reads in its namespace.
const (
	SettingsConfigMap   = "soll-config"
	RBACConfigMap       = "soll-rbac"
	KnownHostsConfigMap = "soll-ssh-known-hosts"
	knownHostsKey       = "ssh_known_hosts"
)

// Options tune a conversion.
type Options struct {
	// ArgoNamespace is Argo CD's namespace; its objects move to Namespace.
	// Default "argocd".
	ArgoNamespace string
	// Namespace is soll's namespace. Default "soll".
	Namespace string
	// KeepSyncPolicy keeps automated sync on for the Applications that
	// have it; by default it is turned off (automated.enabled: false), so
	// that the first comparison can be checked before soll takes over.
	KeepSyncPolicy bool
}

// Input is one object to convert, as decoded from YAML or JSON.
type Input struct {
	Object map[string]any
	// File is the file the object was read from, "" when it was read
	// from a cluster; Rel is its path relative to the directory given.
	File, Rel string
}

// Output is one object of the result.
type Output struct {
	// Object is a *sollv1.Application, *sollv1.Project, *corev1.Secret or
	// *corev1.ConfigMap; or, when Unchanged, the input object as it was
	// (*unstructured.Unstructured).
	Object client.Object
	// File and Rel are those of the input object it came from.
	File, Rel string
	// Unchanged marks an input object that is not Argo CD's, kept as it
	// is so that a directory converted with --output-dir stays complete.
	Unchanged bool
}

// Result is a conversion's outcome.
type Result struct {
	// Objects are in the order to apply them: Projects, Secrets,
	// ConfigMaps, Applications, then the objects kept unchanged.
	Objects []Output
	Report  Report
}

func rank(o Output) int {
	if o.Unchanged {
		return 4
	}
	switch o.Object.(type) {
	case *sollv1.Project:
		return 0
	case *corev1.Secret:
		return 1
	case *corev1.ConfigMap:
		return 2
	}
	return 3
}

type converter struct {
	o       Options
	res     *Result
	errs    []string
	configs configInputs
	// accounts are Argo CD's local accounts (argocd-cm accounts.<name>),
	// which become user:<name> in the RBAC policy.
	accounts map[string]bool
}

// configInputs are the ConfigMaps merged into soll's settings.
type configInputs struct {
	cm, rbac, knownHosts *Input
}

// Convert converts Argo CD objects to soll's. It returns an error naming
// every object and field that cannot be read; fields that can be read but
// have no equivalent are left out and listed in the Report.
func Convert(inputs []Input, o Options) (*Result, error) {
	o.ArgoNamespace = cmp.Or(o.ArgoNamespace, "argocd")
	o.Namespace = cmp.Or(o.Namespace, "soll")
	c := &converter{o: o, res: &Result{}, accounts: map[string]bool{}}
	// The settings ConfigMaps first: argocd-cm names the local accounts
	// that the RBAC policy refers to.
	// Reading consumes fields: work on copies, the inputs stay as they are.
	copies := make([]Input, len(inputs))
	for i, in := range inputs {
		copies[i] = in
		copies[i].Object = runtime.DeepCopyJSON(in.Object)
	}
	var rest []Input
	for i := range copies {
		in := &copies[i]
		if kind(in.Object) == "ConfigMap" && apiVersion(in.Object) == "v1" && c.argoNamespace(in.Object) {
			switch name(in.Object) {
			case ArgoCM:
				c.configs.cm = in
				continue
			case ArgoRBACCM:
				c.configs.rbac = in
				continue
			case ArgoKnownHostsCM:
				c.configs.knownHosts = in
				continue
			}
		}
		rest = append(rest, *in)
	}
	if c.configs.cm != nil {
		c.argoCM(*c.configs.cm)
	}
	if c.configs.rbac != nil {
		c.rbacCM(*c.configs.rbac)
	}
	if c.configs.knownHosts != nil {
		c.knownHostsCM(*c.configs.knownHosts)
	}
	for _, in := range rest {
		c.convert(in)
	}
	if len(c.errs) > 0 {
		return nil, fmt.Errorf("cannot read the Argo CD objects; fix them and import again:\n  %s", strings.Join(c.errs, "\n  "))
	}
	sort.SliceStable(c.res.Objects, func(i, j int) bool { return rank(c.res.Objects[i]) < rank(c.res.Objects[j]) })
	return c.res, nil
}

func kind(m map[string]any) string       { s, _ := m["kind"].(string); return s }
func apiVersion(m map[string]any) string { s, _ := m["apiVersion"].(string); return s }
func metaOf(m map[string]any) map[string]any {
	md, _ := m["metadata"].(map[string]any)
	return md
}
func name(m map[string]any) string        { s, _ := metaOf(m)["name"].(string); return s }
func namespaceOf(m map[string]any) string { s, _ := metaOf(m)["namespace"].(string); return s }

func (c *converter) argoNamespace(m map[string]any) bool {
	ns := namespaceOf(m)
	return ns == "" || ns == c.o.ArgoNamespace
}

func group(m map[string]any) string {
	g, _, _ := strings.Cut(apiVersion(m), "/")
	if !strings.Contains(apiVersion(m), "/") {
		return ""
	}
	return g
}

// describe names an input object for the report and errors.
func describe(in Input) string {
	s := kind(in.Object) + " "
	if ns := namespaceOf(in.Object); ns != "" {
		s += ns + "/"
	}
	s += cmp.Or(name(in.Object), "(no name)")
	if in.File != "" {
		s += " (" + in.File + ")"
	}
	return s
}

func targetName(kind, ns, name string) string { return kind + " " + ns + "/" + name }

// begin starts the conversion of one object: its report entry and state.
func (c *converter) begin(in Input) *objConv {
	return &objConv{rep: &ObjectReport{Source: describe(in)}}
}

// end records the report of an object's conversion and its result, out
// (nil: none), unless there were errors, which it records instead.
func (c *converter) end(in Input, oc *objConv, out client.Object) {
	for _, e := range oc.errs {
		c.errs = append(c.errs, oc.rep.Source+": "+e)
	}
	if len(oc.errs) > 0 {
		return
	}
	if out != nil {
		oc.rep.Target = targetName(out.GetObjectKind().GroupVersionKind().Kind, out.GetNamespace(), out.GetName())
		c.add(Output{Object: out, File: in.File, Rel: in.Rel})
	}
	c.res.Report.Objects = append(c.res.Report.Objects, *oc.rep)
}

func (c *converter) add(out Output) {
	c.res.Objects = append(c.res.Objects, out)
}

func (c *converter) convert(in Input) {
	if len(in.Object) == 0 {
		return
	}
	g, k := group(in.Object), kind(in.Object)
	switch {
	case g == ArgoGroup && k == "Application":
		c.application(in)
	case g == ArgoGroup && k == "AppProject":
		c.project(in)
	case g == ArgoGroup:
		oc := c.begin(in)
		advice := "soll has no equivalent of this kind; it is left out"
		if k == "ApplicationSet" {
			advice = "soll has no ApplicationSets: generate the Applications it makes (for example with a Helm chart or Kustomize in an app of apps) and import those"
		}
		oc.note(NoEquivalent, "kind", "%s", advice)
		c.end(in, oc, nil)
	case g == "" && k == "Secret":
		c.secret(in)
	case g == "" && k == "ConfigMap" && c.argoNamespace(in.Object) && strings.HasPrefix(name(in.Object), "argocd-"):
		oc := c.begin(in)
		switch name(in.Object) {
		case ArgoTLSCertsCM:
			oc.note(NoEquivalent, "data", "soll takes a repository's CA certificate from its credential Secret: add the key caCert to the Secret of each repository served with these certificates")
		case ArgoNotificationsCM:
			oc.note(NoEquivalent, "data", "soll has no notifications yet: keep Argo CD's notifications controller running for now, or use soll's webhooks and events")
		default:
			oc.note(NoEquivalent, "data", "soll has no equivalent of this ConfigMap; it is left out")
		}
		c.end(in, oc, nil)
	case k == "List" && g == "":
		// Lists are unpacked when reading; an empty one is nothing.
	default:
		u := &unstructured.Unstructured{Object: in.Object}
		c.add(Output{Object: u, File: in.File, Rel: in.Rel, Unchanged: true})
	}
}

// objectMeta converts metadata: the name, labels and annotations are kept,
// Argo CD's bookkeeping is left out, and the namespace becomes soll's
// unless keepNS and it is another than Argo CD's.
func (c *converter) objectMeta(n *node, keepNS bool) metav1.ObjectMeta {
	md := n.child("metadata")
	if md == nil {
		n.c.errorf("metadata", "missing")
		return metav1.ObjectMeta{}
	}
	var om metav1.ObjectMeta
	om.Name = md.str("name")
	if om.Name == "" {
		n.c.errorf("metadata.name", "missing: objects are imported by name")
	}
	ns := md.str("namespace")
	om.Namespace = c.o.Namespace
	if keepNS && ns != "" && ns != c.o.ArgoNamespace {
		om.Namespace = ns
	}
	om.Labels = md.strMap("labels")
	om.Annotations = md.strMap("annotations")
	delete(om.Annotations, "kubectl.kubernetes.io/last-applied-configuration")
	for k := range om.Labels {
		if strings.HasPrefix(k, "argocd.argoproj.io/") {
			delete(om.Labels, k)
		}
	}
	if len(om.Labels) == 0 {
		om.Labels = nil
	}
	if len(om.Annotations) == 0 {
		om.Annotations = nil
	}
	md.ignore("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink", "deletionGracePeriodSeconds")
	if md.has("deletionTimestamp") {
		md.ignore("deletionTimestamp")
		n.c.note(Changed, "metadata.deletionTimestamp", "the object is being deleted in Argo CD; it is imported as it is, without the deletion")
	}
	for _, o := range md.list("ownerReferences") {
		k, name := o.str("kind"), o.str("name")
		advice := "owner references are left out: the soll object has no owner"
		if k == "ApplicationSet" {
			advice = "the ApplicationSet " + name + " made this object; soll has no ApplicationSets, so it is imported as a standalone object"
		}
		n.c.note(NoEquivalent, "metadata.ownerReferences", "%s", advice)
		clear(o.m)
	}
	n.md = md
	return om
}

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

// source converts one source of an Application.
func (c *converter) source(s *node) sollv1.ApplicationSource {
	oc := s.c
	src := sollv1.ApplicationSource{
		RepoURL: s.str("repoURL"), TargetRevision: s.str("targetRevision"), Path: s.str("path"), Chart: s.str("chart"), Ref: s.str("ref"),
	}
	if src.RepoURL == "" {
		oc.errorf(s.field("repoURL"), "missing")
	}
	if strings.HasPrefix(src.Path, "/") {
		src.Path = strings.TrimLeft(src.Path, "/")
		oc.note(Changed, s.field("path"), "soll's paths are relative to the repository root: the leading / is left out")
	}
	s.drop("name", "soll names a source by its position (and ref); the name is left out")
	if h := s.child("helm"); h != nil {
		src.Helm = c.helm(h)
		h.rest()
	}
	if k := s.child("kustomize"); k != nil {
		src.Kustomize = c.kustomize(k)
		k.rest()
	}
	if d := s.child("directory"); d != nil {
		dir := &sollv1.DirectorySource{Recurse: d.boolean("recurse"), Include: splitGlob(d.str("include")), Exclude: splitGlob(d.str("exclude"))}
		if j := d.child("jsonnet"); j != nil {
			js := &sollv1.JsonnetSource{ExtVars: jsonnetVars(j, "extVars"), TLAs: jsonnetVars(j, "tlas"), Libs: j.strs("libs")}
			j.rest()
			if len(js.ExtVars)+len(js.TLAs)+len(js.Libs) > 0 {
				src.Jsonnet = js
				if dir.Recurse || len(dir.Include)+len(dir.Exclude) > 0 {
					oc.note(NoEquivalent, d.path, "soll's jsonnet sources evaluate the .jsonnet files directly in path; recurse, include and exclude are left out: move the files or split the app")
				}
				dir = nil
			}
		}
		if dir != nil && (dir.Recurse || len(dir.Include)+len(dir.Exclude) > 0) {
			src.Directory = dir
		}
		d.rest()
	}
	if p := s.child("plugin"); p != nil {
		src.Plugin = &sollv1.PluginSource{Name: p.str("name")}
		for _, e := range p.list("env") {
			src.Plugin.Env = append(src.Plugin.Env, sollv1.EnvEntry{Name: e.str("name"), Value: e.str("value")})
			e.rest()
		}
		if params := p.list("parameters"); len(params) > 0 {
			var names []string
			for _, pp := range params {
				names = append(names, pp.str("name"))
				clear(pp.m)
			}
			oc.note(NoEquivalent, p.field("parameters"), "soll's plugins take settings from env only: pass the parameters %s as env entries and read them in the plugin", strings.Join(names, ", "))
		}
		oc.note(Changed, p.path, "define the plugin %q in soll's settings (ConfigMap %s, key plugins.yaml); Argo CD's sidecar plugins do not run in soll", src.Plugin.Name, SettingsConfigMap)
		p.rest()
	}
	// Argo CD picks the first of these it finds when several are set;
	// soll allows one.
	set := 0
	for _, b := range []bool{src.Helm != nil, src.Kustomize != nil, src.Directory != nil, src.Jsonnet != nil, src.Plugin != nil} {
		if b {
			set++
		}
	}
	if set > 1 {
		oc.errorf(s.path, "more than one of helm, kustomize, directory (with jsonnet) and plugin are set: keep the one the source needs")
	}
	return src
}

// splitGlob turns Argo CD's include/exclude pattern, which may list
// alternatives as {a,b}, into soll's list of patterns.
func splitGlob(p string) []string {
	if p == "" {
		return nil
	}
	if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") && !strings.ContainsAny(p[1:len(p)-1], "{}") {
		var out []string
		for _, s := range strings.Split(p[1:len(p)-1], ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return []string{p}
}

func jsonnetVars(n *node, key string) []sollv1.JsonnetVar {
	var out []sollv1.JsonnetVar
	for _, v := range n.list(key) {
		out = append(out, sollv1.JsonnetVar{Name: v.str("name"), Value: v.str("value"), Code: v.boolean("code")})
		v.rest()
	}
	return out
}

func (c *converter) helm(h *node) *sollv1.HelmSource {
	oc := h.c
	hs := &sollv1.HelmSource{
		ReleaseName: h.str("releaseName"), Namespace: h.str("namespace"), ValueFiles: h.strs("valueFiles"),
		IgnoreMissingValueFiles: h.boolean("ignoreMissingValueFiles"), SkipCrds: h.boolean("skipCrds"), SkipTests: h.boolean("skipTests"),
		PassCredentials: h.boolean("passCredentials"), KubeVersion: h.str("kubeVersion"), APIVersions: h.strs("apiVersions"),
	}
	values := h.str("values")
	if vo, ok := h.take("valuesObject"); ok {
		raw, err := jsonRaw(vo)
		if err != nil {
			oc.errorf(h.field("valuesObject"), "%v", err)
		}
		hs.ValuesObject = raw
		if values != "" {
			oc.note(Changed, h.field("values"), "Argo CD uses valuesObject when both are set; so does soll, which takes one: values is left out")
			values = ""
		}
	}
	hs.Values = values
	for _, p := range h.list("parameters") {
		hs.Parameters = append(hs.Parameters, sollv1.HelmParameter{Name: p.str("name"), Value: p.str("value"), ForceString: p.boolean("forceString")})
		p.rest()
	}
	for _, p := range h.list("fileParameters") {
		hs.FileParameters = append(hs.FileParameters, sollv1.HelmFileParameter{Name: p.str("name"), Path: p.str("path")})
		p.rest()
	}
	h.drop("version", "soll always renders with Helm 3; the version is left out")
	h.drop("skipSchemaValidation", "soll always validates values against the chart's schema: fix the values or the schema")
	return hs
}

func (c *converter) kustomize(k *node) *sollv1.KustomizeSource {
	oc := k.c
	ks := &sollv1.KustomizeSource{
		NamePrefix: k.str("namePrefix"), NameSuffix: k.str("nameSuffix"), Namespace: k.str("namespace"),
		CommonLabels: k.strMap("commonLabels"), CommonAnnotations: k.strMap("commonAnnotations"), Components: k.strs("components"),
	}
	for i, s := range k.strs("images") {
		img, err := kustomizeImage(s)
		if err != nil {
			oc.errorf(fmt.Sprintf("%s[%d]", k.field("images"), i), "%v", err)
			continue
		}
		ks.Images = append(ks.Images, img)
	}
	for _, r := range k.list("replicas") {
		count, _ := r.int32("count")
		ks.Replicas = append(ks.Replicas, sollv1.KustomizeReplica{Name: r.str("name"), Count: count})
		r.rest()
	}
	for _, p := range k.list("patches") {
		kp := sollv1.KustomizePatch{Path: p.str("path"), Patch: p.str("patch")}
		if t := p.child("target"); t != nil {
			kp.Target = &sollv1.KustomizeSelector{Group: t.str("group"), Version: t.str("version"), Kind: t.str("kind"), Name: t.str("name"),
				Namespace: t.str("namespace"), LabelSelector: t.str("labelSelector"), AnnotationSelector: t.str("annotationSelector")}
			t.rest()
		}
		if o := p.child("options"); o != nil {
			kp.Options = map[string]bool{}
			for key := range o.m {
				kp.Options[key] = o.boolean(key)
			}
		}
		p.rest()
		ks.Patches = append(ks.Patches, kp)
	}
	for _, f := range []struct{ key, advice string }{
		{"version", "soll renders with its built-in Kustomize; the version is left out"},
		{"forceCommonLabels", "soll's commonLabels always apply; forceCommonLabels is left out"},
		{"forceCommonAnnotations", "soll's commonAnnotations always apply; forceCommonAnnotations is left out"},
		{"commonAnnotationsEnvsubst", "soll does not substitute variables in commonAnnotations: write the values out"},
		{"labelWithoutSelector", "soll's commonLabels also set selectors: use a labels transformer in kustomization.yaml for labels without selectors"},
		{"labelIncludeTemplates", "use a labels transformer in kustomization.yaml"},
		{"kubeVersion", "soll passes the destination's version; the field is left out"},
		{"apiVersions", "soll passes the destination's API versions; the field is left out"},
		{"ignoreMissingComponents", "soll refuses missing components: remove them from the list"},
	} {
		k.drop(f.key, f.advice)
	}
	return ks
}

// kustomizeImage reads Argo CD's image override, written as kustomize edit
// set image takes it: [<name>=]<newName>[:<newTag>][@<digest>].
func kustomizeImage(s string) (sollv1.KustomizeImage, error) {
	var img sollv1.KustomizeImage
	old, repl, hasOld := strings.Cut(s, "=")
	if !hasOld {
		repl = s
	}
	if i := strings.Index(repl, "@"); i >= 0 {
		img.Digest = repl[i+1:]
		repl = repl[:i]
	}
	if i := strings.LastIndex(repl, ":"); i > strings.LastIndex(repl, "/") {
		img.NewTag = repl[i+1:]
		repl = repl[:i]
	}
	if hasOld {
		img.Name, img.NewName = old, repl
		if img.NewName == img.Name {
			img.NewName = ""
		}
	} else {
		img.Name = repl
	}
	switch {
	case img.Name == "":
		return img, fmt.Errorf("%q names no image: write [<name>=]<newName>[:<tag>][@<digest>]", s)
	case img.NewName == "" && img.NewTag == "" && img.Digest == "":
		return img, fmt.Errorf("%q changes nothing: add a new name, a tag or a digest", s)
	case img.NewTag != "" && img.Digest != "":
		img.NewTag = ""
	}
	return img, nil
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
			opts.FailOnSharedResource = on
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
