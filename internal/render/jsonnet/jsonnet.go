package jsonnet

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	gojsonnet "github.com/google/go-jsonnet"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
)

// DefaultMaxStack is the depth of Jsonnet calls allowed when
// Renderer.MaxStack is zero, go-jsonnet's own default.
const DefaultMaxStack = 500

// Renderer renders the *.jsonnet files of an application directory. The
// zero value is ready to use, with the default limits.
type Renderer struct {
	// Limits bound every render; zero fields take their defaults.
	// MaxFileBytes and MaxTotalBytes bound both the files imported and the
	// JSON each file evaluates to; MaxMemoryBytes bounds the evaluation's
	// process.
	Limits render.Limits

	// MaxStack bounds the depth of Jsonnet calls; 0 means DefaultMaxStack.
	MaxStack int
}

var _ render.Renderer = (*Renderer)(nil)

// Render evaluates the *.jsonnet files directly in req.Path, sorted by name,
// with the options in req.Jsonnet (nil means none), in a child process (see
// childEnv).
func (r *Renderer) Render(ctx context.Context, req render.Request) (*render.Result, error) {
	ctx, cancel := render.WithTimeout(ctx, r.Limits)
	defer cancel()
	budget := render.NewBudget(r.Limits)

	var opts sollv1.JsonnetSource
	if req.Jsonnet != nil {
		opts = *req.Jsonnet
	}
	libs := make([]string, len(opts.Libs))
	for i, lib := range opts.Libs {
		var err error
		if libs[i], err = confine.Path(lib); err != nil {
			return nil, &render.Error{Err: fmt.Errorf("jsonnet.libs[%d] %q: %w", i, lib, err)}
		}
	}
	root, app, err := render.OpenApp(req)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	files, err := entryFiles(root, budget, app)
	if err != nil {
		return nil, err
	}
	if err := budget.Check(ctx); err != nil {
		return nil, &render.Error{File: app, Err: err}
	}

	outputs, err := evaluateInChild(ctx, childRequest{
		Root: root.Name(), App: app, Libs: libs, Files: files,
		Options: opts, MaxStack: r.MaxStack, Limits: budget.Limits(),
	})
	if err != nil {
		return nil, err
	}
	var objs []render.Object
	for i, f := range files {
		more, err := decodeOutput(ctx, f, outputs[i], budget)
		if err != nil {
			return nil, err
		}
		objs = append(objs, more...)
		outputs[i] = ""
	}
	return &render.Result{Objects: objs}, nil
}

// entryFiles lists the *.jsonnet files directly in app, sorted by name.
func entryFiles(root *confine.Root, b *render.Budget, app string) ([]string, error) {
	entries, err := b.ReadDir(root, app)
	if err != nil {
		return nil, &render.Error{File: app, Err: err}
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".jsonnet") || strings.HasPrefix(name, ".") {
			continue
		}
		full := path.Join(app, name)
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			info, err := root.Stat(full)
			if err != nil {
				return nil, &render.Error{File: full, Err: err}
			}
			isDir = info.IsDir()
		}
		if !isDir {
			files = append(files, full)
		}
	}
	if len(files) == 0 {
		return nil, &render.Error{File: app, Err: fmt.Errorf("no .jsonnet file in the application directory")}
	}
	return files, nil
}

// newVM configures a VM for one evaluation. std.trace output is dropped:
// it would print values into the controller's log.
func newVM(opts sollv1.JsonnetSource, maxStack int, imp *importer) *gojsonnet.VM {
	vm := gojsonnet.MakeVM()
	vm.Importer(imp)
	vm.SetTraceOut(io.Discard)
	vm.MaxStack = maxStack
	if vm.MaxStack <= 0 {
		vm.MaxStack = DefaultMaxStack
	}
	for _, v := range opts.ExtVars {
		if v.Code {
			vm.ExtCode(v.Name, v.Value)
		} else {
			vm.ExtVar(v.Name, v.Value)
		}
	}
	for _, v := range opts.TLAs {
		if v.Code {
			vm.TLACode(v.Name, v.Value)
		} else {
			vm.TLAVar(v.Name, v.Value)
		}
	}
	return vm
}

// evaluateFile evaluates the file name, relative to the root, to JSON.
func evaluateFile(vm *gojsonnet.VM, imp *importer, name string) (string, error) {
	node, _, err := vm.ImportAST("", path.Base(name))
	if err == nil {
		var out string
		if out, err = vm.Evaluate(node); err == nil {
			return out, nil
		}
	}
	return "", evalError(err, name, imp)
}

// outputFits checks the JSON of one file, size bytes, and of all files so
// far, total bytes, against the byte limits.
func outputFits(l render.Limits, size, total int64) error {
	if l.MaxFileBytes > 0 && size > l.MaxFileBytes {
		return &render.LimitError{Limit: render.LimitFileBytes, Max: l.MaxFileBytes, Actual: size}
	}
	if l.MaxTotalBytes > 0 && total > l.MaxTotalBytes {
		return &render.LimitError{Limit: render.LimitTotalBytes, Max: l.MaxTotalBytes, Actual: total}
	}
	return nil
}
