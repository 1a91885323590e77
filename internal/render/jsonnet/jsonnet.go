package jsonnet

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync/atomic"

	gojsonnet "github.com/google/go-jsonnet"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
)

// DefaultMaxStack is the depth of Jsonnet calls allowed when
// Renderer.MaxStack is zero, go-jsonnet's own default.
const DefaultMaxStack = 500

// maxAbandoned bounds the evaluations that went past their deadline and
// still run in the background (see Renderer). Past it, renders fail at once
// rather than pile up goroutines that burn CPU.
const maxAbandoned = 4

// Renderer renders the *.jsonnet files of an application directory. The
// zero value is ready to use, with the default limits; it must not be copied
// after first use.
type Renderer struct {
	// Limits bound every render; zero fields take their defaults.
	// MaxFileBytes and MaxTotalBytes bound both the files imported and the
	// JSON each file evaluates to.
	Limits render.Limits

	// MaxStack bounds the depth of Jsonnet calls; 0 means DefaultMaxStack.
	MaxStack int

	// abandoned counts evaluations that outlived their render.
	abandoned atomic.Int32
}

var _ render.Renderer = (*Renderer)(nil)

// Render evaluates the *.jsonnet files directly in req.Path, sorted by name,
// with the options in req.Jsonnet (nil means none).
func (r *Renderer) Render(ctx context.Context, req render.Request) (*render.Result, error) {
	if n := r.abandoned.Load(); n >= maxAbandoned {
		return nil, &render.Error{Err: fmt.Errorf("%d Jsonnet evaluations that went past the render time limit are still running: retry later, and look for applications whose Jsonnet never ends", n)}
	}
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
	// Closing the root under an abandoned evaluation is wanted: its next
	// read fails.
	defer root.Close()
	files, err := entryFiles(root, budget, app)
	if err != nil {
		return nil, err
	}
	if err := budget.Check(ctx); err != nil {
		return nil, &render.Error{File: app, Err: err}
	}

	imp := newImporter(ctx, root, budget, app, libs)
	outputs, err := r.evaluate(ctx, r.newVM(opts, imp), imp, files)
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

// newVM configures a VM for one render. std.trace output is dropped: it
// would print values into the controller's log.
func (r *Renderer) newVM(opts sollv1.JsonnetSource, imp *importer) *gojsonnet.VM {
	vm := gojsonnet.MakeVM()
	vm.Importer(imp)
	vm.SetTraceOut(io.Discard)
	vm.MaxStack = r.MaxStack
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

// evaluated is what the evaluating goroutine hands back.
type evaluated struct {
	outputs []string
	err     error
}

// evaluate evaluates files, in order, to JSON.
//
// go-jsonnet takes no context, so the evaluation runs on a goroutine of its
// own and evaluate stops waiting for it when ctx ends. The goroutine cannot
// be stopped: it runs on until its evaluation ends. Its next import fails
// once ctx has ended, which ends most real programs soon; a loop without
// imports runs to completion, or forever. Those goroutines are counted, and
// while maxAbandoned of them run, Render refuses new renders.
func (r *Renderer) evaluate(ctx context.Context, vm *gojsonnet.VM, imp *importer, files []string) ([]string, error) {
	done := make(chan evaluated, 1)
	limits := imp.budget.Limits()
	go func() {
		var ev evaluated
		defer func() {
			if p := recover(); p != nil {
				ev = evaluated{err: &render.Error{Err: fmt.Errorf("jsonnet evaluation crashed: %v", p)}}
			}
			done <- ev
		}()
		var total int64
		for _, f := range files {
			out, err := evaluateFile(vm, imp, f)
			if err != nil {
				ev.err = err
				return
			}
			total += int64(len(out))
			if err := outputFits(limits, int64(len(out)), total); err != nil {
				ev.err = &render.Error{File: f, Err: fmt.Errorf("output: %w", err)}
				return
			}
			ev.outputs = append(ev.outputs, out)
		}
	}()
	select {
	case ev := <-done:
		return ev.outputs, ev.err
	case <-ctx.Done():
		r.abandoned.Add(1)
		go func() {
			<-done
			r.abandoned.Add(-1)
		}()
		return nil, &render.Error{File: imp.app, Err: context.Cause(ctx)}
	}
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
