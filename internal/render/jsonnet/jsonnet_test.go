package jsonnet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
	"soll.dev/internal/render/rendertest"
)

func TestContract(t *testing.T) {
	rendertest.Contract(t, &Renderer{}, func(t *testing.T, dir string) {
		rendertest.WriteFile(t, filepath.Join(dir, "cm.jsonnet"), `{apiVersion: "v1", kind: "ConfigMap", metadata: {name: "demo"}}`)
		rendertest.WriteFile(t, filepath.Join(dir, "sa.jsonnet"), `[{apiVersion: "v1", kind: "ServiceAccount", metadata: {name: "demo-" + i}} for i in ["a", "b"]]`)
	}, nil)
}

// guestbook is the options of the fixture application.
var guestbook = &sollv1.JsonnetSource{
	ExtVars: []sollv1.JsonnetVar{{Name: "env", Value: "prod"}, {Name: "debug", Value: "false", Code: true}},
	TLAs:    []sollv1.JsonnetVar{{Name: "image", Value: "guestbook:1.2"}, {Name: "replicas", Value: "3", Code: true}},
	Libs:    []string{"lib"},
}

func TestRenderGuestbook(t *testing.T) {
	root, err := filepath.Abs("testdata/repo")
	if err != nil {
		t.Fatal(err)
	}
	res, err := (&Renderer{}).Render(context.Background(), render.Request{Root: root, Path: "apps/guestbook", Jsonnet: guestbook})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	var got []string
	for _, o := range res.Objects {
		got = append(got, fmt.Sprintf("%s/%s %s item %d", o.Unstructured.GetKind(), o.Unstructured.GetName(), o.Origin, o.Origin.Item))
	}
	want := []string{
		"ConfigMap/guestbook-config apps/guestbook/config.jsonnet item -1",
		"Deployment/frontend apps/guestbook/main.jsonnet item 0",
		"Service/frontend apps/guestbook/main.jsonnet item 1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}

	cm := res.Objects[0].Unstructured.Object["data"]
	wantData := map[string]any{
		"app.properties": "greeting=hello\ncolor=blue\n",
		"settings.json":  `{"app.kubernetes.io/name":"settings","app.kubernetes.io/part-of":"guestbook","debug":false}`,
		"logo.size":      "4",
	}
	if diff := cmp.Diff(wantData, cm); diff != "" {
		t.Errorf("ConfigMap data (-want +got):\n%s", diff)
	}
	deploy := res.Objects[1].Unstructured
	if r, _, _ := unstructuredInt(deploy.Object, "spec", "replicas"); r != 3 {
		t.Errorf("replicas = %d, want 3 from the code TLA", r)
	}
	if env := deploy.GetAnnotations()["guestbook.example/env"]; env != "prod" {
		t.Errorf("env annotation = %q, want prod from the extVar", env)
	}
}

func unstructuredInt(obj map[string]any, fields ...string) (int64, bool, error) {
	var v any = obj
	for _, f := range fields {
		m, ok := v.(map[string]any)
		if !ok {
			return 0, false, nil
		}
		v = m[f]
	}
	n, ok := v.(int64)
	return n, ok, nil
}

const configMap = `{apiVersion: "v1", kind: "ConfigMap", metadata: {name: "x"}}`

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string) // after the files exist
		files map[string]string
		opts  *sollv1.JsonnetSource
		r     *Renderer
		file  string // of the *render.Error
		line  int
		is    error  // matched with errors.Is, when set
		msg   string // a part of the message
	}{
		{
			name:  "import climbing out",
			files: map[string]string{"apps/demo/main.jsonnet": "\nimport '../../../outside.libsonnet'"},
			file:  "apps/demo/main.jsonnet", line: 2, is: confine.ErrParent, msg: `import "../../../outside.libsonnet"`,
		},
		{
			name:  "absolute import",
			files: map[string]string{"apps/demo/main.jsonnet": "importstr '/etc/passwd'"},
			file:  "apps/demo/main.jsonnet", line: 1, is: confine.ErrAbsolute, msg: `import "/etc/passwd"`,
		},
		{
			name: "symlink out",
			files: map[string]string{
				"apps/demo/main.jsonnet": "local k = import 'k.libsonnet';\nk",
				"lib/ok.libsonnet":       "{}",
			},
			setup: func(t *testing.T, root string) {
				outside := filepath.Join(t.TempDir(), "k.libsonnet")
				rendertest.WriteFile(t, outside, configMap)
				rendertest.Symlink(t, outside, filepath.Join(root, "lib", "k.libsonnet"))
			},
			opts: &sollv1.JsonnetSource{Libs: []string{"lib"}},
			file: "apps/demo/main.jsonnet", line: 1, is: confine.ErrEscape,
		},
		{
			name:  "symlink loop",
			files: map[string]string{"apps/demo/main.jsonnet": "local a = 1;\nimportstr 'loop'"},
			setup: func(t *testing.T, root string) {
				rendertest.Symlink(t, "loop", filepath.Join(root, "apps", "demo", "loop"))
			},
			file: "apps/demo/main.jsonnet", line: 2, is: confine.ErrLoop,
		},
		{
			name:  "entry file symlinked out",
			files: map[string]string{},
			setup: func(t *testing.T, root string) {
				outside := filepath.Join(t.TempDir(), "x.jsonnet")
				rendertest.WriteFile(t, outside, configMap)
				rendertest.Symlink(t, outside, filepath.Join(root, "apps", "demo", "main.jsonnet"))
			},
			file: "apps/demo/main.jsonnet", is: confine.ErrEscape,
		},
		{
			name:  "library path climbing out",
			files: map[string]string{"apps/demo/main.jsonnet": configMap},
			opts:  &sollv1.JsonnetSource{Libs: []string{"../lib"}},
			is:    confine.ErrParent, msg: "jsonnet.libs[0]",
		},
		{
			name:  "missing import",
			files: map[string]string{"apps/demo/main.jsonnet": "\n\nimport 'nope.libsonnet'"},
			opts:  &sollv1.JsonnetSource{Libs: []string{"lib", "vendor"}},
			file:  "apps/demo/main.jsonnet", line: 3, msg: "not found in apps/demo, lib, vendor",
		},
		{
			name:  "syntax error",
			files: map[string]string{"apps/demo/main.jsonnet": "{\n  a: 1,\n  b: = 2,\n}\n"},
			file:  "apps/demo/main.jsonnet", line: 3, msg: "jsonnet: ",
		},
		{
			name: "syntax error in a library",
			files: map[string]string{
				"apps/demo/main.jsonnet": "import 'broken.libsonnet'",
				"lib/broken.libsonnet":   "{\n\n  a: ,\n}",
			},
			opts: &sollv1.JsonnetSource{Libs: []string{"lib"}},
			file: "lib/broken.libsonnet", line: 3, msg: "jsonnet: ",
		},
		{
			name: "runtime error in a library",
			files: map[string]string{
				"apps/demo/main.jsonnet": "local l = import 'l.libsonnet';\nl.f({})",
				"lib/l.libsonnet":        "{\n  f(x):: x.missing,\n}",
			},
			opts: &sollv1.JsonnetSource{Libs: []string{"lib"}},
			file: "lib/l.libsonnet", line: 2, msg: "Field does not exist: missing",
		},
		{
			name:  "values are not quoted",
			files: map[string]string{"apps/demo/main.jsonnet": "local s = 's3cr3t';\nstd.assertEqual(s, 'other')"},
			file:  "apps/demo/main.jsonnet", line: 2, msg: "Assertion failed",
		},
		{
			name:  "stack",
			files: map[string]string{"apps/demo/main.jsonnet": "local f(n) = if n == 0 then 0 else 1 + f(n - 1);\nf(1000)"},
			r:     &Renderer{MaxStack: 100},
			file:  "apps/demo/main.jsonnet", line: 1, msg: "max stack frames exceeded",
		},
		{
			name: "timeout",
			// 2^60 calls; each leaf imports, which fails after the
			// deadline and so ends the goroutine in the background.
			files: map[string]string{
				"apps/demo/main.jsonnet":  "local f(n) = if n == 0 then import 'one.libsonnet' else f(n - 1) + f(n - 1);\nf(60)",
				"apps/demo/one.libsonnet": "1",
			},
			r:  &Renderer{Limits: render.Limits{Timeout: 200 * time.Millisecond}},
			is: context.DeadlineExceeded, msg: "rendering took longer than 200ms",
		},
		{
			name:  "50 MB importstr",
			files: map[string]string{"apps/demo/main.jsonnet": "{data: importstr 'big.txt'}", "apps/demo/big.txt": ""},
			setup: func(t *testing.T, root string) {
				// Sparse: refused on its size before a byte is read.
				if err := os.Truncate(filepath.Join(root, "apps", "demo", "big.txt"), 50<<20); err != nil {
					t.Fatal(err)
				}
			},
			file: "apps/demo/main.jsonnet", line: 1, is: &render.LimitError{}, msg: "above the 8 MiB limit per file",
		},
		{
			name:  "output too big",
			files: map[string]string{"apps/demo/main.jsonnet": "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'x'}, data: {a: std.repeat('x', 2048)}}"},
			r:     &Renderer{Limits: render.Limits{MaxFileBytes: 1024}},
			file:  "apps/demo/main.jsonnet", is: &render.LimitError{}, msg: "output: file is",
		},
		{
			name:  "object of objects",
			files: map[string]string{"apps/demo/main.jsonnet": "{a: " + configMap + ", b: " + configMap + "}"},
			file:  "apps/demo/main.jsonnet", msg: "evaluates to an object of objects",
		},
		{
			name:  "array of strings",
			files: map[string]string{"apps/demo/main.jsonnet": "[" + configMap + ", ['s3cr3t']]"},
			file:  "apps/demo/main.jsonnet", msg: "item 1 of the array it evaluates to is a string, not an object",
		},
		{
			name:  "not an object",
			files: map[string]string{"apps/demo/main.jsonnet": "'s3cr3t'"},
			file:  "apps/demo/main.jsonnet", msg: "evaluates to a string",
		},
		{
			name:  "not a Kubernetes object",
			files: map[string]string{"apps/demo/main.jsonnet": "[{apiVersion: 'v1', kind: 'ConfigMap', metadata: {}}]"},
			file:  "apps/demo/main.jsonnet", msg: "metadata.name is missing",
		},
		{
			name:  "no jsonnet file",
			files: map[string]string{"apps/demo/lib.libsonnet": "{}"},
			file:  "apps/demo", msg: "no .jsonnet file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := rendertest.Repo(t, tt.files)
			if tt.setup != nil {
				tt.setup(t, root)
			}
			r := tt.r
			if r == nil {
				r = &Renderer{}
			}
			res, err := r.Render(context.Background(), render.Request{Root: root, Path: "apps/demo", Jsonnet: tt.opts})
			if err == nil {
				t.Fatalf("no error; %d objects", len(res.Objects))
			}
			if res != nil {
				t.Errorf("a result came with the error")
			}
			var re *render.Error
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *render.Error", err)
			}
			if tt.file != "" && (re.File != tt.file || re.Line != tt.line) {
				t.Errorf("error at %s:%d, want %s:%d (%v)", re.File, re.Line, tt.file, tt.line, err)
			}
			var le *render.LimitError
			switch {
			case tt.is == nil:
			case errors.As(tt.is, &le):
				if !errors.As(err, &le) {
					t.Errorf("error %v is not a LimitError", err)
				}
			case !errors.Is(err, tt.is):
				t.Errorf("error %v does not match %v", err, tt.is)
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.Contains(msg, tt.msg) {
				t.Errorf("error %q does not say %q", msg, tt.msg)
			}
			for _, leak := range []string{"s3cr3t", root} {
				if strings.Contains(msg, leak) {
					t.Errorf("error %q quotes %q", msg, leak)
				}
			}
		})
	}
}

