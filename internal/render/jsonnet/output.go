package jsonnet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"soll.dev/internal/render"
	"soll.dev/internal/render/manifest"
)

// decodeOutput decodes out, the JSON that file evaluated to, into objects.
// out must be one object (a Kubernetes object or a List) or an array of
// objects, where nested arrays are flattened; the array is then decoded as
// the items of a List, so each object's Origin.Item is its position in the
// flattened array.
//
// Lines in the JSON are not lines of the Jsonnet file, so objects and
// errors carry no line.
func decodeOutput(ctx context.Context, file, out string, b *render.Budget) ([]render.Object, error) {
	data := []byte(out)
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	var objs []render.Object
	var err error
	switch {
	case len(trimmed) > 0 && trimmed[0] == '{':
		objs, err = manifest.DecodeJSON(ctx, file, data, b)
		if err != nil && isObjectOfObjects(trimmed) {
			err = &render.Error{File: file, Err: errors.New("evaluates to an object of objects: soll does not look for objects inside other objects; return an object, or an array of objects (std.objectValues(x) makes one)")}
		}
	case len(trimmed) > 0 && trimmed[0] == '[':
		var items [][]byte
		if err := flatten(trimmed, 1, b, &items); err != nil {
			return nil, &render.Error{File: file, Err: err}
		}
		list := append([]byte(`{"apiVersion":"v1","kind":"List","items":[`), bytes.Join(items, []byte(","))...)
		objs, err = manifest.DecodeJSON(ctx, file, append(list, "]}"...), b)
	default:
		err = &render.Error{File: file, Err: fmt.Errorf("evaluates to %s, not an object or an array of objects", describe(trimmed))}
	}
	if err != nil {
		var re *render.Error
		if errors.As(err, &re) && re.File == file {
			re.Line = 0
		}
		return nil, err
	}
	for i := range objs {
		objs[i].Origin.Line = 0
	}
	return objs, nil
}

// flatten appends the objects in the JSON array raw to items, descending
// into nested arrays, which count against MaxDepth.
func flatten(raw []byte, depth int, b *render.Budget, items *[][]byte) error {
	if err := b.Depth(depth); err != nil {
		return err
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return fmt.Errorf("read the output of the evaluation: %w", err)
	}
	for _, e := range elems {
		switch e[0] {
		case '[':
			if err := flatten(e, depth+1, b, items); err != nil {
				return err
			}
		case '{':
			*items = append(*items, e)
		default:
			return fmt.Errorf("item %d of the array it evaluates to is %s, not an object", len(*items), describe(e))
		}
	}
	return nil
}

// isObjectOfObjects tells whether the JSON object raw has no kind and only
// objects as values, the shape of programs written for tools that look for
// objects at any depth.
func isObjectOfObjects(raw []byte) bool {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || len(fields) == 0 {
		return false
	}
	if _, ok := fields["kind"]; ok {
		return false
	}
	for _, v := range fields {
		if len(v) == 0 || v[0] != '{' {
			return false
		}
	}
	return true
}

// describe names the JSON type of raw for errors, never its value.
func describe(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "a number"
}
