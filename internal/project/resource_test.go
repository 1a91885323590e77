package project

import (
	"errors"
	"testing"

	sollv1 "soll.dev/api/v1alpha1"
)

func TestCheckResource(t *testing.T) {
	gk := func(group, kind string) sollv1.GroupKind { return sollv1.GroupKind{Group: group, Kind: kind} }
	list := func(gks ...sollv1.GroupKind) []sollv1.GroupKind { return gks }
	tests := []struct {
		name        string
		spec        sollv1.ProjectSpec
		group, kind string
		namespaced  bool
		want        []string
	}{
		{
			name: "empty cluster allow list denies cluster kinds",
			kind: "Namespace",
			want: []string{"Namespace (cluster-scoped) is not permitted in project team-a: spec.clusterResourceAllowList does not include it"},
		},
		{
			name:       "empty namespace allow list allows namespaced kinds",
			group:      "apps",
			kind:       "Deployment",
			namespaced: true,
		},
		{
			name: "cluster kind in the allow list",
			spec: sollv1.ProjectSpec{ClusterResourceAllowList: list(gk("", "Namespace"))},
			kind: "Namespace",
		},
		{
			name:  "core group is not any group",
			spec:  sollv1.ProjectSpec{ClusterResourceAllowList: list(gk("", "Namespace"))},
			group: "example.com",
			kind:  "Namespace",
			want:  []string{"Namespace.example.com (cluster-scoped)"},
		},
		{
			name:  "wildcard group",
			spec:  sollv1.ProjectSpec{ClusterResourceAllowList: list(gk("*", "ClusterRole"))},
			group: "rbac.authorization.k8s.io",
			kind:  "ClusterRole",
		},
		{
			name:  "group suffix glob",
			spec:  sollv1.ProjectSpec{ClusterResourceAllowList: list(gk("*.example.com", "*"))},
			group: "widgets.example.com",
			kind:  "Widget",
		},
		{
			name:  "wildcard kind does not cross groups",
			spec:  sollv1.ProjectSpec{ClusterResourceAllowList: list(gk("example.com", "*"))},
			group: "rbac.authorization.k8s.io",
			kind:  "ClusterRole",
			want:  []string{"ClusterRole.rbac.authorization.k8s.io (cluster-scoped)", "does not include it"},
		},
		{
			name: "cluster deny wins over allow",
			spec: sollv1.ProjectSpec{
				ClusterResourceAllowList: list(gk("*", "*")),
				ClusterResourceDenyList:  list(gk("", "Namespace")),
			},
			kind: "Namespace",
			want: []string{`spec.clusterResourceDenyList denies it with {group: "", kind: "Namespace"}`},
		},
		{
			name: "cluster deny list does not touch namespaced kinds",
			spec: sollv1.ProjectSpec{
				ClusterResourceDenyList: list(gk("*", "*")),
			},
			kind:       "ConfigMap",
			namespaced: true,
		},
		{
			name:       "namespaced allow list restricts",
			spec:       sollv1.ProjectSpec{NamespaceResourceAllowList: list(gk("apps", "*"), gk("", "ConfigMap"))},
			kind:       "Secret",
			namespaced: true,
			want:       []string{"Secret (namespaced) is not permitted in project team-a: spec.namespaceResourceAllowList does not include it"},
		},
		{
			name:       "namespaced allow list matches",
			spec:       sollv1.ProjectSpec{NamespaceResourceAllowList: list(gk("apps", "*"), gk("", "ConfigMap"))},
			group:      "apps",
			kind:       "StatefulSet",
			namespaced: true,
		},
		{
			name:       "namespaced deny wins with an empty allow list",
			spec:       sollv1.ProjectSpec{NamespaceResourceDenyList: list(gk("*", "NetworkPolicy"))},
			group:      "networking.k8s.io",
			kind:       "NetworkPolicy",
			namespaced: true,
			want:       []string{"NetworkPolicy.networking.k8s.io (namespaced)", "spec.namespaceResourceDenyList denies it"},
		},
		{
			name:       "kinds are case-sensitive",
			spec:       sollv1.ProjectSpec{NamespaceResourceAllowList: list(gk("", "ConfigMap"))},
			kind:       "configmap",
			namespaced: true,
			want:       []string{"does not include it"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, CheckResource(project("team-a", tt.spec), tt.group, tt.kind, tt.namespaced), tt.want...)
		})
	}
}

func TestResourceErrorNamesTheObject(t *testing.T) {
	err := CheckResource(project("team-a", sollv1.ProjectSpec{}), "", "Namespace", false)
	var re *ResourceError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not a *ResourceError", err)
	}
	re.Name = "prod"
	checkErr(t, err, `Namespace "prod" (cluster-scoped) is not permitted in project team-a: spec.clusterResourceAllowList does not include it: `)
}
