package rbac

import "testing"

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, object string
		want            bool
	}{
		// The matching itself is tested in package glob; these check that
		// rbac objects use it.
		{"*", "team-a/web", true},
		{"team-a/*", "team-a/web", true},
		{"team-a/*", "team-b/web", false},
		{"https://github.com/org/*", "https://github.com/org/sub/repo.git", true},
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
