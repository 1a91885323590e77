package project

import (
	"testing"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/resource"
)

// TestSollNamespaceNeedsAnExactEntry: soll's own namespace (where the
// Applications live) is never matched by a pattern, as an Application's
// destination or as the namespace of one of its objects; an entry naming it
// exactly allows it, and a negation still denies it.
func TestSollNamespaceNeedsAnExactEntry(t *testing.T) {
	const sollNS = "soll"
	tests := []struct {
		name  string
		dests []sollv1.ProjectDestination
		ns    string
		want  []string
	}{
		{
			name:  "star does not match soll's namespace",
			dests: []sollv1.ProjectDestination{{Server: "*", Name: "*", Namespace: "*"}},
			ns:    sollNS,
			want:  []string{"namespace soll", "not permitted in project team-a", "soll is soll's own namespace, which only an entry naming it exactly allows"},
		},
		{
			name:  "glob does not match soll's namespace",
			dests: []sollv1.ProjectDestination{{Server: "*", Namespace: "so*"}},
			ns:    sollNS,
			want:  []string{"spec.destinations allows server * namespace so*", "soll's own namespace"},
		},
		{
			name:  "star still matches other namespaces",
			dests: []sollv1.ProjectDestination{{Server: "*", Namespace: "*"}},
			ns:    "soll-apps",
		},
		{
			name:  "exact entry allows soll's namespace",
			dests: []sollv1.ProjectDestination{{Server: "*", Namespace: "*"}, {Server: "https://kubernetes.default.svc", Namespace: sollNS}},
			ns:    sollNS,
		},
		{
			name:  "exact entry on another cluster does not",
			dests: []sollv1.ProjectDestination{{Name: "prod", Namespace: sollNS}},
			ns:    sollNS,
			want:  []string{"not permitted"},
		},
		{
			name:  "negation denies soll's namespace even with an exact entry",
			dests: []sollv1.ProjectDestination{{Server: "*", Namespace: sollNS}, {Server: "*", Namespace: "!*"}},
			ns:    sollNS,
			want:  []string{`spec.destinations[1] denies namespace "!*"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := project("team-a", sollv1.ProjectSpec{SourceRepos: []string{"*"}, Destinations: tt.dests})
			a := app("web", server("https://kubernetes.default.svc", tt.ns), "https://git.example.com/web")
			a.Namespace = sollNS
			checkErr(t, CheckApplication(p, a), tt.want...)

			// The same verdict for an object of an app deploying
			// elsewhere that names the namespace itself.
			a.Spec.Destination.Namespace = "web"
			p.Spec.Destinations = append(p.Spec.Destinations, sollv1.ProjectDestination{Server: "*", Namespace: "web"})
			checkErr(t, CheckObjectNamespace(p, a, resource.Key{Kind: "ConfigMap", Namespace: tt.ns, Name: "rbac"}), tt.want...)
		})
	}
}

func TestCheckObjectNamespace(t *testing.T) {
	teamA := project("team-a", sollv1.ProjectSpec{Destinations: []sollv1.ProjectDestination{
		{Server: "https://kubernetes.default.svc", Namespace: "team-a-*"},
		{Name: "prod", Namespace: "team-a-prod"},
		{Server: "*", Namespace: "!team-a-secret*"},
	}})
	tests := []struct {
		name string
		dest sollv1.ApplicationDestination
		key  resource.Key
		want []string
	}{
		{
			name: "object in the destination namespace",
			dest: server("https://kubernetes.default.svc", "team-a-web"),
			key:  resource.Key{Kind: "ConfigMap", Namespace: "team-a-web", Name: "cm"},
		},
		{
			name: "object in another allowed namespace",
			dest: server("https://kubernetes.default.svc", "team-a-web"),
			key:  resource.Key{Kind: "ConfigMap", Namespace: "team-a-db", Name: "cm"},
		},
		{
			name: "object outside the project's namespaces",
			dest: server("https://kubernetes.default.svc", "team-a-web"),
			key:  resource.Key{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding", Namespace: "kube-system", Name: "admin"},
			want: []string{
				"rbac.authorization.k8s.io/RoleBinding kube-system/admin: namespace kube-system is not permitted in project team-a on server https://kubernetes.default.svc",
				"spec.destinations allows server https://kubernetes.default.svc namespace team-a-*, name prod namespace team-a-prod",
				"leave metadata.namespace unset",
				"ask an admin to change the project",
			},
		},
		{
			name: "negation denies",
			dest: server("https://kubernetes.default.svc", "team-a-web"),
			key:  resource.Key{Kind: "Secret", Namespace: "team-a-secrets", Name: "s"},
			want: []string{"Secret team-a-secrets/s: namespace team-a-secrets is not permitted in project team-a", `spec.destinations[2] denies namespace "!team-a-secret*"`},
		},
		{
			name: "rules of the app's cluster",
			dest: named("prod", "team-a-prod"),
			key:  resource.Key{Kind: "ConfigMap", Namespace: "team-a-web", Name: "cm"},
			want: []string{"ConfigMap team-a-web/cm: namespace team-a-web is not permitted in project team-a on cluster prod"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := app("web", tt.dest, "https://git.example.com/web")
			a.Namespace = "soll"
			checkErr(t, CheckObjectNamespace(teamA, a, tt.key), tt.want...)
		})
	}
}
