package diff

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/itchyny/gojq"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/resource"
)

// KeepIgnored makes applies leave alone the fields that ignore rules
// ignore (syncOptions.respectIgnoreDifferences): an autoscaler's replicas,
// a sidecar a webhook injects, a caBundle a controller fills in.
type KeepIgnored struct {
	// Rules are the ignore rules; nil ignores nothing.
	Rules *Ignorer
	// Manager is the field manager that applies (soll's).
	Manager string
}

// KeepLive returns desired, the object about to be applied as key, with
// every field that the rules ignore for key left as it is in live:
//
//   - a field live lacks is removed;
//   - a field live has, where Manager owns something, gets live's value;
//   - a field live has, where Manager owns nothing, is removed.
//
// Why not simply remove every ignored field from the applied object?
// Under server-side apply, leaving out a field that the manager applied
// before makes the API server delete it (unless another manager owns it
// too): the opposite of leaving it alone. Applying live's value instead
// changes nothing. Where the manager owns nothing, though, leaving the
// field out is what changes nothing: applying even the same value would
// make the manager a co-owner, and its owner's next apply without force
// would meet a conflict. An autoscaler or a person who changed a field
// took it over by doing so, so their fields are left out.
//
// The object's identity (apiVersion, kind, name, namespace), soll's
// tracking annotation and managed label, and the metadata the API server
// maintains always come from desired. List
// elements on the way to a field are matched by their "name" field when
// they have one (as lists of containers, ports, volumes and webhooks
// merge), else by position; the positions in a JSON pointer name the same
// positions in both objects. desired itself is returned when live is nil
// (a new object gets its desired values) or when no rule matches key;
// otherwise a copy.
func (k KeepIgnored) KeepLive(ctx context.Context, key resource.Key, live, desired *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if k.Rules == nil || live == nil {
		return desired, nil
	}
	paths, err := k.Rules.ignoredPaths(ctx, key, live, desired)
	if err != nil || len(paths) == 0 {
		return desired, err
	}
	kp := keeper{live: live.Object}
	for _, mf := range live.GetManagedFields() {
		if mf.Manager == k.Manager && mf.Operation == metav1.ManagedFieldsOperationApply && mf.FieldsV1 != nil && mf.Subresource == "" {
			if err := json.Unmarshal(mf.FieldsV1.GetRawBytes(), &kp.mine); err != nil {
				kp.mine = nil
			}
		}
	}
	out := desired.DeepCopy()
	var obj any = out.Object
	for _, p := range paths {
		obj, _ = kp.keep(obj, true, live.Object, true, p.path, nil, p.side)
	}
	out.Object = compact(obj).(map[string]any)
	// What identifies the object, soll's marks, and what the API server
	// maintains (an apply must not send managedFields, and a
	// resourceVersion would make it conditional) are desired's, whatever
	// a rule says.
	fromDesired := [][]string{
		{"apiVersion"}, {"kind"}, {"metadata", "name"}, {"metadata", "namespace"},
		{"metadata", "annotations", resource.TrackingAnnotation}, {"metadata", "labels", sollv1.ManagedLabel},
	}
	for _, f := range metadataNoise {
		fromDesired = append(fromDesired, []string{"metadata", f})
	}
	for _, f := range fromDesired {
		v, found, _ := unstructured.NestedFieldNoCopy(desired.Object, f...)
		if !found {
			unstructured.RemoveNestedField(out.Object, f...)
			continue
		}
		if err := unstructured.SetNestedField(out.Object, v, f...); err != nil {
			return nil, fmt.Errorf("%s: restore %s after keeping ignored fields: %w", key, strings.Join(f, "."), err)
		}
	}
	return out, nil
}

// side says which object a path's list positions are in.
type side int

const (
	// bothSides: the positions name the same positions in both
	// objects (JSON pointers).
	bothSides side = iota
	// liveSide: the positions are live's (jq on live, managed fields).
	liveSide
	// desiredSide: the positions are desired's (jq on desired).
	desiredSide
)

type sidedPath struct {
	path fieldPath
	side side
}

