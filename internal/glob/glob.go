package glob

import "strings"

// Pattern is a compiled pattern, for callers that match one pattern against
// many strings.
type Pattern struct {
	text string
	// parts are the literal pieces between the stars; a pattern without a
	// star has one part and must equal the string.
	parts []string
}

// Compile compiles pattern. Every string is a valid pattern; the empty
// pattern matches only the empty string.
func Compile(pattern string) Pattern {
	return Pattern{text: pattern, parts: strings.Split(pattern, "*")}
}

// String returns the pattern as written.
func (p Pattern) String() string { return p.text }

// Match reports whether s matches the pattern. Matching each middle part at
// its leftmost place is enough: with only "*" as a wildcard, an earlier match
// never rules out a later one.
func (p Pattern) Match(s string) bool {
	if len(p.parts) == 1 {
		return s == p.text
	}
	first, last := p.parts[0], p.parts[len(p.parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, part := range p.parts[1 : len(p.parts)-1] {
		i := strings.Index(s, part)
		if i < 0 {
			return false
		}
		s = s[i+len(part):]
	}
	return true
}

// Match reports whether s matches pattern.
func Match(pattern, s string) bool {
	if !strings.Contains(pattern, "*") {
		return s == pattern
	}
	return Compile(pattern).Match(s)
}
