package rbac

import (
	"fmt"
	"strings"
	"unicode"
)

// glob is a compiled object pattern. Only "*" is special: it matches any
// run of characters, "/" included, so one pattern can cover Application
// names ("team-a/*") and URLs ("https://github.com/org/*"). Everything
// else matches itself, which keeps cluster URLs such as
// "https://[fd00::1]:6443" literal.
type glob struct {
	pattern string
	// parts are the literal pieces between the stars; a pattern without a
	// star has one part and must equal the object.
	parts []string
}

// compileGlob checks and compiles pattern.
func compileGlob(pattern string) (glob, error) {
	if pattern == "" {
		return glob{}, fmt.Errorf("the object is empty: write * for all objects")
	}
	if i := strings.IndexFunc(pattern, unicode.IsSpace); i >= 0 {
		return glob{}, fmt.Errorf("object %q contains white space, which no soll object has: remove it", pattern)
	}
	return glob{pattern: pattern, parts: strings.Split(pattern, "*")}, nil
}

// match reports whether s matches the pattern. Matching each middle part
// at its leftmost place is enough: with only "*" as a wildcard, an earlier
// match never rules out a later one.
func (g glob) match(s string) bool {
	if len(g.parts) == 1 {
		return s == g.pattern
	}
	first, last := g.parts[0], g.parts[len(g.parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, p := range g.parts[1 : len(g.parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}
