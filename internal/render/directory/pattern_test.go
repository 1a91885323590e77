package directory

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"soll.dev/internal/render/confine"
)

func TestExpandBraces(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "*.yaml", want: []string{"*.yaml"}},
		{in: "{a,b}.yaml", want: []string{"a.yaml", "b.yaml"}},
		{in: "x.{yaml,yml,json}", want: []string{"x.yaml", "x.yml", "x.json"}},
		{in: "{a,b{1,2}}/c", want: []string{"a/c", "b1/c", "b2/c"}},
		{in: "{a,b}-{1,2}", want: []string{"a-1", "a-2", "b-1", "b-2"}},
		{in: "{,pre-}x", want: []string{"x", "pre-x"}},
		{in: `\{a,b\}`, want: []string{`\{a,b\}`}},
		{in: "{a,b", wantErr: "unmatched {"},
		{in: "a}", wantErr: "unmatched }"},
		{in: strings.Repeat("{a,b}", 9), wantErr: "braces expand to more than 256 patterns"},
	}
	for _, tt := range tests {
		got, err := expandBraces(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("expandBraces(%q) error = %v, want %s", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("expandBraces(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("expandBraces(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern string
		match   []string
		noMatch []string
	}{
		{"*.yaml", []string{"a.yaml", "sub/a.yaml", "x/y/z.yaml"}, []string{"a.yml", "a.yaml/b"}},
		{"{a,b}.yaml", []string{"a.yaml", "sub/b.yaml"}, []string{"c.yaml"}},
		{"sub/*.yaml", []string{"sub/a.yaml"}, []string{"a.yaml", "sub/x/a.yaml", "other/sub/a.yaml"}},
		{"sub/**", []string{"sub/a", "sub/x/y.yaml"}, []string{"sub", "a/sub/b"}},
		{"**/x.yaml", []string{"x.yaml", "a/x.yaml", "a/b/x.yaml"}, []string{"a/y.yaml"}},
		{"a/**/z.yaml", []string{"a/z.yaml", "a/b/z.yaml", "a/b/c/z.yaml"}, []string{"b/z.yaml"}},
		{"./sub/", []string{"sub"}, []string{"sub/a"}}, // cleaned to a name
		{"[ab]?.json", []string{"a1.json", "x/b2.json"}, []string{"c1.json", "a.json"}},
	}
	for _, tt := range tests {
		m, err := compilePatterns("include", []string{tt.pattern})
		if err != nil {
			t.Errorf("compile %q: %v", tt.pattern, err)
			continue
		}
		for _, p := range tt.match {
			if !m.match(p) {
				t.Errorf("%q does not match %q", tt.pattern, p)
			}
		}
		for _, p := range tt.noMatch {
			if m.match(p) {
				t.Errorf("%q matches %q", tt.pattern, p)
			}
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		pattern string
		want    string
		match   error
	}{
		{pattern: "", want: `include pattern "": empty pattern`},
		{pattern: ".", want: `include pattern ".": matches the application directory itself, not files in it`},
		{pattern: "[", want: `include pattern "[": malformed pattern (see path.Match for the syntax)`},
		{pattern: "/abs/*.yaml", match: confine.ErrAbsolute},
		{pattern: "../*.yaml", match: confine.ErrParent},
		{pattern: "a/{b,../c}", match: confine.ErrParent},
		{pattern: strings.Repeat("a", 2000), want: `include pattern "` + strings.Repeat("a", 2000) + `": longer than 1024 bytes`},
	}
	for _, tt := range tests {
		_, err := compilePatterns("include", []string{tt.pattern})
		if err == nil {
			t.Errorf("%q compiled", tt.pattern)
			continue
		}
		if tt.want != "" && err.Error() != tt.want {
			t.Errorf("%q: error = %v, want %s", tt.pattern, err, tt.want)
		}
		if tt.match != nil && !errors.Is(err, tt.match) {
			t.Errorf("%q: error = %v, want %v", tt.pattern, err, tt.match)
		}
	}
}
