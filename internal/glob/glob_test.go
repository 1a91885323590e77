package glob

import "testing"

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "team-a/web", true},
		{"*", "", true},
		{"", "", true},
		{"", "x", false},
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
		{"*.example.com", "apps.example.com", true},
		{"*.example.com", "example.com", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "acb", false},
		{"ab*ba", "aba", false}, // prefix and suffix must not overlap
		{"a**b", "ab", true},
		// Only "*" is special; brackets and question marks are literal.
		{"https://[fd00::1]:6443", "https://[fd00::1]:6443", true},
		{"team-?/web", "team-a/web", false},
		{"team-?/web", "team-?/web", true},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
		if got := Compile(tt.pattern).Match(tt.s); got != tt.want {
			t.Errorf("Compile(%q).Match(%q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}
