package diff

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// MinMaskedLength is the length from which a decrypted value is found
// inside longer strings (a generated file, a command line): shorter values
// ("true", "5432", "admin") would match ordinary text everywhere. Shorter
// values are masked only where a string equals them.
const MinMaskedLength = 8

// Masker masks values that came out of SOPS-encrypted files wherever they
// land in objects other than Secrets, as Secret data is masked. A nil
// Masker masks nothing.
type Masker struct {
	values []string // longest first, so that a value inside another is not masked first
}

// NewMasker returns a Masker of values (empty ones are ignored), or nil
// when there are none.
func NewMasker(values []string) *Masker {
	var vs []string
	for _, v := range values {
		if v != "" {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return nil
	}
	slices.SortFunc(vs, func(a, b string) int { return len(b) - len(a) })
	return &Masker{values: vs}
}

// hides reports whether s is or contains one of the values.
func (m *Masker) hides(s string) bool {
	for _, v := range m.values {
		if s == v || (len(v) >= MinMaskedLength && strings.Contains(s, v)) {
			return true
		}
	}
	return false
}

// Carries reports whether a string of obj contains a value of at least
// MinMaskedLength: whether decrypted data may have landed in it.
func (m *Masker) Carries(obj *unstructured.Unstructured) bool {
	if m == nil || obj == nil {
		return false
	}
	found := false
	walkStrings(obj.Object, nil, func(_ []any, s string) {
		for _, v := range m.values {
			if len(v) >= MinMaskedLength && strings.Contains(s, v) {
				found = true
			}
		}
	})
	return found
}

// MaskPair returns copies of live and target (either may be nil) in which
// every string that is or contains a value is masked, on both sides at the
// same place, so that an old value in the live object is masked too: equal
// strings show as the same mask, changed ones as different masks. The
// last-applied annotation, which may copy the values, is masked too.
func (m *Masker) MaskPair(live, target *unstructured.Unstructured) (*unstructured.Unstructured, *unstructured.Unstructured) {
	if m == nil {
		return live, target
	}
	var paths [][]any
	for _, o := range []*unstructured.Unstructured{live, target} {
		if o == nil {
			continue
		}
		walkStrings(o.Object, nil, func(p []any, s string) {
			if m.hides(s) {
				paths = append(paths, slices.Clone(p))
			}
		})
	}
	if len(paths) == 0 {
		return live, target
	}
	var l, t *unstructured.Unstructured
	if live != nil {
		l = live.DeepCopy()
	}
	if target != nil {
		t = target.DeepCopy()
	}
	for _, p := range paths {
		lv, inLive := stringAt(l, p)
		tv, inTarget := stringAt(t, p)
		switch {
		case inLive && inTarget && lv == tv:
			setAt(l, p, maskSame)
			setAt(t, p, maskSame)
		default:
			if inLive {
				setAt(l, p, maskLive)
			}
			if inTarget {
				setAt(t, p, maskTarget)
			}
		}
	}
	maskLastApplied(l, t)
	return l, t
}

// Mask returns obj, or a masked copy of it (see MaskPair).
func (m *Masker) Mask(obj *unstructured.Unstructured) *unstructured.Unstructured {
	_, t := m.MaskPair(nil, obj)
	return t
}

// walkStrings calls f with the path (map keys and list indexes) and value
// of every string in v.
func walkStrings(v any, path []any, f func([]any, string)) {
	switch v := v.(type) {
	case string:
		f(path, v)
	case map[string]any:
		for k, e := range v {
			walkStrings(e, append(path, k), f)
		}
	case []any:
		for i, e := range v {
			walkStrings(e, append(path, i), f)
		}
	}
}

// stringAt returns the string at path in obj.
func stringAt(obj *unstructured.Unstructured, path []any) (string, bool) {
	if obj == nil {
		return "", false
	}
	var v any = obj.Object
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return "", false
			}
			v = m[p]
		case int:
			l, ok := v.([]any)
			if !ok || p >= len(l) {
				return "", false
			}
			v = l[p]
		}
	}
	s, ok := v.(string)
	return s, ok
}

// setAt sets the string at path in obj, which stringAt found.
func setAt(obj *unstructured.Unstructured, path []any, s string) {
	var v any = obj.Object
	for i, p := range path {
		last := i == len(path)-1
		switch p := p.(type) {
		case string:
			m := v.(map[string]any)
			if last {
				m[p] = s
				return
			}
			v = m[p]
		case int:
			l := v.([]any)
			if last {
				l[p] = s
				return
			}
			v = l[p]
		}
	}
}
