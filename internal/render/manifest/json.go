package manifest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"soll.dev/internal/render"
)

// DecodeJSON decodes data, the contents of file, as one JSON value: an object
// or a List of objects. Whitespace alone is an empty file.
//
// JSON is read with encoding/json rather than as YAML: yaml.v3 does not read
// every JSON escape ("\/") and accepts what JSON does not (trailing commas).
// Unlike YAML, a duplicate key is not an error: the last one wins, as in
// kubectl.
func DecodeJSON(ctx context.Context, file string, data []byte, b *render.Budget) ([]render.Object, error) {
	if err := b.Check(ctx); err != nil {
		return nil, &render.Error{File: file, Err: err}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	start := len(data) - len(bytes.TrimLeft(data, " \t\r\n"))
	if start == len(data) {
		return nil, nil
	}
	fail := func(offset int64, format string, args ...any) ([]render.Object, error) {
		return nil, &render.Error{File: file, Line: lineAt(data, offset), Err: fmt.Errorf(format, args...)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		var syntax *json.SyntaxError
		switch {
		case errors.As(err, &syntax):
			return fail(syntax.Offset-1, "invalid JSON: %s", sanitize(syntax.Error()))
		case errors.Is(err, io.ErrUnexpectedEOF):
			return fail(int64(len(data)), "invalid JSON: unexpected end of file")
		}
		return fail(dec.InputOffset(), "invalid JSON: %s", sanitize(err.Error()))
	}
	if rest := dec.InputOffset(); len(bytes.TrimSpace(data[rest:])) > 0 {
		next := rest + int64(len(data[rest:])-len(bytes.TrimLeft(data[rest:], " \t\r\n")))
		return fail(next, "unexpected content after the first JSON value: a JSON file holds one object, put several in a List")
	}
	line := lineAt(data, int64(start))
	if err := b.Document(); err != nil {
		return nil, &render.Error{File: file, Line: line, Err: err}
	}
	v, err := normalize(raw, 0, b)
	if err != nil {
		return nil, &render.Error{File: file, Line: line, Err: err}
	}
	doc := document{file: file, line: line, value: v}
	if obj, ok := v.(map[string]any); ok && isList(obj) {
		doc.items = jsonItemLines(data)
	}
	return doc.objects(b)
}

// normalize converts json.Numbers to int64 or float64, as Kubernetes' JSON
// decoding does, and checks the nesting depth.
func normalize(v any, depth int, b *render.Budget) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		if err := b.Depth(depth + 1); err != nil {
			return nil, err
		}
		for k, e := range v {
			n, err := normalize(e, depth+1, b)
			if err != nil {
				return nil, err
			}
			v[k] = n
		}
	case []any:
		if err := b.Depth(depth + 1); err != nil {
			return nil, err
		}
		for i, e := range v {
			n, err := normalize(e, depth+1, b)
			if err != nil {
				return nil, err
			}
			v[i] = n
		}
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i, nil
		}
		f, err := v.Float64()
		if err != nil || math.IsInf(f, 0) {
			return nil, errors.New("a number is out of range")
		}
		return f, nil
	}
	return v, nil
}

// jsonItemLines returns the lines where the items of the List in data
// start, or nil when they cannot be found.
func jsonItemLines(data []byte) []int {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil
		}
		if key != "items" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return nil
		}
		var lines []int
		for dec.More() {
			// InputOffset is the end of the previous token; the item starts
			// after blanks and a comma.
			off := dec.InputOffset()
			for off < int64(len(data)) && bytes.IndexByte([]byte(" \t\r\n,"), data[off]) >= 0 {
				off++
			}
			lines = append(lines, lineAt(data, off))
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil
			}
		}
		return lines
	}
	return nil
}

// lineAt returns the 1-based line of the byte at offset.
func lineAt(data []byte, offset int64) int {
	offset = min(max(offset, 0), int64(len(data)))
	return bytes.Count(data[:offset], []byte("\n")) + 1
}
