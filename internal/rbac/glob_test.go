package rbac

import "testing"

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, object string
		want            bool
	}{
		{"*", "team-a/web", true},
		{"*", "", true},
		{"team-a/*", "team-a/web", true},
		{"team-a/*", "team-a/", true},
		{"team-a/*", "team-b/web", false},
		{"team-a/*", "team-a", false},
		{"*/web", "team-a/web", true},
		{"*/web", "team-a/web-2", false},
		{"team-a/web", "team-a/web", true},
		{"team-a/web", "team-a/web2", false},
		// "*" crosses "/": one star covers a whole URL path.
		{"https://github.com/org/*", "https://github.com/org/sub/repo.git", true},
		{"https://github.com/org/*", "https://github.com/other/repo.git", false},
		{"*-prod/*", "team-a-prod/web", true},
		{"*-prod/*", "team-a-staging/web", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "acb", false},
		{"ab*ba", "aba", false}, // prefix and suffix must not overlap
		{"a**b", "ab", true},
		// Only "*" is special; brackets and question marks are literal.
		{"https://[fd00::1]:6443", "https://[fd00::1]:6443", true},
		{"team-?/web", "team-a/web", false},
	}
	for _, tt := range tests {
		g, err := compileGlob(tt.pattern)
		if err != nil {
			t.Fatalf("compileGlob(%q): %v", tt.pattern, err)
		}
		if got := g.match(tt.object); got != tt.want {
			t.Errorf("glob %q matching %q = %v, want %v", tt.pattern, tt.object, got, tt.want)
		}
	}
}

func TestGlobInvalid(t *testing.T) {
	for _, pattern := range []string{"", "team a/*", "team-a/\tweb"} {
		if _, err := compileGlob(pattern); err == nil {
			t.Errorf("compileGlob(%q) succeeded, want an error", pattern)
		}
	}
}
