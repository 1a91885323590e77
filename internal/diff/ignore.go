package diff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/itchyny/gojq"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"soll.dev/internal/resource"
)

// JQTimeout bounds the evaluation of one jq expression on one object.
const JQTimeout = time.Second

// IgnoreRule says which differences of which objects do not count as drift.
// Empty Group/Kind/Namespace/Name match anything; Kind and Name may be
// shell globs.
type IgnoreRule struct {
	Group     string
	Kind      string
	Namespace string
	Name      string
	// JSONPointers are RFC 6901 pointers such as /spec/replicas.
	JSONPointers []string
	// JQPathExpressions are jq path expressions such as
	// .spec.template.spec.containers[] | select(.name == "sidecar").
	JQPathExpressions []string
	// ManagedFieldsManagers are field managers whose fields are left to
	// them, such as an HPA controller owning spec.replicas.
	ManagedFieldsManagers []string
}

// Ignorer applies compiled ignore rules.
type Ignorer struct {
	rules []compiledRule
}

type compiledRule struct {
	IgnoreRule
	jq []*gojq.Code
	// paths are the jq expressions as path(expr): the paths they select.
	paths []*gojq.Code
}

// NewIgnorer compiles rules. An invalid jq expression or JSON pointer is an
// error that names the rule and the expression.
func NewIgnorer(rules []IgnoreRule) (*Ignorer, error) {
	ig := &Ignorer{}
	for i, r := range rules {
		cr := compiledRule{IgnoreRule: r}
		for _, p := range r.JSONPointers {
			if p != "" && !strings.HasPrefix(p, "/") {
				return nil, fmt.Errorf("ignoreDifferences[%d].jsonPointers: %q is not a JSON pointer: start it with /", i, p)
			}
		}
		for _, expr := range r.JQPathExpressions {
			del, err := compileJQ("del(" + expr + ")")
			if err != nil {
				return nil, fmt.Errorf("ignoreDifferences[%d].jqPathExpressions: %q: %w", i, expr, err)
			}
			paths, err := compileJQ("path(" + expr + ")")
			if err != nil {
				return nil, fmt.Errorf("ignoreDifferences[%d].jqPathExpressions: %q: %w", i, expr, err)
			}
			cr.jq, cr.paths = append(cr.jq, del), append(cr.paths, paths)
		}
		ig.rules = append(ig.rules, cr)
	}
	return ig, nil
}

func compileJQ(src string) (*gojq.Code, error) {
	q, err := gojq.Parse(src)
	if err != nil {
		return nil, err
	}
	return gojq.Compile(q)
}

func (r *compiledRule) matches(k resource.Key) bool {
	glob := func(pattern, s string) bool {
		if pattern == "" || pattern == "*" {
			return true
		}
		ok, err := path.Match(pattern, s)
		return err == nil && ok
	}
	return (r.Group == "*" || r.Group == k.Group || (r.Group == "" && r.Kind == "")) &&
		glob(r.Kind, k.Kind) && glob(r.Namespace, k.Namespace) && glob(r.Name, k.Name)
}

// Apply removes ignored fields from the normalized live and target objects
// of key k (in place). live is the original live object, whose managedFields
// say who owns what.
func (ig *Ignorer) Apply(ctx context.Context, k resource.Key, liveOrig, live, target *unstructured.Unstructured) error {
	if ig == nil {
		return nil
	}
	for i := range ig.rules {
		r := &ig.rules[i]
		if !r.matches(k) {
			continue
		}
		for _, obj := range []*unstructured.Unstructured{live, target} {
			if obj == nil {
				continue
			}
			for _, p := range r.JSONPointers {
				removePointer(obj.Object, p)
			}
			for j, code := range r.jq {
				out, err := runJQ(ctx, code, obj.Object)
				if err != nil {
					return fmt.Errorf("ignore rule jq expression %q on %s: %w", r.JQPathExpressions[j], k, err)
				}
				obj.Object = out
			}
			if liveOrig != nil && len(r.ManagedFieldsManagers) > 0 {
				for _, mf := range liveOrig.GetManagedFields() {
					if !contains(r.ManagedFieldsManagers, mf.Manager) || mf.FieldsV1 == nil {
						continue
					}
					var fields map[string]any
					if err := json.Unmarshal(mf.FieldsV1.GetRawBytes(), &fields); err != nil {
						continue
					}
					removeOwned(fields, obj.Object)
				}
			}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// runJQ evaluates code on obj within JQTimeout and returns the result.
func runJQ(ctx context.Context, code *gojq.Code, obj map[string]any) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, JQTimeout)
	defer cancel()
	in, err := jsonValue(obj)
	if err != nil {
		return nil, err
	}
	iter := code.RunWithContext(ctx, in)
	v, ok := iter.Next()
	if !ok {
		return obj, nil
	}
	if err, isErr := v.(error); isErr {
		return nil, jqError(ctx, err)
	}
	out, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("expression produced %T, not an object", v)
	}
	// Back to the unstructured number types.
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	return u.Object, nil
}

// jqError is the error err of an evaluation under ctx, saying so when
// the evaluation ran out of time.
func jqError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("evaluation took longer than %s", JQTimeout)
	}
	return err
}

// jsonValue returns obj in the types gojq works on (float64, not int64).
func jsonValue(obj map[string]any) (any, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// pointerTokens splits the RFC 6901 pointer p into its unescaped
// reference tokens; none for "" and "/" (the whole object, which no rule
// may ignore).
func pointerTokens(p string) []string {
	if p == "" || p == "/" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(parts[i], "~1", "/"), "~0", "~")
	}
	return parts
}

// removePointer deletes the value at the RFC 6901 pointer p, if present.
func removePointer(obj map[string]any, p string) {
	parts := pointerTokens(p)
	if len(parts) == 0 {
		return
	}
	var node any = obj
	for i, part := range parts {
		last := i == len(parts)-1
		switch n := node.(type) {
		case map[string]any:
			if last {
				delete(n, part)
				return
			}
			node = n[part]
		case []any:
			idx, err := strconv.Atoi(part)
			if err != nil || idx < 0 || idx >= len(n) {
				return
			}
			if last {
				// Lists cannot shrink in place through the parent
				// here; blank the element so it compares equal.
				n[idx] = nil
				return
			}
			node = n[idx]
		default:
			return
		}
	}
}