// ignoredPaths lists the paths the rules for key ignore: every JSON
// pointer, the paths each jq expression selects in live and in desired,
// and the fields of live that the rules' managers own.
func (ig *Ignorer) ignoredPaths(ctx context.Context, key resource.Key, live, desired *unstructured.Unstructured) ([]sidedPath, error) {
	var out []sidedPath
	for i := range ig.rules {
		r := &ig.rules[i]
		if !r.matches(key) {
			continue
		}
		for _, p := range r.JSONPointers {
			var path fieldPath
			for _, tok := range pointerTokens(p) {
				path = append(path, pathElem{key: tok})
			}
			if len(path) > 0 {
				out = append(out, sidedPath{path, bothSides})
			}
		}
		for j, code := range r.paths {
			for _, o := range []sidedPath{{side: liveSide}, {side: desiredSide}} {
				obj := live
				if o.side == desiredSide {
					obj = desired
				}
				paths, err := jqPaths(ctx, code, obj.Object)
				if err != nil {
					return nil, fmt.Errorf("ignore rule jq expression %q on %s: %w", r.JQPathExpressions[j], key, err)
				}
				for _, p := range paths {
					out = append(out, sidedPath{p, o.side})
				}
			}
		}
		for _, mf := range live.GetManagedFields() {
			if !contains(r.ManagedFieldsManagers, mf.Manager) || mf.FieldsV1 == nil {
				continue
			}
			var fields map[string]any
			if err := json.Unmarshal(mf.FieldsV1.GetRawBytes(), &fields); err != nil {
				continue
			}
			var owned []fieldPath
			ownedPaths(fields, live.Object, nil, &owned)
			for _, p := range owned {
				out = append(out, sidedPath{p, liveSide})
			}
		}
	}
	return out, nil
}

// jqPaths returns the paths that code, a path(expr) expression, outputs
// on obj, within JQTimeout.
func jqPaths(ctx context.Context, code *gojq.Code, obj map[string]any) ([]fieldPath, error) {
	ctx, cancel := context.WithTimeout(ctx, JQTimeout)
	defer cancel()
	in, err := jsonValue(obj)
	if err != nil {
		return nil, err
	}
	var out []fieldPath
	iter := code.RunWithContext(ctx, in)
	for {
		v, ok := iter.Next()
		if !ok {
			return out, nil
		}
		if err, isErr := v.(error); isErr {
			return nil, jqError(ctx, err)
		}
		elems, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("expression produced %T, not a path", v)
		}
		var p fieldPath
		for _, e := range elems {
			switch e := e.(type) {
			case string:
				p = append(p, pathElem{key: e})
			case int:
				p = append(p, pathElem{index: e, list: true})
			case float64:
				p = append(p, pathElem{index: int(e), list: true})
			default:
				return nil, fmt.Errorf("expression selects a path through %v, neither a field nor a position", e)
			}
		}
		if len(p) > 0 {
			out = append(out, p)
		}
	}
}

// ownedPaths lists the fields of node that the FieldsV1 set owns as a
// whole, as removeOwned removes them.
func ownedPaths(fields map[string]any, node any, at fieldPath, out *[]fieldPath) {
	whole := func(sub any) bool {
		sm, _ := sub.(map[string]any)
		return len(sm) == 0 || (len(sm) == 1 && sm["."] != nil)
	}
	switch n := node.(type) {
	case map[string]any:
		for fk, sub := range fields {
			k, ok := strings.CutPrefix(fk, "f:")
			if !ok {
				continue
			}
			child, present := n[k]
			if !present {
				continue
			}
			p := append(at[:len(at):len(at)], pathElem{key: k})
			if whole(sub) {
				*out = append(*out, p)
				continue
			}
			sm, _ := sub.(map[string]any)
			ownedPaths(sm, child, p, out)
		}
	case []any:
		for i, item := range n {
			for fk, sub := range fields {
				if !listElementMatches(fk, item, i) {
					continue
				}
				p := append(at[:len(at):len(at)], pathElem{index: i, list: true})
				if whole(sub) {
					*out = append(*out, p)
					continue
				}
				sm, _ := sub.(map[string]any)
				ownedPaths(sm, item, p, out)
			}
		}
	}
}

