package diff

import (
	"reflect"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Redacted values stand in for Secret data in every diff soll shows. Equal
// values on both sides show as the same mask; changed values show as
// different masks, so a reader sees *that* a key changed, never its value.
const (
	maskSame   = "++++++++ (redacted)"
	maskLive   = "++++++++ (redacted, old)"
	maskTarget = "++++++++ (redacted, new)"
)

// IsSecret reports whether obj is a core/v1 Secret.
func IsSecret(obj *unstructured.Unstructured) bool {
	if obj == nil {
		return false
	}
	gvk := obj.GroupVersionKind()
	return gvk.Group == "" && gvk.Kind == "Secret"
}

// RedactPair masks the data and stringData values of a live and a target
// Secret (either may be nil) and the last-applied annotation that may copy
// them. It returns masked copies; the inputs are not changed.
func RedactPair(live, target *unstructured.Unstructured) (*unstructured.Unstructured, *unstructured.Unstructured) {
	if !IsSecret(live) && !IsSecret(target) {
		return live, target
	}
	var l, t *unstructured.Unstructured
	if live != nil {
		l = live.DeepCopy()
	}
	if target != nil {
		t = target.DeepCopy()
	}
	for _, field := range []string{"data", "stringData"} {
		lm, tm := fieldMap(l, field), fieldMap(t, field)
		keys := map[string]bool{}
		for k := range lm {
			keys[k] = true
		}
		for k := range tm {
			keys[k] = true
		}
		for k := range keys {
			lv, inLive := lm[k]
			tv, inTarget := tm[k]
			if inLive && inTarget && reflect.DeepEqual(lv, tv) {
				lm[k], tm[k] = maskSame, maskSame
				continue
			}
			if inLive {
				lm[k] = maskLive
			}
			if inTarget {
				tm[k] = maskTarget
			}
		}
	}
	maskLastApplied(l, t)
	return l, t
}

// Redact masks every data value of a single Secret (nil-safe).
func Redact(obj *unstructured.Unstructured) *unstructured.Unstructured {
	if !IsSecret(obj) {
		return obj
	}
	_, t := RedactPair(nil, obj)
	return t
}

// fieldMap returns obj[field] as a mutable map, or nil.
func fieldMap(obj *unstructured.Unstructured, field string) map[string]any {
	if obj == nil {
		return nil
	}
	m, _ := obj.Object[field].(map[string]any)
	return m
}

// maskLastApplied masks the last-applied-configuration annotation of each
// object (nil-safe): it holds a whole copy of the data being masked.
func maskLastApplied(objs ...*unstructured.Unstructured) {
	for _, o := range objs {
		if o == nil {
			continue
		}
		if ann := o.GetAnnotations(); ann != nil {
			if _, ok := ann[lastApplied]; ok {
				ann[lastApplied] = maskSame
				o.SetAnnotations(ann)
			}
		}
	}
}
