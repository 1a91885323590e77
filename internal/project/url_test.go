package project

import (
	"strings"
	"testing"

	sollv1 "soll.dev/api/v1alpha1"
)

func TestNormalizeRepoURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://GitHub.com/Org/App.git/", "https://github.com/Org/App"},
		{"HTTPS://user@Git.Example.com/team-a/web", "https://user@git.example.com/team-a/web"},
		{"https://git.example.com/team-%61/web", "https://git.example.com/team-a/web"},
		{"https://git.example.com/team-a/%2e%2E/team-b/cfg", "https://git.example.com/team-a/../team-b/cfg"},
		{"https://git.example.com/team-a/w%2Fb", "https://git.example.com/team-a/w%2Fb"},
		{"https://git.example.com/team-a/%zz", "https://git.example.com/team-a/%zz"},
		{"https://git.example.com/team-a/%4", "https://git.example.com/team-a/%4"},
		{"git@Git.Example.com:team-%61/web.git", "git@git.example.com:team-a/web"},
		{"https://git.example.com/team-a/*", "https://git.example.com/team-a/*"},
	}
	for _, tt := range tests {
		if got := NormalizeRepoURL(tt.in); got != tt.want {
			t.Errorf("NormalizeRepoURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCheckRepoRefusesDotSegments: a URL with a dot segment or a
// backslash, plain or encoded, is refused with an error naming the field,
// even where a pattern matches it.
func TestCheckRepoRefusesDotSegments(t *testing.T) {
	p := &sollv1.Project{Spec: sollv1.ProjectSpec{SourceRepos: []string{"https://git.example.com/team-a/*", "git@git.example.com:team-a/*", "!https://git.example.com/team-b/*"}}}
	p.Name = "team-a"
	tests := []struct {
		url  string
		want string // "" means allowed
	}{
		{"https://git.example.com/team-a/cfg", ""},
		{"https://git.example.com/team-a/cfg..old", ""},
		{"https://git.example.com/team-a/.config", ""},
		{"https://git.example.com/team-a/../team-b/cfg", `the path segment ".."`},
		{"https://git.example.com/team-a/./cfg", `the path segment "."`},
		{"https://git.example.com/team-a/%2e%2e/team-b/cfg", `the path segment ".."`},
		{"https://git.example.com/team-a/..%2fteam-b/cfg", "an encoded slash (%2f)"},
		{"https://git.example.com/team-a/%2e%2F", "an encoded slash (%2f)"},
		{"https://git.example.com/team-a/%2E./team-b/cfg", `the path segment ".."`},
		{"https://git.example.com/team-a/.%2e", `the path segment ".."`},
		{"https://git.example.com/team-a/cfg/..", `the path segment ".."`},
		{"https://git.example.com/team-a/cfg?x=/../", `the path segment ".."`},
		{`https://git.example.com/team-a/..\team-b\cfg`, "a backslash"},
		{"https://git.example.com/team-a/..%5cteam-b", "a backslash"},
		{"git@git.example.com:team-a/../team-b/cfg", `the path segment ".."`},
		// An encoded name of a denied repository is still denied.
		{"https://git.example.com/team-%62/cfg", "denies it"},
	}
	for _, tt := range tests {
		err := CheckRepo(p, "spec.source.repoURL", tt.url)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckRepo(%q) = %v, want allowed", tt.url, err)
		case tt.want != "" && err == nil:
			t.Errorf("CheckRepo(%q) allowed it, want an error saying %q", tt.url, tt.want)
		case tt.want != "" && (!strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "spec.source.repoURL: ")):
			t.Errorf("CheckRepo(%q) = %q, want it to name the field and say %q", tt.url, err, tt.want)
		}
	}
	// Through CheckApplication, which the API and the controller share.
	a := &sollv1.Application{Spec: sollv1.ApplicationSpec{
		Sources:     []sollv1.ApplicationSource{{RepoURL: "https://git.example.com/team-a/web"}, {RepoURL: "https://git.example.com/team-a/../team-b/cfg"}},
		Destination: sollv1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: "web"},
	}}
	p.Spec.Destinations = anywhere
	if err := CheckApplication(p, a); err == nil || !strings.Contains(err.Error(), `spec.sources[1].repoURL: https://git.example.com/team-a/../team-b/cfg has the path segment ".."`) {
		t.Errorf("CheckApplication = %v, want the dot segment of spec.sources[1] refused", err)
	}
}
