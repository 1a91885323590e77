package project

import (
	"strings"
	"testing"

	sollv1 "soll.dev/api/v1alpha1"
)

var anywhere = []sollv1.ProjectDestination{{Server: "*", Namespace: "*"}}

func TestCheckApplicationRepos(t *testing.T) {
	dest := server("https://kubernetes.default.svc", "web")
	tests := []struct {
		name  string
		repos []string // spec.sourceRepos
		app   *sollv1.Application
		want  []string // error fragments; none means permitted
	}{
		{
			name:  "star allows all",
			repos: []string{"*"},
			app:   app("web", dest, "https://git.example.com/team-a/web"),
		},
		{
			name:  "star crosses slashes",
			repos: []string{"https://git.example.com/team-a/*"},
			app:   app("web", dest, "https://git.example.com/team-a/sub/group/web.git"),
		},
		{
			name:  "other repository",
			repos: []string{"https://git.example.com/team-a/*"},
			app:   app("web", dest, "https://git.example.com/team-b/web"),
			want: []string{
				"spec.source.repoURL: https://git.example.com/team-b/web is not permitted in project team-a",
				"(spec.sourceRepos allows https://git.example.com/team-a/*)",
				"use an allowed repository or ask an admin to add it",
			},
		},
		{
			name: "empty list allows none",
			app:  app("web", dest, "https://git.example.com/team-a/web"),
			want: []string{"spec.sourceRepos allows no repository"},
		},
		{
			name:  "trailing .git and slash, upper-case host and scheme",
			repos: []string{"https://git.example.com/team-a/web"},
			app:   app("web", dest, "HTTPS://Git.Example.COM/team-a/web.git/"),
		},
		{
			name:  "pattern with .git matches URL without",
			repos: []string{"https://git.example.com/team-a/web.git"},
			app:   app("web", dest, "https://git.example.com/team-a/web"),
		},
		{
			name:  "path keeps its case",
			repos: []string{"https://git.example.com/team-a/web"},
			app:   app("web", dest, "https://git.example.com/Team-A/web"),
			want:  []string{"not permitted"},
		},
		{
			name:  "http is not https",
			repos: []string{"https://git.example.com/*"},
			app:   app("web", dest, "http://git.example.com/team-a/web"),
			want:  []string{"not permitted"},
		},
		{
			name:  "scp-like host is case-insensitive",
			repos: []string{"git@git.example.com:team-a/*"},
			app:   app("web", dest, "git@GIT.example.com:team-a/web.git"),
		},
		{
			name:  "negation denies what another entry allows",
			repos: []string{"https://git.example.com/*", "!https://git.example.com/secret/*"},
			app:   app("web", dest, "https://git.example.com/secret/keys.git"),
			want: []string{
				`spec.sourceRepos denies it with "!https://git.example.com/secret/*"`,
				"use another repository",
			},
		},
		{
			name:  "negation wins in any order",
			repos: []string{"!https://git.example.com/secret/*", "*"},
			app:   app("web", dest, "https://git.example.com/secret/keys"),
			want:  []string{"denies it"},
		},
		{
			name:  "negation is normalised too",
			repos: []string{"*", "!HTTPS://GIT.EXAMPLE.COM/secret/keys.git"},
			app:   app("web", dest, "https://git.example.com/secret/keys"),
			want:  []string{"denies it"},
		},
		{
			name:  "negation alone allows nothing",
			repos: []string{"!https://git.example.com/secret/*"},
			app:   app("web", dest, "https://git.example.com/team-a/web"),
			want:  []string{"spec.sourceRepos allows no repository"},
		},
		{
			name:  "user information is not shown",
			repos: []string{"https://git.example.com/team-a/*"},
			app:   app("web", dest, "https://bot:s3cret@git.example.com/team-b/web"),
			want:  []string{"https://git.example.com/team-b/web is not permitted"},
		},
		{
			name:  "a URL that does not parse is not shown",
			repos: []string{"https://git.example.com/team-a/*"},
			app:   app("web", dest, "https://bot:s3cret@git.example.com/team-b/%zz"),
			want:  []string{"spec.source.repoURL: the repository URL (it does not parse as a URL) has a \"%\" that is not followed by two hex digits"},
		},
		{
			name:  "every source is checked",
			repos: []string{"https://git.example.com/team-a/*", "https://charts.example.com"},
			app: app("web", dest,
				"https://charts.example.com",
				"https://git.example.com/team-b/values",
				"https://git.example.com/team-a/web",
				"oci://registry.example.com/charts"),
			want: []string{
				"spec.sources[1].repoURL: https://git.example.com/team-b/values is not",
				"spec.sources[3].repoURL: oci://registry.example.com/charts",
				"allows https://git.example.com/team-a/*, https://charts.example.com)",
			},
		},
		{
			name:  "long allow lists are cut",
			repos: []string{"!a", "a", "b", "c", "d", "e", "f", "g"},
			app:   app("web", dest, "https://h"),
			want:  []string{"allows a, b, c, d, e and 2 more)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := project("team-a", sollv1.ProjectSpec{SourceRepos: tt.repos, Destinations: anywhere})
			checkErr(t, CheckApplication(p, tt.app), tt.want...)
		})
	}
}

