package health

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var widgetGK = schema.GroupKind{Group: "test.soll.dev", Kind: "Widget"}

func widget() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "test.soll.dev/v1",
		"kind":       "Widget",
		"metadata":   map[string]any{"name": "blue", "namespace": "shop", "generation": int64(2)},
		"spec":       map[string]any{"size": int64(3), "tags": []any{"a", "b"}},
		"status":     map[string]any{"phase": "Running", "ready": true},
	}}
}

// runWidgetScript checks widget() with script as its custom check.
func runWidgetScript(t *testing.T, opts Options, script string) (Result, error) {
	t.Helper()
	opts.Scripts = map[schema.GroupKind]string{widgetGK: script}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c.Check(widget())
}

func TestLuaSeesObject(t *testing.T) {
	got, err := runWidgetScript(t, Options{}, `
		assert(obj.kind == "Widget" and obj.metadata.name == "blue")
		assert(obj.metadata.generation == 2 and obj.spec.size + 1 == 4)
		assert(#obj.spec.tags == 2 and obj.spec.tags[1] == "a")
		assert(obj.status.ready == true and obj.status.missing == nil)
		return {status = "Healthy", message = obj.status.phase}`)
	if err != nil || got != (Result{Status: Healthy, Message: "Running"}) {
		t.Errorf("Check = %+v, %v; want Healthy, Running", got, err)
	}
}

// A Lua check runs in a sandbox: what is not offered fails with a message
// that says so, what is offered works.
func TestLuaSandbox(t *testing.T) {
	fails := map[string]string{
		`dofile("/etc/passwd")`:                     "dofile is not available",
		`loadfile("/etc/passwd")`:                   "loadfile is not available",
		`load(function() return nil end)`:           "load is not available",
		`loadstring("return 1")()`:                  "loadstring is not available",
		`require("os")`:                             "require is not available",
		`collectgarbage()`:                          "collectgarbage is not available",
		`setfenv(1, {})`:                            "setfenv is not available",
		`os.execute("true")`:                        "os.execute is not available",
		`os.exit(1)`:                                "os.exit is not available",
		`os.getenv("HOME")`:                         "os.getenv is not available",
		`os.remove("/tmp/x")`:                       "os.remove is not available",
		`io.write("x")`:                             "attempt to index a non-table object(nil) with key 'write'",
		`debug.getregistry()`:                       "attempt to index a non-table object(nil) with key 'getregistry'",
		`package.loadlib("x", "y")`:                 "attempt to index a non-table object(nil) with key 'loadlib'",
		`coroutine.create(function() end)`:          "attempt to index a non-table object(nil) with key 'create'",
		`string.dump(function() end)`:               "attempt to call a non-function object",
		`local s = ("x"):rep(1e9)`:                  "string.rep: result longer than 1048576 bytes",
		`local s = string.rep("ab", 600000)`:        "string.rep: result longer than 1048576 bytes",
		`local function f() return f() + 1 end f()`: "stack overflow",
	}
	for script, want := range fails {
		t.Run(script, func(t *testing.T) {
			got, err := runWidgetScript(t, Options{}, script+"\nreturn {status = \"Healthy\"}")
			if err == nil || got.Status != Unknown || !strings.Contains(got.Message, want) {
				t.Errorf("Check = %+v, %v; want Unknown and a message containing %q", got, err, want)
			}
		})
	}
	works := []string{
		`print("debugging", obj.metadata.name)`,
		`assert(os.time() > 0 and os.clock() >= 0 and os.difftime(2, 1) == 1)`,
		`assert(type(os.date("%Y")) == "string")`,
		`assert(string.format("%s-%d", "a", 1) == "a-1" and ("Ab"):lower() == "ab")`,
		`assert(("a,b"):find(",") == 2 and ("x=1"):match("=(%d)") == "1" and ("aaa"):gsub("a", "b") == "bbb")`,
		`for w in string.gmatch("a b", "%a") do end`,
		`local t = {3, 1, 2}; table.sort(t); assert(table.concat(t, ",") == "1,2,3" and table.getn(t) == 3)`,
		`assert(math.max(1, 2) == 2 and math.floor(1.5) == 1)`,
		`assert(pcall(error, "x") == false and select("#", 1, 2) == 2)`,
		`assert(tostring(1) == "1" and tonumber("2") == 2 and type(next({})) == "nil")`,
		`setmetatable({}, {__index = function() return 1 end})`,
		`local s = ("ab"):rep(1000); assert(#s == 2000)`,
	}
	for _, script := range works {
		t.Run(script, func(t *testing.T) {
			got, err := runWidgetScript(t, Options{}, script+"\nreturn {status = \"Healthy\"}")
			if err != nil || got.Status != Healthy {
				t.Errorf("Check = %+v, %v; want Healthy", got, err)
			}
		})
	}
}

