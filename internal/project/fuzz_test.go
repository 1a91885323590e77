package project

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzRepoURL checks repository URL handling on arbitrary input: it never
// panics, normalising twice changes nothing, and a URL a sourceRepos
// pattern accepts has, decoded, no dot segment or backslash that could
// climb out of the allowed path, and lies under the pattern's prefix.
func FuzzRepoURL(f *testing.F) {
	for _, s := range []string{
		"https://git.example.com/team-a/cfg.git",
		"https://git.example.com/team-a/../team-b/cfg",
		"https://git.example.com/team-a/%2e%2e/team-b/cfg",
		"https://git.example.com/team-a/.%2E/team-b",
		`https://git.example.com/team-a/..\team-b`,
		"git@git.example.com:team-a/cfg.git",
		"ssh://git@git.example.com:22/team-a/./cfg",
		"HTTPS://Git.Example.COM/team-%61/cfg",
		"https://git.example.com/team-a/%252e%252e/x",
		"https://git.example.com/team-a/%2%65%2%65/x",
	} {
		f.Add(s)
	}
	const prefix = "https://git.example.com/team-a/"
	f.Fuzz(func(t *testing.T, raw string) {
		n := NormalizeRepoURL(raw)
		if again := NormalizeRepoURL(n); again != n {
			t.Errorf("NormalizeRepoURL(%q) = %q, but normalising that gives %q", raw, n, again)
		}
		if err := CheckRepoPatterns("team-a", []string{prefix + "*"}, "spec.source.repoURL", raw); err != nil {
			if !strings.Contains(err.Error(), "spec.source.repoURL") {
				t.Errorf("error for %q does not name the field: %v", raw, err)
			}
			return
		}
		if !strings.HasPrefix(n, prefix) {
			t.Errorf("%q (normalised %q) is accepted by %s*", raw, n, prefix)
		}
		decoded, err := url.PathUnescape(n)
		if err != nil {
			decoded = n
		}
		for _, seg := range strings.Split(strings.TrimPrefix(decoded, "https://"), "/") {
			if seg == "." || seg == ".." || strings.Contains(seg, `\`) {
				t.Errorf("%q is accepted with the segment %q (decoded %q)", raw, seg, decoded)
			}
		}
	})
}
