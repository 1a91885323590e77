package rbac

import (
	"fmt"
	"strings"
	"unicode"

	pattern "soll.dev/internal/glob"
)

// glob is a compiled object pattern; see package soll.dev/internal/glob for
// what matches. pattern is kept as written for the Project role checks.
type glob struct {
	pattern  string
	compiled pattern.Pattern
}

// compileGlob checks and compiles an object pattern.
func compileGlob(object string) (glob, error) {
	if object == "" {
		return glob{}, fmt.Errorf("the object is empty: write * for all objects")
	}
	if i := strings.IndexFunc(object, unicode.IsSpace); i >= 0 {
		return glob{}, fmt.Errorf("object %q contains white space, which no soll object has: remove it", object)
	}
	return glob{pattern: object, compiled: pattern.Compile(object)}, nil
}

// match reports whether s matches the pattern.
func (g glob) match(s string) bool { return g.compiled.Match(s) }
