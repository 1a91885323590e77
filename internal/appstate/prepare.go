package appstate

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/resource"
)

// rendered is one object as a source of an app rendered it.
type rendered struct {
	render.Object
	// source names the app's source in messages ("spec.sources[1]")
	// when the app has several; empty otherwise.
	source string
}

// where says where the object was written, for messages: the file, and
// the line, document and List item when the renderer knows them.
func (r rendered) where() string {
	o := r.Origin
	var b strings.Builder
	b.WriteString(o.File)
	if o.Line > 0 {
		fmt.Fprintf(&b, ":%d (document %d", o.Line, o.Document+1)
		if o.Item >= 0 {
			fmt.Fprintf(&b, ", item %d of its List", o.Item+1)
		}
		b.WriteByte(')')
	}
	if r.source != "" {
		b.WriteString(" of " + r.source)
	}
	return b.String()
}

// scopes tells whether objects of a kind live in namespaces: as the
// cluster serves the kind, or, for a kind the cluster does not serve yet,
// as a CustomResourceDefinition among the app's own objects defines it.
type scopes struct {
	// served asks the cluster; an error means it does not serve the kind
	// (or cannot say).
	served func(schema.GroupVersionKind) (bool, error)
	// defined are the kinds the app's CRDs define: namespaced or not.
	defined map[schema.GroupKind]bool
}

// newScopes learns the scopes the CRDs among objs define (spec.group,
// spec.names.kind, spec.scope), before any of them exists in the cluster.
func newScopes(served func(schema.GroupVersionKind) (bool, error), objs []rendered) scopes {
	s := scopes{served: served, defined: map[schema.GroupKind]bool{}}
	for _, o := range objs {
		u := o.Unstructured
		if gvk := u.GroupVersionKind(); gvk.Group != "apiextensions.k8s.io" || gvk.Kind != "CustomResourceDefinition" {
			continue
		}
		group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
		scope, _, _ := unstructured.NestedString(u.Object, "spec", "scope")
		if kind == "" || (scope != "Namespaced" && scope != "Cluster") {
			continue // the API server refuses it: its apply says why
		}
		s.defined[schema.GroupKind{Group: group, Kind: kind}] = scope == "Namespaced"
	}
	return s
}

// namespaced reports whether objects of gvk live in namespaces. The
// cluster's answer comes first: it is the scope of the live objects. A
// kind that neither the cluster nor the app's CRDs know is taken for
// namespaced: nothing of it can be applied until the cluster serves it,
// and the comparison after that knows its scope (an apply whose
// namespace does not fit the kind's scope is refused, see kube.Client).
func (s scopes) namespaced(gvk schema.GroupVersionKind) bool {
	if namespaced, err := s.served(gvk); err == nil {
		return namespaced
	}
	if namespaced, ok := s.defined[gvk.GroupKind()]; ok {
		return namespaced
	}
	return gvk.Kind != "Namespace" && gvk.Kind != "CustomResourceDefinition"
}

// prepare defaults namespaces, checks for duplicates, and marks every
// desired object with the tracking annotation and the managed label.
func prepare(app *sollv1.Application, objs []rendered, sc scopes) ([]*unstructured.Unstructured, error) {
	seen := map[resource.Key]rendered{}
	var out []*unstructured.Unstructured
	for _, o := range objs {
		u := o.Unstructured.DeepCopy()
		namespaced := sc.namespaced(u.GroupVersionKind())
		switch {
		case namespaced && u.GetNamespace() == "":
			u.SetNamespace(app.Spec.Destination.Namespace)
		case !namespaced:
			u.SetNamespace("")
		}
		k := resource.KeyOf(u)
		if prev, dup := seen[k]; dup {
			// Which one to apply would be a guess: refuse both.
			return nil, fmt.Errorf("%s is defined twice: in %s and in %s: soll applies every object once and does not pick one: remove one, or give them different names",
				k, prev.where(), o.where())
		}
		seen[k] = o
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
		labels[sollv1.ManagedLabel] = "true"
		u.SetLabels(labels)
		out = append(out, u)
	}
	return out, nil
}
