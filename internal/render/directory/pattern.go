package directory

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"soll.dev/internal/render/confine"
)

// maxAlternatives bounds the brace expansion of one pattern: "{a,b}" ten
// times over would otherwise make 1024 patterns, and twenty times a million.
const maxAlternatives = 256

// maxPatternLen bounds the length of one pattern.
const maxPatternLen = 1024

// matcher matches relative paths against a list of patterns (see
// render.DirectoryOptions for their syntax).
type matcher []alternative

// alternative is one pattern after brace expansion, split into path
// elements. A pattern of one element is matched against base names.
type alternative []string

// compilePatterns checks and compiles the patterns of one option; field
// names it in errors.
func compilePatterns(field string, patterns []string) (matcher, error) {
	var m matcher
	for _, p := range patterns {
		alts, err := compilePattern(p)
		if err != nil {
			return nil, fmt.Errorf("%s pattern %q: %w", field, p, err)
		}
		m = append(m, alts...)
	}
	return m, nil
}

func compilePattern(p string) ([]alternative, error) {
	if p == "" {
		return nil, errors.New("empty pattern")
	}
	if len(p) > maxPatternLen {
		return nil, fmt.Errorf("longer than %d bytes", maxPatternLen)
	}
	expanded, err := expandBraces(p)
	if err != nil {
		return nil, err
	}
	alts := make([]alternative, 0, len(expanded))
	for _, e := range expanded {
		clean, err := confine.Path(e)
		if err != nil {
			return nil, err
		}
		if clean == "." {
			return nil, errors.New("matches the application directory itself, not files in it")
		}
		elems := strings.Split(clean, "/")
		for _, el := range elems {
			if el == "**" {
				continue
			}
			if _, err := path.Match(el, ""); err != nil {
				return nil, errors.New("malformed pattern (see path.Match for the syntax)")
			}
		}
		alts = append(alts, elems)
	}
	return alts, nil
}

// match tells whether rel, a slash-separated path relative to the
// application directory, matches one of the patterns.
func (m matcher) match(rel string) bool {
	var elems []string
	for _, alt := range m {
		if len(alt) == 1 && alt[0] != "**" {
			if ok, _ := path.Match(alt[0], path.Base(rel)); ok {
				return true
			}
			continue
		}
		if elems == nil {
			elems = strings.Split(rel, "/")
		}
		if matchElems(alt, elems) {
			return true
		}
	}
	return false
}

// matchElems matches path elements against pattern elements, where "**"
// stands for any number of elements (at least one when it ends the pattern:
// "vendor/**" is what is inside vendor).
func matchElems(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for len(pat) > 0 && pat[0] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 0 {
				return len(name) > 0
			}
			for i := range name {
				if matchElems(pat, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// expandBraces expands "{a,b}" alternatives, nested ones included:
// "x.{yaml,yml}" gives "x.yaml" and "x.yml". A backslash escapes a brace or
// comma, as in path.Match.
func expandBraces(p string) ([]string, error) {
	open := -1
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' {
			i++
			continue
		}
		if p[i] == '{' {
			open = i
			break
		}
		if p[i] == '}' {
			return nil, errors.New("unmatched }")
		}
	}
	if open < 0 {
		return []string{p}, nil
	}
	depth, start := 0, open+1
	var choices []string
	for i := open; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '{':
			depth++
		case ',':
			if depth == 1 {
				choices = append(choices, p[start:i])
				start = i + 1
			}
		case '}':
			depth--
			if depth > 0 {
				continue
			}
			choices = append(choices, p[start:i])
			var out []string
			for _, c := range choices {
				more, err := expandBraces(p[:open] + c + p[i+1:])
				if err != nil {
					return nil, err
				}
				out = append(out, more...)
				if len(out) > maxAlternatives {
					return nil, fmt.Errorf("braces expand to more than %d patterns", maxAlternatives)
				}
			}
			return out, nil
		}
	}
	return nil, errors.New("unmatched {")
}
