package helm

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"text/template"

	"github.com/Masterminds/sprig/v3"

	"soll.dev/internal/render"
	"soll.dev/internal/render/manifest"
)

// maxRange bounds the lists until, untilStep and seq may build, so that
// "range until 100000000" fails at once instead of allocating gigabytes.
const maxRange = 1 << 20

// unguarded are the template functions the engine defines itself or
// disables (env, DNS lookups): guardedFuncs must not replace them.
var unguarded = map[string]bool{
	"env": true, "expandenv": true, "getHostByName": true,
	"include": true, "tpl": true, "required": true, "fail": true, "lookup": true,
}

// guardedFuncs returns the sprig functions wrapped so that the functions
// that build lists or strings from a count stay within the limits: they
// fail with a clear error before they allocate, where the template process
// would otherwise run out of memory.
func guardedFuncs(maxBytes int64) *guards {
	g := &guards{funcs: template.FuncMap{}}
	for name, fn := range sprig.TxtFuncMap() {
		if unguarded[name] {
			continue
		}
		g.funcs[name] = g.guard(name, reflect.ValueOf(fn), maxBytes)
	}
	return g
}

func (g *guards) guard(name string, fn reflect.Value, maxBytes int64) any {
	t := fn.Type()
	return reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
		if err := checkArgs(name, args, maxBytes); err != nil {
			if le, ok := err.(*render.LimitError); ok {
				g.hit.Store(le)
			}
			// text/template turns a panic in a function into an error that
			// ends the execution.
			panic(err)
		}
		var res []reflect.Value
		if t.IsVariadic() {
			res = fn.CallSlice(args)
		} else {
			res = fn.Call(args)
		}
		if len(res) > 0 && res[0].Kind() == reflect.String && maxBytes > 0 && int64(res[0].Len()) > maxBytes {
			le := &render.LimitError{Limit: render.LimitFileBytes, Max: maxBytes, Actual: int64(res[0].Len())}
			g.hit.Store(le)
			panic(le)
		}
		return res
	}).Interface()
}

// checkArgs refuses calls that would build a list longer than maxRange or a
// string longer than maxBytes before they allocate.
func checkArgs(name string, args []reflect.Value, maxBytes int64) error {
	ints := func() []int64 {
		var out []int64
		for _, a := range args {
			if a.Kind() == reflect.Slice {
				for i := range a.Len() {
					out = append(out, toInt(a.Index(i)))
				}
				continue
			}
			out = append(out, toInt(a))
		}
		return out
	}
	var n int64
	switch name {
	case "until":
		n = ints()[0]
	case "untilStep":
		v := ints()
		if v[2] != 0 {
			n = (v[1] - v[0]) / v[2]
		}
	case "seq":
		v := ints()
		switch len(v) {
		case 1:
			n = v[0]
		case 2:
			n = v[1] - v[0]
		case 3:
			if v[1] != 0 {
				n = (v[2] - v[0]) / v[1]
			}
		}
	case "repeat":
		if count, s := toInt(args[0]), args[1]; s.Kind() == reflect.String && maxBytes > 0 && count > 0 && count*int64(max(s.Len(), 1)) > maxBytes {
			return &render.LimitError{Limit: render.LimitFileBytes, Max: maxBytes, Actual: count * int64(s.Len())}
		}
		return nil
	default:
		return nil
	}
	if n > maxRange || n < -maxRange {
		return fmt.Errorf("%s would build a list of %d items, above the limit of %d", name, n, maxRange)
	}
	return nil
}

func toInt(v reflect.Value) int64 {
	for v.Kind() == reflect.Interface && !v.IsNil() {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return int64(min(v.Uint(), 1<<62))
	case reflect.Float32, reflect.Float64:
		return int64(max(min(v.Float(), 1<<62), -1<<62))
	case reflect.String:
		n, _ := strconv.ParseInt(v.String(), 10, 64)
		return n
	}
	return 0
}

// guards are the template functions of one render and the limit a guarded
// function hit, if any.
type guards struct {
	funcs template.FuncMap
	hit   atomic.Pointer[render.LimitError]
}

// location matches "name:line" or "name:line:col" of a template in helm's
// errors.
var location = regexp.MustCompile(`([^\s():"]+):(\d+)(?::\d+)?`)

// templateError turns an engine error into a *render.Error that names the
// template (as originOf maps it) and the line, with a reason that quotes
// neither values nor template text: quoted strings are dropped, since the
// text of tpl comes from values. Messages of fail and required are the
// chart author's and are kept.
func templateError(err error, templates map[string]bool, originOf func(string) string) *render.Error {
	msg := err.Error()
	file, line := "", 0
	for _, m := range location.FindAllStringSubmatch(msg, -1) {
		if templates[m[1]] {
			file = originOf(m[1])
			line, _ = strconv.Atoi(m[2])
		}
	}
	var parts []string
	for l := range strings.SplitSeq(msg, "\n") {
		l = strings.TrimSpace(location.ReplaceAllStringFunc(l, func(s string) string {
			if templates[location.FindStringSubmatch(s)[1]] {
				return ""
			}
			return s
		}))
		l = strings.TrimSpace(strings.NewReplacer(" at ()", "", "()", "", "template: ", "").Replace(l))
		l = strings.TrimSuffix(l, ":")
		if l != "" {
			parts = append(parts, l)
		}
	}
	reason := manifest.Sanitize(strings.Join(parts, ": "))
	reason = strings.TrimLeft(strings.ReplaceAll(reason, " :", ":"), ": ")
	if reason == "" {
		reason = "template failed"
	}
	return &render.Error{File: file, Line: line, Err: errors.New(reason)}
}

// isTestHook reports whether obj is a helm test hook, which soll never
// applies.
func isTestHook(annotations map[string]string) bool {
	hooks, ok := annotations["helm.sh/hook"]
	if !ok {
		return false
	}
	for h := range strings.SplitSeq(hooks, ",") {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "test", "test-success", "test-failure":
			return true
		}
	}
	return false
}
