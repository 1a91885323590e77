package health

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// chunkName names scripts in Lua error messages ("health.lua:12: ..."), the
// file name Argo CD users know.
const chunkName = "health.lua"

// scriptSet holds the compiled custom checks. Compiled code (a
// FunctionProto) is read-only at run time, so every Lua state can share it.
type scriptSet struct {
	exact map[schema.GroupKind]*lua.FunctionProto
	// patterns are the wildcard keys, most specific first.
	patterns []patternScript
}

type patternScript struct {
	group, kind string
	proto       *lua.FunctionProto
}

func compileScripts(sources map[schema.GroupKind]string) (scriptSet, error) {
	set := scriptSet{exact: make(map[schema.GroupKind]*lua.FunctionProto)}
	for gk, src := range sources {
		if strings.TrimSpace(src) == "" {
			continue
		}
		proto, err := compile(src)
		if err != nil {
			return scriptSet{}, fmt.Errorf("compile Lua health check for %s: %w", gk, err)
		}
		if !isPattern(gk.Group) && !isPattern(gk.Kind) {
			set.exact[gk] = proto
			continue
		}
		for _, p := range []string{gk.Group, gk.Kind} {
			if _, err := path.Match(p, ""); err != nil {
				return scriptSet{}, fmt.Errorf("health check key %s: pattern %q: %w", gk, p, err)
			}
		}
		set.patterns = append(set.patterns, patternScript{group: gk.Group, kind: gk.Kind, proto: proto})
	}
	literal := func(p patternScript) int {
		return len(p.group) + len(p.kind) - strings.Count(p.group, "*") - strings.Count(p.kind, "*")
	}
	slices.SortFunc(set.patterns, func(a, b patternScript) int {
		return cmp.Or(
			cmp.Compare(literal(b), literal(a)),
			cmp.Compare(a.group, b.group),
			cmp.Compare(a.kind, b.kind),
		)
	})
	return set, nil
}

func isPattern(s string) bool { return strings.ContainsAny(s, `*?[\`) }

func compile(src string) (*lua.FunctionProto, error) {
	chunk, err := parse.Parse(strings.NewReader(src), chunkName)
	if err != nil {
		// The parser's message ends in a newline.
		return nil, errors.New(strings.TrimSpace(err.Error()))
	}
	return lua.Compile(chunk, chunkName)
}

// lookup returns the custom check for gk, or nil.
func (s scriptSet) lookup(gk schema.GroupKind) *lua.FunctionProto {
	if proto, ok := s.exact[gk]; ok {
		return proto
	}
	for _, p := range s.patterns {
		// The patterns were validated by compileScripts: no errors here.
		g, _ := path.Match(p.group, gk.Group)
		k, _ := path.Match(p.kind, gk.Kind)
		if g && k {
			return p.proto
		}
	}
	return nil
}

type limits struct {
	timeout      time.Duration
	maxSteps     int64 // < 0: unlimited
	maxCallDepth int
	maxStackSize int
}

var errStepLimit = errors.New("instruction limit exceeded")

// stepLimit is a context whose Done channel reads as closed once it has been
// asked for more than a set number of times. gopher-lua offers no instruction
// hook, but its interpreter loop polls the context's Done channel before
// every instruction (vm.go, mainLoopWithContext), so counting the polls
// counts the instructions. If a future gopher-lua stopped polling per
// instruction, only the timeout would remain; the steps cases of TestLuaLimits would
// notice.
type stepLimit struct {
	context.Context
	left atomic.Int64
}

var closedDone = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func newStepLimit(parent context.Context, steps int64) *stepLimit {
	s := &stepLimit{Context: parent}
	s.left.Store(steps)
	return s
}

func (s *stepLimit) Done() <-chan struct{} {
	if s.left.Add(-1) < 0 {
		return closedDone
	}
	return s.Context.Done()
}

func (s *stepLimit) Err() error {
	if s.exceeded() {
		return errStepLimit
	}
	return s.Context.Err()
}

func (s *stepLimit) exceeded() bool { return s.left.Load() < 0 }

// runScript runs one custom check on obj in a fresh, sandboxed Lua state.
// A fresh state per run costs about 0.1 ms, most of it opening the libraries,
// and rules out any leak between runs (scripts set globals, as Argo CD's do).
func (c *Checker) runScript(proto *lua.FunctionProto, gk schema.GroupKind, obj *unstructured.Unstructured) (Result, error) {
	L := lua.NewState(lua.Options{
		SkipOpenLibs:        true,
		CallStackSize:       c.limits.maxCallDepth,
		RegistrySize:        min(256, c.limits.maxStackSize),
		RegistryGrowStep:    256,
		RegistryMaxSize:     c.limits.maxStackSize,
		MinimizeStackMemory: true,
	})
	defer L.Close()
	openSandbox(L)

	ctx, cancel := context.WithTimeout(context.Background(), c.limits.timeout)
	defer cancel()
	var steps *stepLimit
	if c.limits.maxSteps >= 0 {
		steps = newStepLimit(ctx, c.limits.maxSteps)
		L.SetContext(steps)
	} else {
		L.SetContext(ctx)
	}

	L.SetGlobal("obj", toLua(L, obj.Object))
	L.Push(L.NewFunctionFromProto(proto))
	if err := L.PCall(0, 1, nil); err != nil {
		// Once a limit is hit every instruction raises an error, so the
		// limit explains the failure better than the script's last message.
		switch {
		case steps != nil && steps.exceeded():
			return Result{}, fmt.Errorf("lua health check for %s: stopped after %d instructions: %w", gk, c.limits.maxSteps, errStepLimit)
		case ctx.Err() != nil:
			return Result{}, fmt.Errorf("lua health check for %s: stopped after %s: %w", gk, c.limits.timeout, ctx.Err())
		}
		return Result{}, fmt.Errorf("lua health check for %s failed: %s", gk, luaMessage(err))
	}
	return scriptResult(gk, L.Get(-1))
}

// luaMessage is the error a script raised, without gopher-lua's stack trace.
func luaMessage(err error) string {
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) && apiErr.Object != nil {
		return apiErr.Object.String()
	}
	return err.Error()
}

// scriptResult reads the table a script returned: {status = ..., message = ...}.
func scriptResult(gk schema.GroupKind, ret lua.LValue) (Result, error) {
	tbl, ok := ret.(*lua.LTable)
	if !ok {
		return Result{}, fmt.Errorf("lua health check for %s returned %s, want a table {status = ..., message = ...}", gk, ret.Type())
	}
	status, _ := tbl.RawGetString("status").(lua.LString)
	if !known(Status(status)) {
		return Result{}, fmt.Errorf("lua health check for %s returned invalid status %q, want one of Healthy, Progressing, Degraded, Suspended, Missing, Unknown",
			gk, tbl.RawGetString("status").String())
	}
	var msg string
	switch m := tbl.RawGetString("message").(type) {
	case *lua.LNilType:
	case lua.LString, lua.LNumber:
		msg = m.String()
	default:
		return Result{}, fmt.Errorf("lua health check for %s returned a message of type %s, want a string", gk, m.Type())
	}
	return Result{Status: Status(status), Message: msg}, nil
}

// toLua converts a decoded JSON value to Lua: objects and arrays become
// tables (arrays indexed from 1), numbers become Lua numbers.
func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case int64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case int32:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case map[string]any:
		t := L.CreateTable(0, len(v))
		for k, e := range v {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	case []any:
		t := L.CreateTable(len(v), 0)
		for _, e := range v {
			t.Append(toLua(L, e))
		}
		return t
	}
	return lua.LNil
}
