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
	g, _, found := strings.Cut(apiVersion(m), "/")
	if !found {
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