func TestLuaStackSize(t *testing.T) {
	script := `local t = {}
		for i = 1, 5000 do t[i] = i end
		local all = {unpack(t)}
		return {status = "Healthy"}`
	got, err := runWidgetScript(t, Options{MaxStackSize: 1000}, script)
	if want := "registry overflow"; err == nil || !strings.Contains(got.Message, want) {
		t.Errorf("Check = %+v, %v; want a message containing %q", got, err, want)
	}
	if got, err := runWidgetScript(t, Options{}, script); err != nil || got.Status != Healthy {
		t.Errorf("with the default stack size: Check = %+v, %v; want Healthy", got, err)
	}
}

// An endless loop is stopped by the timeout when there is no instruction
// limit, and by the instruction limit long before a generous timeout.
func TestLuaLimits(t *testing.T) {
	loops := map[string]string{
		"plain":        `while true do end`,
		"inside pcall": `while true do pcall(function() while true do end end) end`,
		"in xpcall":    `xpcall(function() while true do end end, function(e) while true do end end)`,
		"recursion":    `local function f(n) if n > 0 then return f(n - 1) end while true do end end f(50)`,
		"gsub callback": `local s = ("x"):rep(1000)
			while true do s:gsub("x", function() end) end`,
		"sort comparator": `local t = {}
			for i = 1, 100 do t[i] = i end
			table.sort(t, function(a, b) while true do end end)`,
	}
	for name, script := range loops {
		t.Run(name+"/timeout", func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			got, err := runWidgetScript(t, Options{MaxSteps: -1}, script)
			elapsed := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) || got.Status != Unknown {
				t.Errorf("Check = %+v, %v; want Unknown and context.DeadlineExceeded", got, err)
			}
			if want := "Lua health check for Widget.test.soll.dev: stopped after 1s: context deadline exceeded"; got.Message != want {
				t.Errorf("message = %q, want %q", got.Message, want)
			}
			if elapsed > 2*time.Second {
				t.Errorf("stopped after %s, want well under 2s (timeout 1s)", elapsed)
			}
		})
		t.Run(name+"/steps", func(t *testing.T) {
			t.Parallel()
			got, err := runWidgetScript(t, Options{MaxSteps: 10_000, Timeout: time.Minute}, script)
			if !errors.Is(err, errStepLimit) || got.Status != Unknown {
				t.Errorf("Check = %+v, %v; want Unknown and errStepLimit", got, err)
			}
			if want := "Lua health check for Widget.test.soll.dev: stopped after 10000 instructions: instruction limit exceeded"; got.Message != want {
				t.Errorf("message = %q, want %q", got.Message, want)
			}
		})
	}
}

// A script that needs fewer instructions than the limit is not affected.
func TestLuaStepLimitAllowsWork(t *testing.T) {
	script := `local n = 0
		for i = 1, 1000 do n = n + i end
		return {status = "Healthy", message = tostring(n)}`
	got, err := runWidgetScript(t, Options{MaxSteps: 10_000}, script)
	if err != nil || got != (Result{Status: Healthy, Message: "500500"}) {
		t.Errorf("Check = %+v, %v; want Healthy, 500500", got, err)
	}
	if _, err := runWidgetScript(t, Options{MaxSteps: 1_000}, script); !errors.Is(err, errStepLimit) {
		t.Errorf("with 1000 steps: error = %v, want errStepLimit", err)
	}
}

func TestLuaResults(t *testing.T) {
	tests := []struct {
		script  string
		want    Result
		wantErr string
	}{
		{`return {status = "Degraded", message = "broken"}`, Result{Degraded, "broken"}, ""},
		{`return {status = "Suspended"}`, Result{Suspended, ""}, ""},
		{`return {status = "Missing", message = 42}`, Result{Missing, "42"}, ""},
		{`hs = {}; hs.status = "Progressing"; hs.message = "wait"; return hs`, Result{Progressing, "wait"}, ""},
		{`return {status = "healthy"}`, Result{}, `returned invalid status "healthy"`},
		{`return {message = "no status"}`, Result{}, `returned invalid status "nil"`},
		{`return {status = 1}`, Result{}, `returned invalid status "1"`},
		{`return {status = "Healthy", message = {}}`, Result{}, "returned a message of type table, want a string"},
		{`return nil`, Result{}, "returned nil, want a table"},
		{`local x = 1`, Result{}, "returned nil, want a table"},
		{`error("custom failure")`, Result{}, "failed: health.lua:1: custom failure"},
		{`error({code = 1})`, Result{}, "failed: table: 0x"},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			got, err := runWidgetScript(t, Options{}, tt.script)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Errorf("Check = %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			if err == nil || got.Status != Unknown || !strings.Contains(got.Message, tt.wantErr) {
				t.Errorf("Check = %+v, %v; want Unknown with %q", got, err, tt.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), `check health of Widget.test.soll.dev "shop/blue": lua health check for Widget.test.soll.dev `) {
				t.Errorf("error %q does not name the object", err)
			}
		})
	}
}

