package project

import (
	"fmt"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/glob"
)

// ResourceError says that a Project does not permit a kind of resource.
// CheckResource leaves Name empty; a caller that knows the object sets it
// (through errors.As) so that the message names the object too.
type ResourceError struct {
	Project    string
	Group      string
	Kind       string
	Namespaced bool
	// Name is the object's name, when known.
	Name string
	// List is the Project field that decided: the allow list that does not
	// include the kind, or the deny list that names it.
	List string
	// DeniedBy is the deny list entry that matched; nil when the allow list
	// does not include the kind.
	DeniedBy *sollv1.GroupKind
}

func (e *ResourceError) Error() string {
	what := e.Kind
	if e.Group != "" {
		what += "." + e.Group
	}
	if e.Name != "" {
		what += fmt.Sprintf(" %q", e.Name)
	}
	scope := "cluster-scoped"
	if e.Namespaced {
		scope = "namespaced"
	}
	why := e.List + " does not include it"
	if e.DeniedBy != nil {
		why = fmt.Sprintf("%s denies it with {group: %q, kind: %q}", e.List, e.DeniedBy.Group, e.DeniedBy.Kind)
	}
	return fmt.Sprintf("%s (%s) is not permitted in project %s: %s: remove it from the sources or ask an admin to change the project",
		what, scope, e.Project, why)
}

// CheckResource reports whether p lets its Applications manage resources of
// group and kind, which are cluster-scoped unless namespaced is true; the
// core group is "". The error, when not nil, is a *ResourceError.
//
// A kind is permitted when the allow list matches it and the deny list does
// not: deny wins. The cluster allow list allows nothing when empty, so a
// Project must opt in to cluster-scoped kinds; the namespace allow list
// allows every kind when empty. Group and kind of every entry are globs, so
// {group: "*", kind: "*"} matches all kinds and {group: "*.example.com",
// kind: "*"} all kinds of those groups. Kinds are case-sensitive, as in
// Kubernetes.
func CheckResource(p *sollv1.Project, group, kind string, namespaced bool) error {
	allow, deny := p.Spec.ClusterResourceAllowList, p.Spec.ClusterResourceDenyList
	allowField, denyField := "spec.clusterResourceAllowList", "spec.clusterResourceDenyList"
	if namespaced {
		allow, deny = p.Spec.NamespaceResourceAllowList, p.Spec.NamespaceResourceDenyList
		allowField, denyField = "spec.namespaceResourceAllowList", "spec.namespaceResourceDenyList"
	}
	e := &ResourceError{Project: p.Name, Group: group, Kind: kind, Namespaced: namespaced}
	if gk := matchGroupKind(deny, group, kind); gk != nil {
		e.List, e.DeniedBy = denyField, gk
		return e
	}
	if (namespaced && len(allow) == 0) || matchGroupKind(allow, group, kind) != nil {
		return nil
	}
	e.List = allowField
	return e
}

// matchGroupKind returns the first entry of list matching group and kind.
func matchGroupKind(list []sollv1.GroupKind, group, kind string) *sollv1.GroupKind {
	for i := range list {
		if glob.Match(list[i].Group, group) && glob.Match(list[i].Kind, kind) {
			return &list[i]
		}
	}
	return nil
}
