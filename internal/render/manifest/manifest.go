package manifest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
)

// Decode decodes data, the contents of file (a path relative to the
// repository root), as JSON when file ends in ".json" and as YAML otherwise.
// It returns the objects in document order, or an error and no objects.
func Decode(ctx context.Context, file string, data []byte, b *render.Budget) ([]render.Object, error) {
	if strings.HasSuffix(file, ".json") {
		return DecodeJSON(ctx, file, data, b)
	}
	return DecodeYAML(ctx, file, data, b)
}

// document is one decoded document, before it is checked and expanded.
type document struct {
	file  string
	index int   // 0-based document index in the file
	line  int   // where its value starts
	value any   // JSON-compatible: map[string]any, []any, string, int64, float64, bool, nil
	items []int // the lines of its items, when it is a List and they are known
}

// objects checks that d is a Kubernetes object, or a List of them, and returns
// them. A nil value is an empty document and gives no objects.
func (d document) objects(b *render.Budget) ([]render.Object, error) {
	if d.value == nil {
		return nil, nil
	}
	obj, ok := d.value.(map[string]any)
	if !ok {
		return nil, d.errorf(d.line, "document is %s, not a Kubernetes object", describe(d.value))
	}
	if !isList(obj) {
		if err := checkObject(obj); err != nil {
			return nil, d.errorf(d.line, "not a Kubernetes object: %w", err)
		}
		return []render.Object{d.object(obj, d.line, -1)}, nil
	}
	var out []render.Object
	if err := d.expand(obj, d.line, true, &out, b); err != nil {
		return nil, err
	}
	return out, nil
}

// expand appends the items of the List list to out, flattening nested Lists
// as kubectl does. top says whether list is the document itself, whose items'
// lines are known.
func (d document) expand(list map[string]any, line int, top bool, out *[]render.Object, b *render.Budget) error {
	raw, ok := list["items"]
	if !ok || raw == nil {
		return nil
	}
	items, ok := raw.([]any)
	if !ok {
		return d.errorf(line, "items of a %s must be a list, not %s", list["kind"], describe(raw))
	}
	for i, item := range items {
		itemLine := line
		if top && len(d.items) == len(items) {
			itemLine = d.items[i]
		}
		if err := b.Document(); err != nil {
			return d.wrap(itemLine, err)
		}
		obj, ok := item.(map[string]any)
		if !ok {
			return d.errorf(itemLine, "item %d of the list is %s, not a Kubernetes object", i, describe(item))
		}
		if isList(obj) {
			if err := d.expand(obj, itemLine, false, out, b); err != nil {
				return err
			}
			continue
		}
		if err := checkObject(obj); err != nil {
			return d.errorf(itemLine, "item %d of the list is not a Kubernetes object: %w", i, err)
		}
		*out = append(*out, d.object(obj, itemLine, len(*out)))
	}
	return nil
}

func (d document) object(obj map[string]any, line, item int) render.Object {
	return render.Object{
		Unstructured: &unstructured.Unstructured{Object: obj},
		Origin:       render.Origin{File: d.file, Line: line, Document: d.index, Item: item},
	}
}

func (d document) errorf(line int, format string, args ...any) error {
	return d.wrap(line, fmt.Errorf(format, args...))
}

func (d document) wrap(line int, err error) error {
	return &render.Error{File: d.file, Line: line, Err: err}
}

// isList tells whether obj is a list to expand: kind List, or a kind ending
// in "List" (ConfigMapList) that has items. A custom kind such as
// "AccessList" without items is an ordinary object.
func isList(obj map[string]any) bool {
	kind, _ := obj["kind"].(string)
	if kind == "List" {
		return true
	}
	_, hasItems := obj["items"]
	return strings.HasSuffix(kind, "List") && hasItems
}

// checkObject checks the fields every object needs to be applied: apiVersion,
// kind and metadata.name (or, for hooks, metadata.generateName).
func checkObject(obj map[string]any) error {
	for _, field := range []string{"apiVersion", "kind"} {
		v, ok := obj[field]
		if !ok || v == nil {
			return fmt.Errorf("%s is missing", field)
		}
		if s, ok := v.(string); !ok || s == "" {
			return fmt.Errorf("%s must be a non-empty string", field)
		}
	}
	md, ok := obj["metadata"]
	if !ok || md == nil {
		return errors.New("metadata.name is missing")
	}
	m, ok := md.(map[string]any)
	if !ok {
		return errors.New("metadata must be a mapping")
	}
	name, named := m["name"]
	if gen, ok := m["generateName"]; ok && (!named || name == nil || name == "") {
		return checkGenerateName(m, gen)
	}
	if !named || name == nil {
		return errors.New("metadata.name is missing")
	}
	if s, ok := name.(string); !ok || s == "" {
		return errors.New("metadata.name must be a non-empty string")
	}
	return nil
}

// hookAnnotations mark hooks: soll's, Argo CD's and Helm's.
var hookAnnotations = []string{sollv1.HookAnnotation, sollv1.ArgoCDHookAnnotation, sollv1.HelmHookAnnotation}

// checkGenerateName checks an object named by metadata.generateName gen
// alone. Only a hook may be: each of its runs creates a new object, while
// every other object is applied by name, again and again, and would
// otherwise be created anew at each sync.
func checkGenerateName(metadata map[string]any, gen any) error {
	if s, ok := gen.(string); !ok || s == "" {
		return errors.New("metadata.generateName must be a non-empty string")
	}
	ann, _ := metadata["annotations"].(map[string]any)
	for _, a := range hookAnnotations {
		if _, ok := ann[a]; ok {
			return nil
		}
	}
	return fmt.Errorf("metadata.name is missing: generateName is allowed on hooks only (objects annotated %s), as other objects are applied by name: set metadata.name",
		strings.Join(hookAnnotations, ", "))
}

// describe names the JSON type of v for errors, never its value.
func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	case nil:
		return "null"
	}
	return fmt.Sprintf("a %T", v)
}

// quoted matches what parser messages may quote from the input. A quoted
// punctuation character (the parsers' "expected ',' or ']'") is grammar, not
// content, and is kept; matching it as a whole also keeps "' or '" from
// being taken for a quotation.
var quoted = regexp.MustCompile("'[\\pP\\pS]'|'[^']*'|\"[^\"]*\"|`[^`]*`")

func isPunctuation(quote string) bool {
	r := []rune(quote)
	return len(r) == 3 && r[0] == '\'' && (unicode.IsPunct(r[1]) || unicode.IsSymbol(r[1]))
}

// Sanitize reduces the message of a parser or evaluator that may quote its
// input to its reason, as sanitize does for this package's parsers. Other
// renderers use it for the errors of their tools.
func Sanitize(msg string) string { return sanitize(msg) }

// sanitize reduces a parser's message to its reason: first line only,
// quoted input removed, at most 200 bytes. Parser messages are meant for the
// author, but they land in logs, conditions and events that more people can
// read than the repository's Secrets.
func sanitize(msg string) string {
	msg, _, _ = strings.Cut(msg, "\n")
	msg = quoted.ReplaceAllStringFunc(msg, func(q string) string {
		if isPunctuation(q) {
			return q
		}
		return ""
	})
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "..."
	}
	return msg
}