// keeper carries out KeepLive on one object.
type keeper struct {
	live map[string]any
	// mine is the FieldsV1 set the applying manager owns in live; nil
	// when it owns nothing.
	mine map[string]any
}

// removed marks a list element that keep removed, until compact.
type removed struct{}

// keep makes what lies at path below dst (in desired) what lies at path
// below src (in live), as KeepLive says; at is src's position in live. It
// returns dst's new value and whether dst is to be present.
func (kp *keeper) keep(dst any, dstOK bool, src any, srcOK bool, path, at fieldPath, s side) (any, bool) {
	if len(path) == 0 {
		if !srcOK || len(kp.mine) == 0 || !fieldsContain(kp.mine, kp.live, at) {
			return nil, false
		}
		return runtime.DeepCopyJSONValue(src), true
	}
	e := path[0]
	dl, dIsList := dst.([]any)
	sl, sIsList := src.([]any)
	if idx, err := strconv.Atoi(e.key); e.list || (err == nil && (dIsList || sIsList)) {
		if !e.list {
			e = pathElem{index: idx, list: true}
		}
		if dst != nil && !dIsList {
			return dst, dstOK // not a list in desired: nothing to keep in it
		}
		return kp.keepElem(dl, dstOK, sl, e.index, path, at, s)
	}
	dm, dIsMap := dst.(map[string]any)
	sm, _ := src.(map[string]any)
	if dst != nil && !dIsMap {
		return dst, dstOK
	}
	dv, dok := dm[e.key]
	sv, sok := sm[e.key]
	if !dok && !sok {
		return dst, dstOK
	}
	nv, nok := kp.keep(dv, dok, sv, sok, path[1:], append(at[:len(at):len(at)], pathElem{key: e.key}), s)
	switch {
	case nok:
		if dm == nil {
			dm = map[string]any{}
		}
		dm[e.key] = nv
		return dm, true
	case dok:
		delete(dm, e.key)
	}
	return dst, dstOK
}

// keepElem is keep's step into the list element at position idx.
func (kp *keeper) keepElem(dl []any, dstOK bool, sl []any, idx int, path, at fieldPath, s side) (any, bool) {
	si, di := idx, idx
	switch s {
	case liveSide:
		sv, _ := elem(sl, si)
		di = counterpart(dl, sv, si)
	case desiredSide:
		dv, _ := elem(dl, di)
		si = counterpart(sl, dv, di)
	}
	dv, dok := elem(dl, di)
	sv, sok := elem(sl, si)
	if !dok && (!sok || len(path) > 1) {
		// No element in desired to hold the field.
		return listOrNil(dl, dstOK)
	}
	nv, nok := kp.keep(dv, dok, sv, sok, path[1:], append(at[:len(at):len(at)], pathElem{index: si, list: true}), s)
	switch {
	case dok && nok:
		dl[di] = nv
	case dok:
		dl[di] = removed{}
	case nok:
		return append(dl, nv), true
	}
	return listOrNil(dl, dstOK)
}

func listOrNil(l []any, ok bool) (any, bool) {
	if l == nil {
		return nil, ok
	}
	return l, ok
}

// elem returns the element at i, unless out of range or removed.
func elem(l []any, i int) (any, bool) {
	if i < 0 || i >= len(l) {
		return nil, false
	}
	if _, gone := l[i].(removed); gone {
		return nil, false
	}
	return l[i], true
}

// counterpart is the position in l of the element matching item, an
// element of the other object: the one of the same name when item has a
// name (-1: none), else the same position.
func counterpart(l []any, item any, pos int) int {
	m, _ := item.(map[string]any)
	name, named := m["name"].(string)
	if !named {
		return pos
	}
	for i, x := range l {
		if xm, ok := x.(map[string]any); ok && xm["name"] == name {
			return i
		}
	}
	return -1
}

// compact drops the elements keep removed.
func compact(v any) any {
	switch n := v.(type) {
	case map[string]any:
		for k, x := range n {
			n[k] = compact(x)
		}
	case []any:
		out := n[:0]
		for _, x := range n {
			if _, gone := x.(removed); !gone {
				out = append(out, compact(x))
			}
		}
		return out
	}
	return v
}
