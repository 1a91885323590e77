package webhook

import (
	"strings"
	"testing"
)

// FuzzMatches checks the repository matching on arbitrary URLs: it never
// panics, and a URL always matches a push of itself to its branch.
func FuzzMatches(f *testing.F) {
	f.Add("https://github.com/acme/deploy-config.git", "main")
	f.Add("git@github.com:acme/deploy-config.git", "refs/heads/main")
	f.Add("ssh://git@[2001:db8::1]:2222/org/repo.git", "v1")
	f.Add("HTTPS://GitHub.com:443/Acme/Repo/", "")
	f.Add("%zz://::", "refs/tags/x")
	f.Add("://0/0", "\r0") // a ref Git refuses once matched a trimmed revision
	f.Fuzz(func(t *testing.T, url, branch string) {
		if strings.TrimSpace(url) == "" || strings.ContainsAny(branch, " \t\n") || branch == "" || strings.HasPrefix(branch, "refs/") {
			return
		}
		p, err := newPush("generic", "refs/heads/"+branch, "", "", url)
		if err != nil {
			return
		}
		if repoKey(url) != "" && !Matches(p, url, branch) {
			t.Errorf("a push of %q to %q does not match the same URL and branch (key %q)", url, branch, repoKey(url))
		}
	})
}
