package controller

import (
	"testing"

	"soll.dev/internal/project"
)

func TestCredentialTemplateMatching(t *testing.T) {
	cases := []struct {
		repo, prefix string
		want         bool
	}{
		{"https://git.example.com/team/app", "https://git.example.com/team", true},
		{"https://git.example.com/team/app.git", "https://GIT.example.com/team/", true},
		{"https://git.example.com/team/app", "https://git.example.com/team/app.git", true},
		{"https://git.example.com/teams/app", "https://git.example.com/team", false},
		{"https://git.example.com/team", "https://git.example.com/team/app", false},
		{"https://other.example.com/team/app", "https://git.example.com", false},
		{"git@git.example.com:team/app.git", "git@git.example.com:", true},
		{"git@git.example.com:team/app.git", "git@git.example.com:team", true},
		{"git@git.example.com:teams/app.git", "git@git.example.com:team", false},
	}
	for _, c := range cases {
		if got := prefixMatch(project.NormalizeRepoURL(c.repo), project.NormalizeRepoURL(c.prefix)); got != c.want {
			t.Errorf("template %s for %s: match = %v, want %v", c.prefix, c.repo, got, c.want)
		}
	}
}
