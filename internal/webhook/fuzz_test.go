package webhook

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzPayloads feeds arbitrary bodies to every provider's payload parser
// and to the matcher: none may panic, and a parsed push always names a ref
// and at least one repository URL, each without surrounding space.
func FuzzPayloads(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"ref":"refs/heads/main","repository":{"clone_url":" "}}`))
	f.Add([]byte(`{"changes":[{"ref":{"id":"refs/tags/v1"}}]}`))
	f.Add([]byte(`[]`))
	parsers := map[string]func([]byte) ([]Push, error){
		"github":           parseGitHubLike("github"),
		"gitlab":           parseGitLab,
		"bitbucket-cloud":  parseBitbucketCloud,
		"bitbucket-server": parseBitbucketServer,
		"generic":          parseGeneric,
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for name, parse := range parsers {
			pushes, err := parse(body)
			if err != nil {
				if pushes != nil {
					t.Errorf("%s: pushes %v with error %v", name, pushes, err)
				}
				continue
			}
			for _, p := range pushes {
				if p.Ref == "" || len(p.RepoURLs) == 0 {
					t.Errorf("%s: push without a ref or URL: %+v", name, p)
				}
				for _, u := range p.RepoURLs {
					if u == "" || strings.TrimSpace(u) != u {
						t.Errorf("%s: repository URL %q is empty or padded", name, u)
					}
					// Matching never panics, whatever the URL.
					Matches(p, u, p.Branch)
					Matches(p, u, "HEAD")
				}
			}
		}
	})
}

// FuzzMatches checks the repository matching on arbitrary URLs: it never
// panics, and a URL always matches a push of itself to its branch.
func FuzzMatches(f *testing.F) {
	f.Add("https://github.com/acme/deploy-config.git", "main")
	f.Add("git@github.com:acme/deploy-config.git", "refs/heads/main")
	f.Add("ssh://git@[2001:db8::1]:2222/org/repo.git", "v1")
	f.Add("HTTPS://GitHub.com:443/Acme/Repo/", "")
	f.Add("%zz://::", "refs/tags/x")
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