// TestRunawayEvaluationIsKilled checks that evaluations that never end
// or grow without end are stopped at the render's time or memory limit,
// with an error saying which, and that nothing of them keeps running: the
// evaluation runs in a child process, killed with its process group.
func TestRunawayEvaluationIsKilled(t *testing.T) {
	tests := []struct {
		name    string
		code    string
		timeout time.Duration
		limit   string
		msg     string
	}{
		{
			// 2^60 calls, without an import to fail at.
			name:    "time",
			code:    "local f(n) = if n == 0 then 1 else f(n - 1) + f(n - 1);\nf(60)",
			timeout: 2 * time.Second,
			limit:   render.LimitTimeout, msg: "rendering took longer than 2s",
		},
		{
			// One allocation of 8 GB.
			name:    "memory at once",
			code:    "std.length(std.range(1, 1e9))",
			timeout: time.Minute,
			limit:   render.LimitMemory, msg: "needed more than 64 MiB of memory",
		},
		{
			// An array growing one element at a time.
			name:    "memory growing",
			code:    "std.length(std.makeArray(1e9, function(i) i))",
			timeout: time.Minute,
			limit:   render.LimitMemory, msg: "needed more than 64 MiB of memory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := rendertest.Repo(t, map[string]string{"apps/demo/main.jsonnet": tt.code})
			r := &Renderer{Limits: render.Limits{Timeout: tt.timeout, MaxMemoryBytes: 64 << 20}}
			start := time.Now()
			_, err := r.Render(context.Background(), render.Request{Root: root, Path: "apps/demo"})
			took := time.Since(start)
			if !rendertest.IsLimit(t, err, tt.limit) {
				t.FailNow()
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			if took > tt.timeout+5*time.Second {
				t.Errorf("Render took %s", took)
			}
			if kids := children(t); len(kids) > 0 {
				t.Errorf("child processes %v still run after Render returned", kids)
			}
		})
	}
}

// children lists the processes whose parent is this one.
func children(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The state and the parent's pid follow the command name in
		// parentheses.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid()) {
			out = append(out, pid)
		}
	}
	return out
}

// TestCodeImportsFromApp checks that code given in the Application imports
// relative to the application directory.
func TestCodeImportsFromApp(t *testing.T) {
	root := rendertest.Repo(t, map[string]string{
		"apps/demo/main.jsonnet":   "function(obj) obj",
		"apps/demo/obj.libsonnet":  configMap,
		"apps/demo/other.jsonnet":  "std.extVar('obj')",
		"apps/demo/README.jsonnet": "[]",
	})
	opts := &sollv1.JsonnetSource{
		ExtVars: []sollv1.JsonnetVar{{Name: "obj", Value: "import 'obj.libsonnet'", Code: true}},
		TLAs:    []sollv1.JsonnetVar{{Name: "obj", Value: "import 'obj.libsonnet'", Code: true}},
	}
	res, err := (&Renderer{}).Render(context.Background(), render.Request{Root: root, Path: "apps/demo", Jsonnet: opts})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if len(res.Objects) != 2 {
		t.Errorf("got %d objects, want 2", len(res.Objects))
	}
}
