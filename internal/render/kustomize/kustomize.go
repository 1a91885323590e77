package kustomize

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"

	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
	"soll.dev/internal/render/manifest"
)

// Renderer renders kustomizations with kustomize's builtins. The zero value
// is ready to use, with the default limits.
type Renderer struct {
	// Limits bound every render; zero fields take their defaults.
	Limits render.Limits

	// Helm inflates the charts of helmCharts, for applications that enable
	// it (spec.source.kustomize.enableHelm); nil refuses them.
	Helm render.Renderer
}

var _ render.Renderer = (*Renderer)(nil)

// kustomizationNames are the file names kustomize accepts, in its order.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// Render builds the kustomization at req.Path with req.Kustomize's overrides
// applied, and returns its objects in kustomize's output order.
func (r *Renderer) Render(ctx context.Context, req render.Request) (*render.Result, error) {
	ctx, cancel := render.WithTimeout(ctx, r.Limits)
	defer cancel()
	budget := render.NewBudget(r.Limits)

	root, app, err := render.OpenApp(req)
	if err != nil {
		return nil, err
	}
	// Closing the root also stops a build abandoned on timeout at its next
	// read (see build).
	defer root.Close()
	if err := budget.Check(ctx); err != nil {
		return nil, &render.Error{File: app, Err: err}
	}
	kfile, err := findKustomization(root, app)
	if err != nil {
		return nil, err
	}

	fsys := newFileSystem(ctx, root, budget, req)
	defer fsys.close()
	if req.Kustomize != nil && req.Kustomize.EnableHelm {
		fsys.helm = &inflater{fsys: fsys, helm: r.Helm, req: req}
	}
	if hasOverrides(req.Kustomize) {
		data, err := fsys.read(fsys.app(kfile))
		if err != nil {
			return nil, fsys.error(kfile, err)
		}
		edited, err := applyOverrides(kfile, data, req.Kustomize)
		if err != nil {
			return nil, &render.Error{File: kfile, Err: err}
		}
		fsys.edited[kfile] = edited
	}
	out, err := build(ctx, fsys, fsys.app(app).abs())
	if err != nil {
		return nil, fsys.error(kfile, err)
	}
	objs, err := manifest.Decode(ctx, kfile, out, budget)
	if err != nil {
		return nil, err
	}
	for i := range objs {
		// Lines and documents of kustomize's output mean nothing in the
		// repository.
		objs[i].Origin.Line, objs[i].Origin.Document = 0, 0
	}
	return &render.Result{Objects: objs}, nil
}

// findKustomization returns the path of the kustomization file in app.
func findKustomization(root *confine.Root, app string) (string, error) {
	var found []string
	for _, n := range kustomizationNames {
		name := path.Join(app, n)
		_, err := root.Stat(name)
		if refused(err) {
			return "", &render.Error{File: name, Err: err}
		}
		if err == nil {
			found = append(found, name)
		}
	}
	switch len(found) {
	case 0:
		return "", &render.Error{File: app, Err: errors.New("no kustomization.yaml, kustomization.yml or Kustomization file: add one, or render the directory as plain manifests")}
	case 1:
		return found[0], nil
	}
	return "", &render.Error{File: app, Err: fmt.Errorf("more than one kustomization file (%s): keep one", strings.Join(found, ", "))}
}

// options are kustomize's options in soll: builtins only (no exec,
// container or Go plugins, Helm disabled), files anywhere in the
// repository (the fileSystem confines them to it), and the output order of
// `kustomize build`.
func options() *krusty.Options {
	o := krusty.MakeDefaultOptions()
	o.LoadRestrictions = types.LoadRestrictionsNone
	o.PluginConfig = types.DisabledPluginConfig()
	o.Reorder = krusty.ReorderOptionUnspecified
	return o
}

// build runs kustomize on the kustomization in dir and returns its output
// as YAML.
//
// Kustomize takes no context, so the build runs in a goroutine and build
// returns as soon as ctx ends. The abandoned goroutine then fails at its
// next file access: the fileSystem checks ctx on every call, and the root
// it reads through is closed when Render returns. A build stuck in
// computation without reading files runs on until it finishes, bounded by
// the size of what it has read; its result is dropped.
func build(ctx context.Context, fsys *fileSystem, dir string) ([]byte, error) {
	type result struct {
		yaml []byte
		err  error
	}
	done := make(chan result, 1) // buffered: an abandoned build must not block
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("kustomize failed unexpectedly: %v", p)}
			}
		}()
		m, err := krusty.MakeKustomizer(options()).Run(fsys, dir)
		if err != nil {
			done <- result{err: err}
			return
		}
		y, err := m.AsYaml()
		done <- result{yaml: y, err: err}
	}()
	select {
	case res := <-done:
		return res.yaml, res.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// error turns a failed build into an *render.Error: the refusal the
// fileSystem recorded if any (kustomize may have wrapped it beyond
// recognition), else kustomize's message about the kustomization kfile.
func (f *fileSystem) error(kfile string, err error) error {
	if cause := f.budget.Check(f.ctx); cause != nil {
		return &render.Error{File: kfile, Err: cause}
	}
	if f.failure != nil {
		if f.failure.File == "" {
			f.failure.File = kfile
		}
		return f.failure
	}
	var re *render.Error
	if errors.As(err, &re) {
		return re
	}
	msg := f.clean(err.Error())
	if types.IsErrOnlyBuiltinPluginsAllowed(err) {
		return &render.Error{File: kfile, Err: fmt.Errorf("%s: %w", msg, ErrPlugin)}
	}
	if i := strings.Index(msg, "cycle detected"); i >= 0 {
		// Kustomize nests the error in one "accumulating" prefix per level.
		msg = "kustomizations include each other in a cycle: " + msg[i:]
	}
	return &render.Error{File: kfile, Err: &BuildError{Reason: msg}}
}

// BuildError is kustomize's reason for failing a build, cleaned for users:
// paths relative to the repository root, no quoted file contents.
type BuildError struct {
	Reason string
}

func (e *BuildError) Error() string {
	return "kustomize build: " + e.Reason + " (fix the kustomization, or the file it names)"
}

// contentMarkers start the parts of kustomize's messages that dump YAML.
var contentMarkers = []string{"node contents", "\n---", "Document:", "document:"}

// clean rewrites a kustomize message for users: absolute paths in the
// snapshot become relative to its root, dumps of file contents are cut, and
// the message fits on one line of at most 1,000 bytes.
func (f *fileSystem) clean(msg string) string {
	for _, m := range contentMarkers {
		if i := strings.Index(msg, m); i >= 0 {
			msg = msg[:i] + "(contents omitted)"
		}
	}
	for i := len(f.mounts) - 1; i >= 0; i-- {
		m := f.mounts[i]
		msg = strings.ReplaceAll(msg, m.dir+"/", display(m.remote, ""))
		msg = strings.ReplaceAll(msg, m.dir, display(m.remote, "."))
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > 1000 {
		msg = strings.ToValidUTF8(msg[:1000], "") + "..."
	}
	return msg
}