func TestCheckApplicationMultiSourceJoinsAll(t *testing.T) {
	p := project("team-a", sollv1.ProjectSpec{SourceRepos: []string{"https://ok"}})
	a := app("web", server("https://prod", "web"), "https://bad/1", "https://ok", "https://bad/2")
	err := CheckApplication(p, a)
	checkErr(t, err, "spec.sources[0].repoURL", "spec.sources[2].repoURL", "spec.destination:")
	if n := strings.Count(err.Error(), "\n") + 1; n != 3 {
		t.Errorf("got %d violations, want 3:\n%v", n, err)
	}
}

func TestCheckApplicationDestinations(t *testing.T) {
	tests := []struct {
		name  string
		dests []sollv1.ProjectDestination
		dest  sollv1.ApplicationDestination
		want  []string
	}{
		{
			name:  "server and namespace globs",
			dests: []sollv1.ProjectDestination{{Server: "https://*.prod.example.com", Namespace: "team-a-*"}},
			dest:  server("https://eu.prod.example.com", "team-a-web"),
		},
		{
			name:  "namespace outside the glob",
			dests: []sollv1.ProjectDestination{{Server: "https://*.prod.example.com", Namespace: "team-a-*"}},
			dest:  server("https://eu.prod.example.com", "team-b-web"),
			want: []string{
				"spec.destination: server https://eu.prod.example.com, namespace team-b-web is not permitted in project team-a",
				"(spec.destinations allows server https://*.prod.example.com namespace team-a-*)",
				"deploy to an allowed destination or ask an admin to add it",
			},
		},
		{
			name:  "server outside the glob",
			dests: []sollv1.ProjectDestination{{Server: "https://*.prod.example.com", Namespace: "*"}},
			dest:  server("https://staging.example.com", "web"),
			want:  []string{"not permitted"},
		},
		{
			name:  "trailing slash on the server",
			dests: []sollv1.ProjectDestination{{Server: "https://prod.example.com/", Namespace: "*"}},
			dest:  server("https://prod.example.com", "web"),
		},
		{
			name:  "name glob",
			dests: []sollv1.ProjectDestination{{Name: "prod-*", Namespace: "web"}},
			dest:  named("prod-eu", "web"),
		},
		{
			name:  "name pattern does not match a server",
			dests: []sollv1.ProjectDestination{{Name: "prod-*", Namespace: "web"}},
			dest:  server("https://prod-eu", "web"),
			want:  []string{"spec.destinations allows name prod-* namespace web"},
		},
		{
			name:  "server pattern does not match a name",
			dests: []sollv1.ProjectDestination{{Server: "https://prod*", Namespace: "web"}},
			dest:  named("prod", "web"),
			want:  []string{"spec.destination: cluster prod, namespace web is not permitted"},
		},
		{
			name:  "server star matches a named cluster",
			dests: []sollv1.ProjectDestination{{Server: "*", Namespace: "web"}},
			dest:  named("prod", "web"),
		},
		{
			name:  "name star matches a server",
			dests: []sollv1.ProjectDestination{{Name: "*", Namespace: "web"}},
			dest:  server("https://prod", "web"),
		},
		{
			name:  "entry with server and name",
			dests: []sollv1.ProjectDestination{{Server: "https://prod", Name: "prod", Namespace: "web"}},
			dest:  named("prod", "web"),
		},
		{
			name:  "in-cluster by name, project by server",
			dests: []sollv1.ProjectDestination{{Server: "https://kubernetes.default.svc", Namespace: "web"}},
			dest:  named("in-cluster", "web"),
		},
		{
			name:  "in-cluster by server, project by name",
			dests: []sollv1.ProjectDestination{{Name: "in-cluster", Namespace: "web"}},
			dest:  server("https://kubernetes.default.svc", "web"),
		},
		{
			name: "negated namespace denies",
			dests: []sollv1.ProjectDestination{
				{Server: "*", Namespace: "*"},
				{Server: "*", Namespace: "!kube-*"},
			},
			dest: server("https://prod", "kube-system"),
			want: []string{
				"spec.destination: server https://prod, namespace kube-system is not permitted in project team-a",
				`(spec.destinations[1] denies namespace "!kube-*")`,
				"deploy to another namespace",
			},
		},
		{
			name: "negated namespace lets others through",
			dests: []sollv1.ProjectDestination{
				{Server: "*", Namespace: "!kube-*"},
				{Server: "*", Namespace: "*"},
			},
			dest: server("https://prod", "web"),
		},
		{
			name: "negation only on its cluster",
			dests: []sollv1.ProjectDestination{
				{Server: "*", Namespace: "*"},
				{Name: "prod", Namespace: "!kube-*"},
			},
			dest: named("staging", "kube-system"),
		},
		{
			name:  "negation alone allows nothing",
			dests: []sollv1.ProjectDestination{{Server: "*", Namespace: "!kube-*"}},
			dest:  server("https://prod", "web"),
			want:  []string{"spec.destinations allows no destination"},
		},
		{
			name:  "no namespace needs a star",
			dests: []sollv1.ProjectDestination{{Server: "*", Namespace: "web"}},
			dest:  server("https://prod", ""),
			want:  []string{"server https://prod without a namespace is not permitted"},
		},
		{
			name:  "no namespace with star",
			dests: []sollv1.ProjectDestination{{Server: "*", Namespace: "*"}},
			dest:  server("https://prod", ""),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := project("team-a", sollv1.ProjectSpec{SourceRepos: []string{"*"}, Destinations: tt.dests})
			checkErr(t, CheckApplication(p, app("web", tt.dest, "https://git.example.com/web")), tt.want...)
		})
	}
}

func TestDefaultPermitsEverything(t *testing.T) {
	p := Default()
	if p.Name != "default" {
		t.Errorf("name = %q, want default", p.Name)
	}
	for _, a := range []*sollv1.Application{
		app("web", server("https://kubernetes.default.svc", "web"), "https://git.example.com/web"),
		app("web", named("prod", ""), "git@git.example.com:org/web.git", "oci://registry.example.com/chart"),
	} {
		checkErr(t, CheckApplication(p, a))
	}
	for _, r := range []struct {
		group, kind string
		namespaced  bool
	}{
		{"", "Namespace", false},
		{"rbac.authorization.k8s.io", "ClusterRole", false},
		{"apps", "Deployment", true},
		{"example.com", "Widget", true},
	} {
		checkErr(t, CheckResource(p, r.group, r.kind, r.namespaced))
	}
	checkErr(t, ValidateWindows(p))
}
