package webhook

import (
	"strings"
	"testing"
)

func TestMatches(t *testing.T) {
	github := Push{
		RepoURLs:      []string{"https://github.com/Acme/Deploy-Config.git", "git@github.com:Acme/Deploy-Config.git", "https://github.com/Acme/Deploy-Config"},
		Ref:           "refs/heads/main",
		Branch:        "main",
		After:         "2d3c6a1e0b9f4c8d7e6f5a4b3c2d1e0f9a8b7c6d",
		DefaultBranch: "main",
	}
	feature := github
	feature.Ref, feature.Branch = "refs/heads/feature/x", "feature/x"
	tag := github
	tag.Ref, tag.Branch, tag.Tag = "refs/tags/v1.2.0", "", "v1.2.0"
	noDefault := Push{
		RepoURLs: []string{"ssh://git@bitbucket.example.com:7999/plat/gitops.git", "https://bitbucket.example.com/scm/plat/gitops.git"},
		Ref:      "refs/heads/release", Branch: "release",
		After: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
	}
	ipv6 := Push{RepoURLs: []string{"ssh://git@[2001:db8::1]:2222/org/repo.git"}, Ref: "refs/heads/main", Branch: "main"}
	other := Push{RepoURLs: []string{"refs/heads/main"}, Ref: "refs/heads/main", Branch: "main"}

	for _, tc := range []struct {
		name     string
		push     Push
		repo     string
		revision string
		want     bool
	}{
		// Repository spellings.
		{"https as sent", github, "https://github.com/Acme/Deploy-Config.git", "main", true},
		{"no .git", github, "https://github.com/acme/deploy-config", "main", true},
		{"trailing slash", github, "https://github.com/acme/deploy-config/", "main", true},
		{"upper-case scheme and host", github, "HTTPS://GitHub.COM/acme/deploy-config", "main", true},
		{"scp-like ssh", github, "git@github.com:acme/deploy-config.git", "main", true},
		{"ssh URL with port", github, "ssh://git@github.com:22/acme/deploy-config", "main", true},
		{"ssh URL without user", github, "ssh://github.com/acme/deploy-config.git", "main", true},
		{"http with credentials and port", github, "https://bot:token@github.com:443/acme/deploy-config.git", "main", true},
		{"query and fragment", github, "https://github.com/acme/deploy-config.git?x=1#y", "main", true},
		{"surrounding space", github, "  https://github.com/acme/deploy-config  ", "main", true},
		{"other repository", github, "https://github.com/acme/deploy-config-2", "main", false},
		{"same path, other host", github, "https://gitlab.com/acme/deploy-config", "main", false},
		{"parent path", github, "https://github.com/acme", "main", false},
		{"sub path", github, "https://github.com/acme/deploy-config/sub", "main", false},
		{"empty repo URL", github, "", "main", false},
		{"local path", github, "/srv/git/acme/deploy-config", "main", false},
		{"bitbucket server ssh", noDefault, "ssh://git@bitbucket.example.com:7999/plat/gitops", "release", true},
		{"bitbucket server scp-like to the ssh path", noDefault, "git@bitbucket.example.com:plat/gitops.git", "release", true},
		{"bitbucket server http", noDefault, "https://bitbucket.example.com/scm/plat/gitops", "release", true},
		{"IPv6 host", ipv6, "ssh://git@[2001:DB8::1]/org/repo", "main", true},
		{"push naming no usable URL", other, "https://github.com/acme/deploy-config", "main", false},

		// Revisions.
		{"branch", github, "https://github.com/acme/deploy-config", "main", true},
		{"full branch ref", github, "https://github.com/acme/deploy-config", "refs/heads/main", true},
		{"other branch", github, "https://github.com/acme/deploy-config", "develop", false},
		{"HEAD on the default branch", github, "https://github.com/acme/deploy-config", "HEAD", true},
		{"empty on the default branch", github, "https://github.com/acme/deploy-config", "", true},
		{"HEAD on another branch", feature, "https://github.com/acme/deploy-config", "HEAD", false},
		{"branch with a slash", feature, "https://github.com/acme/deploy-config", "feature/x", true},
		{"HEAD without a known default branch", noDefault, "https://bitbucket.example.com/scm/plat/gitops", "HEAD", true},
		{"tag", tag, "https://github.com/acme/deploy-config", "v1.2.0", true},
		{"full tag ref", tag, "https://github.com/acme/deploy-config", "refs/tags/v1.2.0", true},
		{"other tag", tag, "https://github.com/acme/deploy-config", "v1.2.1", false},
		{"HEAD on a tag push", tag, "https://github.com/acme/deploy-config", "HEAD", false},
		{"tag name as branch", github, "https://github.com/acme/deploy-config", "v1.2.0", false},
		{"pinned full SHA", github, "https://github.com/acme/deploy-config", "2d3c6a1e0b9f4c8d7e6f5a4b3c2d1e0f9a8b7c6d", false},
		{"pinned short SHA", github, "https://github.com/acme/deploy-config", "2d3c6a1", false},
		{"branch spelled with a different case", github, "https://github.com/acme/deploy-config", "Main", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Matches(tc.push, tc.repo, tc.revision); got != tc.want {
				t.Errorf("Matches(%v, %q, %q) = %v, want %v", tc.push.RepoURLs, tc.repo, tc.revision, got, tc.want)
			}
		})
	}
}

func TestRepoKey(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/org/repo.git": "github.com/org/repo",
		"git@github.com:org/repo.git":     "github.com/org/repo",
		"ssh://git@host:22/org/repo":      "host/org/repo",
		"git://host/org/repo.git/":        "host/org/repo",
		"https://host/group/sub/repo":     "host/group/sub/repo",
		"host:org/repo":                   "host/org/repo",
		"https://host":                    "",
		"https://host/":                   "",
		"https://host/.git":               "",
		"":                                "",
		"relative/path":                   "",
		"ssh://[::1]/r":                   "::1/r",
		"https://user@name@host/org/repo": "host/org/repo",
		"https://host/org/repo.git.git":   "host/org/repo.git",
		"HTTPS://HOST/Org/Repo":           "host/org/repo",
	} {
		if got := repoKey(in); got != want {
			t.Errorf("repoKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// A ref Git would refuse is not a push: trimming "\r0" to "0" would
// trigger the apps that follow branch "0".
func TestNewPushRefusesInvalidRefs(t *testing.T) {
	for _, ref := range []string{"refs/heads/\r0", "refs/heads/a b", "refs/heads/a..b", "refs/heads/x.lock", "refs/tags/v1^", "refs/heads/"} {
		_, err := newPush(Generic, ref, "", "", "https://git.example.com/acme/repo.git")
		if err == nil || !strings.Contains(err.Error(), "not a valid Git ref name") {
			t.Errorf("newPush(%q) = %v, want an invalid-ref error", ref, err)
		}
	}
	for _, ref := range []string{"refs/heads/main", "refs/heads/feature/x-1", "refs/tags/v1.2.0"} {
		if _, err := newPush(Generic, ref, "", "", "https://git.example.com/acme/repo.git"); err != nil {
			t.Errorf("newPush(%q): %v", ref, err)
		}
	}
}
