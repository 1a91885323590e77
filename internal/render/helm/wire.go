package helm

import (
	"encoding/json"
	"fmt"
)

// wireValue is one of the user's values on its way to the template
// process, with its Go type: gob alone would turn an empty list into a nil
// one (which toYaml prints as null) and needs every type registered. The
// values are those of YAML and JSON documents and helm's parameters.
type wireValue struct {
	Kind  valueKind
	Str   string
	Int   int64
	Float float64
	Bool  bool
	// Items are the items of a list, or the values of a mapping whose
	// keys are Keys.
	Items []wireValue
	Keys  []string
}

type valueKind uint8

const (
	kindNil valueKind = iota
	kindString
	kindBool
	kindInt
	kindInt64
	kindFloat64
	kindNumber // json.Number
	kindList
	kindMapping
)

// toWireValue describes v. It fails on a type that values do not hold.
func toWireValue(v any) (wireValue, error) {
	switch v := v.(type) {
	case nil:
		return wireValue{Kind: kindNil}, nil
	case string:
		return wireValue{Kind: kindString, Str: v}, nil
	case bool:
		return wireValue{Kind: kindBool, Bool: v}, nil
	case int:
		return wireValue{Kind: kindInt, Int: int64(v)}, nil
	case int64:
		return wireValue{Kind: kindInt64, Int: v}, nil
	case float64:
		return wireValue{Kind: kindFloat64, Float: v}, nil
	case json.Number:
		return wireValue{Kind: kindNumber, Str: string(v)}, nil
	case []any:
		w := wireValue{Kind: kindList, Items: make([]wireValue, len(v))}
		for i, item := range v {
			var err error
			if w.Items[i], err = toWireValue(item); err != nil {
				return wireValue{}, err
			}
		}
		return w, nil
	case map[string]any:
		w := wireValue{Kind: kindMapping, Items: make([]wireValue, 0, len(v)), Keys: make([]string, 0, len(v))}
		for k, item := range v {
			wi, err := toWireValue(item)
			if err != nil {
				return wireValue{}, fmt.Errorf("%s: %w", k, err)
			}
			w.Keys = append(w.Keys, k)
			w.Items = append(w.Items, wi)
		}
		return w, nil
	}
	return wireValue{}, fmt.Errorf("a value of type %T, which values do not hold", v)
}

// value returns the value w describes.
func (w wireValue) value() any {
	switch w.Kind {
	case kindString:
		return w.Str
	case kindBool:
		return w.Bool
	case kindInt:
		return int(w.Int)
	case kindInt64:
		return w.Int
	case kindFloat64:
		return w.Float
	case kindNumber:
		return json.Number(w.Str)
	case kindList:
		l := make([]any, len(w.Items))
		for i, item := range w.Items {
			l[i] = item.value()
		}
		return l
	case kindMapping:
		m := make(map[string]any, len(w.Keys))
		for i, k := range w.Keys {
			m[k] = w.Items[i].value()
		}
		return m
	}
	return nil
}