// Each check gets a fresh state: globals a script sets do not survive it.
func TestLuaStateIsFresh(t *testing.T) {
	c, err := New(Options{Scripts: map[schema.GroupKind]string{widgetGK: `
		runs = (runs or 0) + 1
		string.upper = nil
		return {status = "Healthy", message = tostring(runs)}`}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		got, err := c.Check(widget())
		if err != nil || got.Message != "1" {
			t.Fatalf("Check = %+v, %v; want message 1 every time", got, err)
		}
	}
}

func TestLuaScriptSelection(t *testing.T) {
	script := func(name string) string { return `return {status = "Healthy", message = "` + name + `"}` }
	c, err := New(Options{Scripts: map[schema.GroupKind]string{
		{Group: "test.soll.dev", Kind: "Widget"}:      script("exact"),
		{Group: "*.soll.dev", Kind: "Widget"}:         script("group pattern"),
		{Group: "*.soll.dev", Kind: "*"}:              script("group pattern, any kind"),
		{Group: "*", Kind: "Gadget"}:                  script("any group, kind"),
		{Group: "example.com", Kind: "*"}:             script("group, any kind"),
		{Group: "apps", Kind: "Deployment"}:           script("built-in replaced"),
		{Group: "", Kind: "ConfigMap"}:                script("core group"),
		{Group: "other.example.com", Kind: "Wid*"}:    script("kind prefix"),
		{Group: "empty.example.com", Kind: "Widget"}:  "  \n",
		{Group: "deep.test.soll.dev", Kind: "Widget"}: script("exact, deeper"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		gk   schema.GroupKind
		want string // "" when no script applies
	}{
		{schema.GroupKind{Group: "test.soll.dev", Kind: "Widget"}, "exact"},
		{schema.GroupKind{Group: "deep.test.soll.dev", Kind: "Widget"}, "exact, deeper"},
		{schema.GroupKind{Group: "other.soll.dev", Kind: "Widget"}, "group pattern"},
		{schema.GroupKind{Group: "other.soll.dev", Kind: "Gizmo"}, "group pattern, any kind"},
		{schema.GroupKind{Group: "other.soll.dev", Kind: "Gadget"}, "group pattern, any kind"},
		{schema.GroupKind{Group: "example.org", Kind: "Gadget"}, "any group, kind"},
		{schema.GroupKind{Group: "example.com", Kind: "Thing"}, "group, any kind"},
		{schema.GroupKind{Group: "apps", Kind: "Deployment"}, "built-in replaced"},
		{schema.GroupKind{Group: "", Kind: "ConfigMap"}, "core group"},
		{schema.GroupKind{Group: "other.example.com", Kind: "Widget"}, "kind prefix"},
		{schema.GroupKind{Group: "soll.dev", Kind: "Widget"}, ""},
		{schema.GroupKind{Group: "empty.example.com", Kind: "Widget"}, ""},
		{schema.GroupKind{Group: "apps", Kind: "StatefulSet"}, ""},
	}
	plain, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(tt.gk.WithVersion("v1"))
		obj.SetName("x")
		got, err := c.Check(obj)
		want := Result{Status: Healthy, Message: tt.want}
		if tt.want == "" {
			// No script: the same answer as a Checker without scripts.
			want, _ = plain.Check(obj)
		}
		if err != nil || got != want {
			t.Errorf("%s: Check = %+v, %v; want %+v", tt.gk, got, err, want)
		}
	}
}

func TestNewRejectsBadScripts(t *testing.T) {
	tests := []struct {
		key     schema.GroupKind
		script  string
		wantErr string
	}{
		{widgetGK, "local hs = {}\nhs.status = = 1", "compile Lua health check for Widget.test.soll.dev: health.lua line:2(column:13) near '=':   syntax error"},
		{widgetGK, `return {status = "Healthy"`, "compile Lua health check for Widget.test.soll.dev: health.lua at EOF:   syntax error"},
		{schema.GroupKind{Group: "[", Kind: "Widget"}, `return {}`, `health check key Widget.[: pattern "[": syntax error in pattern`},
	}
	for _, tt := range tests {
		_, err := New(Options{Scripts: map[schema.GroupKind]string{tt.key: tt.script}})
		if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
			t.Errorf("New(%s) error = %v, want prefix %q", tt.key, err, tt.wantErr)
		}
	}
}

func BenchmarkCheckLua(b *testing.B) {
	f, err := readFixture("testdata/lua/cert-manager.io/Certificate/healthy-issued.yaml")
	if err != nil {
		b.Fatal(err)
	}
	c := f.checker(b)
	for b.Loop() {
		if _, err := c.Check(f.obj); err != nil {
			b.Fatal(err)
		}
	}
}
