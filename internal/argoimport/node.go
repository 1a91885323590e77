package argoimport

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// node reads one object (a JSON map) of an Argo CD object field by field.
// Every read consumes the field; rest reports the fields nobody read as
// having no equivalent. Type errors are collected in the shared errs with
// the field's path, so that a conversion reports all bad fields at once.
type node struct {
	m    map[string]any
	path string
	c    *objConv
	// md is the metadata read by objectMeta, for the fields read later.
	md *node
}

// objConv is the conversion state of one Argo CD object.
type objConv struct {
	rep  *ObjectReport
	errs []string
}

func (c *objConv) errorf(path, format string, args ...any) {
	c.errs = append(c.errs, path+": "+fmt.Sprintf(format, args...))
}

func (c *objConv) note(kind NoteKind, field, format string, args ...any) {
	c.rep.Notes = append(c.rep.Notes, Note{Kind: kind, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (c *objConv) root(m map[string]any, path string) *node {
	return &node{m: m, path: path, c: c}
}

func (n *node) field(key string) string {
	if n.path == "" {
		return key
	}
	return n.path + "." + key
}

func (n *node) take(key string) (any, bool) {
	if n == nil || n.m == nil {
		return nil, false
	}
	v, ok := n.m[key]
	delete(n.m, key)
	if v == nil {
		return nil, false
	}
	return v, ok
}

// has reports whether key is set, without consuming it.
func (n *node) has(key string) bool {
	if n == nil || n.m == nil {
		return false
	}
	return n.m[key] != nil
}

func (n *node) str(key string) string {
	v, ok := n.take(key)
	if !ok {
		return ""
	}
	switch s := v.(type) {
	case string:
		return s
	case bool, int64, float64:
		// Argo CD's API stores some fields as strings that YAML writers
		// leave unquoted ("value: 3").
		return scalarString(s)
	}
	n.c.errorf(n.field(key), "want a string, got %s", typeName(v))
	return ""
}

func scalarString(v any) string {
	switch s := v.(type) {
	case bool:
		return strconv.FormatBool(s)
	case int64:
		return strconv.FormatInt(s, 10)
	case float64:
		return strconv.FormatFloat(s, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func (n *node) boolean(key string) bool {
	v, ok := n.take(key)
	if !ok {
		return false
	}
	switch b := v.(type) {
	case bool:
		return b
	case string:
		if p, err := strconv.ParseBool(b); err == nil {
			return p
		}
	}
	n.c.errorf(n.field(key), "want true or false, got %s", typeName(v))
	return false
}

// integer reads an integer that may be written as a string, as Argo CD's
// intOrString fields (kustomize replica counts) are.
func (n *node) integer(key string) (int64, bool) {
	v, ok := n.take(key)
	if !ok {
		return 0, false
	}
	switch i := v.(type) {
	case int64:
		return i, true
	case float64:
		if i == math.Trunc(i) && math.Abs(i) < 1<<53 {
			return int64(i), true
		}
	case string:
		if p, err := strconv.ParseInt(strings.TrimSpace(i), 10, 64); err == nil {
			return p, true
		}
	}
	n.c.errorf(n.field(key), "want an integer, got %s", typeName(v))
	return 0, false
}

func (n *node) int32(key string) (int32, bool) {
	i, ok := n.integer(key)
	if !ok {
		return 0, false
	}
	if i < math.MinInt32 || i > math.MaxInt32 {
		n.c.errorf(n.field(key), "%d is out of range", i)
		return 0, false
	}
	return int32(i), true
}

func (n *node) strs(key string) []string {
	v, ok := n.take(key)
	if !ok {
		return nil
	}
	l, isList := v.([]any)
	if !isList {
		n.c.errorf(n.field(key), "want a list of strings, got %s", typeName(v))
		return nil
	}
	out := make([]string, 0, len(l))
	for i, e := range l {
		s, isStr := e.(string)
		if !isStr {
			n.c.errorf(fmt.Sprintf("%s[%d]", n.field(key), i), "want a string, got %s", typeName(e))
			continue
		}
		out = append(out, s)
	}
	return out
}

func (n *node) strMap(key string) map[string]string {
	v, ok := n.take(key)
	if !ok {
		return nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		n.c.errorf(n.field(key), "want a map of strings, got %s", typeName(v))
		return nil
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		switch s := e.(type) {
		case string:
			out[k] = s
		case bool, int64, float64:
			out[k] = scalarString(s)
		default:
			n.c.errorf(n.field(key)+"."+k, "want a string, got %s", typeName(e))
		}
	}
	return out
}

// child returns the object at key, nil when it is not set.
func (n *node) child(key string) *node {
	v, ok := n.take(key)
	if !ok {
		return nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		n.c.errorf(n.field(key), "want an object, got %s", typeName(v))
		return nil
	}
	return &node{m: m, path: n.field(key), c: n.c}
}

// list returns the objects of the list at key.
func (n *node) list(key string) []*node {
	v, ok := n.take(key)
	if !ok {
		return nil
	}
	l, isList := v.([]any)
	if !isList {
		n.c.errorf(n.field(key), "want a list, got %s", typeName(v))
		return nil
	}
	out := make([]*node, 0, len(l))
	for i, e := range l {
		m, isMap := e.(map[string]any)
		if !isMap {
			n.c.errorf(fmt.Sprintf("%s[%d]", n.field(key), i), "want an object, got %s", typeName(e))
			continue
		}
		out = append(out, &node{m: m, path: fmt.Sprintf("%s[%d]", n.field(key), i), c: n.c})
	}
	return out
}

// drop consumes key and notes it as having no equivalent when it is set
// to something else than its zero value.
func (n *node) drop(key, advice string) {
	v, ok := n.take(key)
	if !ok || isZero(v) {
		return
	}
	n.c.note(NoEquivalent, n.field(key), "%s", advice)
}

// ignore consumes key without a note: fields that describe state rather
// than intent, such as status.
func (n *node) ignore(keys ...string) {
	for _, k := range keys {
		n.take(k)
	}
}

// rest notes every field not read as having no equivalent.
func (n *node) rest() {
	if n == nil {
		return
	}
	keys := make([]string, 0, len(n.m))
	for k, v := range n.m {
		if !isZero(v) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		n.c.note(NoEquivalent, n.field(k), "soll does not know this field; it is left out")
	}
	clear(n.m)
}

func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	case int64:
		return x == 0
	case float64:
		return x == 0
	}
	return false
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func unstructuredOf(m map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: m}
}

// jsonRaw encodes v (a decoded YAML value) as a RawExtension.
func jsonRaw(v any) (*runtime.RawExtension, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &runtime.RawExtension{Raw: b}, nil
}

// duration reads a Go duration ("5s", "1h30m"), or a number of seconds as
// Argo CD also accepts for retry backoffs.
func duration(n *node, key string) *metav1.Duration {
	if !n.has(key) {
		return nil
	}
	s := n.str(key)
	if d, err := time.ParseDuration(s); err == nil {
		return &metav1.Duration{Duration: d}
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil && secs >= 0 {
		return &metav1.Duration{Duration: time.Duration(secs) * time.Second}
	}
	n.c.errorf(n.field(key), "%q is not a duration: write it as 5s, 3m or 1h", s)
	return nil
}
