package diff

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A path element into an object: a map key, or a list index.
type pathElem struct {
	key   string
	index int
	list  bool
}

type fieldPath []pathElem

// String renders a path as people read it: spec.template.spec.containers[0].image.
func (p fieldPath) String() string {
	var b strings.Builder
	for i, e := range p {
		if e.list {
			fmt.Fprintf(&b, "[%d]", e.index)
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(e.key)
	}
	return b.String()
}

// changedPaths lists the leaf paths where a and b differ, in order.
func changedPaths(a, b any, prefix fieldPath, out *[]fieldPath) {
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	if aIsMap && bIsMap {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			changedPaths(am[k], bm[k], append(prefix[:len(prefix):len(prefix)], pathElem{key: k}), out)
		}
		return
	}
	al, aIsList := a.([]any)
	bl, bIsList := b.([]any)
	if aIsList && bIsList && len(al) == len(bl) {
		for i := range al {
			changedPaths(al[i], bl[i], append(prefix[:len(prefix):len(prefix)], pathElem{index: i, list: true}), out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, prefix)
	}
}

// managedEntry is one manager's field set from metadata.managedFields.
type managedEntry struct {
	manager string
	time    time.Time
	fields  map[string]any
}

func managedEntries(live *unstructured.Unstructured) []managedEntry {
	var out []managedEntry
	for _, mf := range live.GetManagedFields() {
		if mf.FieldsV1 == nil {
			continue
		}
		var fields map[string]any
		if err := json.Unmarshal(mf.FieldsV1.GetRawBytes(), &fields); err != nil {
			continue
		}
		e := managedEntry{manager: mf.Manager, fields: fields}
		if mf.Time != nil {
			e.time = mf.Time.Time
		}
		if mf.Operation == metav1.ManagedFieldsOperationUpdate && mf.Subresource != "" {
			e.manager = mf.Manager + " (" + mf.Subresource + ")"
		}
		out = append(out, e)
	}
	// The most recent writer first: when several managers share a field,
	// the last one to touch the object is the likeliest author of a change.
	sort.SliceStable(out, func(i, j int) bool { return out[i].time.After(out[j].time) })
	return out
}

// ownerOf names the field manager that owns path in live, or "".
func ownerOf(entries []managedEntry, live map[string]any, path fieldPath) string {
	for _, e := range entries {
		if fieldsContain(e.fields, live, path) {
			return e.manager
		}
	}
	return ""
}

// fieldsContain walks a FieldsV1 set along path, with node the object
// value at the same position (to match list elements by key or value).
func fieldsContain(fields map[string]any, node any, path fieldPath) bool {
	if len(path) == 0 {
		return true
	}
	if len(fields) == 0 {
		// A leaf in the set owns the whole subtree below it.
		return true
	}
	e := path[0]
	if !e.list {
		sub, ok := fields["f:"+e.key].(map[string]any)
		if !ok {
			return false
		}
		m, _ := node.(map[string]any)
		return fieldsContain(sub, m[e.key], path[1:])
	}
	l, _ := node.([]any)
	if e.index >= len(l) {
		return false
	}
	item := l[e.index]
	for fk, sub := range fields {
		if listElementMatches(fk, item, e.index) {
			sm, _ := sub.(map[string]any)
			return fieldsContain(sm, item, path[1:])
		}
	}
	return false
}

// listElementMatches reports whether the FieldsV1 key fk ("k:{...}",
// "v:...", "i:N") designates item at index.
func listElementMatches(fk string, item any, index int) bool {
	switch {
	case strings.HasPrefix(fk, "k:"):
		var keys map[string]any
		if err := json.Unmarshal([]byte(fk[2:]), &keys); err != nil {
			return false
		}
		m, ok := item.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range keys {
			if !jsonEqual(m[k], v) {
				return false
			}
		}
		return true
	case strings.HasPrefix(fk, "v:"):
		var v any
		if err := json.Unmarshal([]byte(fk[2:]), &v); err != nil {
			return false
		}
		return jsonEqual(item, v)
	case strings.HasPrefix(fk, "i:"):
		n, err := strconv.Atoi(fk[2:])
		return err == nil && n == index
	}
	return false
}

// jsonEqual compares values after a JSON round trip, so int64 and float64
// forms of the same number are equal.
func jsonEqual(a, b any) bool {
	ab, err1 := json.Marshal(a)
	bb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var av, bv any
	_ = json.Unmarshal(ab, &av)
	_ = json.Unmarshal(bb, &bv)
	return reflect.DeepEqual(av, bv)
}

// removeOwned deletes from node every field that the FieldsV1 set owns as
// a leaf. Used to ignore fields owned by other managers (an HPA's replicas).
func removeOwned(fields map[string]any, node any) any {
	switch n := node.(type) {
	case map[string]any:
		for fk, sub := range fields {
			if !strings.HasPrefix(fk, "f:") {
				continue
			}
			k := fk[2:]
			sm, _ := sub.(map[string]any)
			if len(sm) == 0 || (len(sm) == 1 && sm["."] != nil) {
				delete(n, k)
				continue
			}
			if child, ok := n[k]; ok {
				n[k] = removeOwned(sm, child)
			}
		}
		return n
	case []any:
		var keep []any
		for i, item := range n {
			drop := false
			for fk, sub := range fields {
				if !listElementMatches(fk, item, i) {
					continue
				}
				sm, _ := sub.(map[string]any)
				if len(sm) == 0 || (len(sm) == 1 && sm["."] != nil) {
					drop = true
				} else {
					item = removeOwned(sm, item)
				}
			}
			if !drop {
				keep = append(keep, item)
			}
		}
		return keep
	}
	return node
}
