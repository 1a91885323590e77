package directory

import (
	"context"
	"errors"
	"slices"

	"soll.dev/internal/render"
	"soll.dev/internal/render/manifest"
)

// Renderer renders plain manifest directories. The zero value is ready to
// use, with the default limits.
type Renderer struct {
	// Limits bound every render; zero fields take their defaults.
	Limits render.Limits
}

var _ render.Renderer = (*Renderer)(nil)

// Render reads the manifests of the application at req.Path, with the
// options in req.Directory (nil means the defaults).
func (r *Renderer) Render(ctx context.Context, req render.Request) (*render.Result, error) {
	ctx, cancel := render.WithTimeout(ctx, r.Limits)
	defer cancel()
	budget := render.NewBudget(r.Limits)

	var opts render.DirectoryOptions
	if req.Directory != nil {
		opts = *req.Directory
	}
	include, err := compilePatterns("include", opts.Include)
	if err != nil {
		return nil, &render.Error{Err: err}
	}
	exclude, err := compilePatterns("exclude", opts.Exclude)
	if err != nil {
		return nil, &render.Error{Err: err}
	}
	root, app, err := render.OpenApp(req)
	if err != nil {
		return nil, err
	}
	defer root.Close()

	// Phase 1: walk. Every path is confined before anything is read.
	info, err := root.Stat(app)
	if err != nil {
		return nil, &render.Error{File: app, Err: err}
	}
	w := &walker{ctx: ctx, root: root, budget: budget, app: app, recurse: opts.Recurse, include: include, exclude: exclude}
	if err := w.walk(app, info); err != nil {
		return nil, err
	}
	files := w.files
	slices.Sort(files)

	// Phase 2: read. Every file is read before anything is parsed, so that a
	// confinement or size error is reported whatever the other files hold.
	contents := make([][]byte, len(files))
	for i, f := range files {
		if err := budget.Check(ctx); err != nil {
			return nil, &render.Error{File: f, Err: err}
		}
		if contents[i], err = budget.ReadFile(root, f); err != nil {
			return nil, &render.Error{File: f, Err: err}
		}
	}

	// Phase 3: decrypt and decode, one file at a time, so that plaintext
	// lives no longer than its file's decoding.
	var objs []render.Object
	for i, f := range files {
		data, err := decrypt(ctx, req.Decrypter, f, contents[i])
		if err != nil {
			return nil, err
		}
		more, err := manifest.Decode(ctx, f, data, budget)
		if err != nil {
			return nil, err
		}
		objs = append(objs, more...)
		contents[i] = nil
	}
	return &render.Result{Objects: objs}, nil
}

// decrypt returns the plaintext of a file when d is set and the file is
// SOPS-encrypted, and data itself otherwise.
func decrypt(ctx context.Context, d render.Decrypter, file string, data []byte) ([]byte, error) {
	if d == nil {
		return data, nil
	}
	plain, _, err := d.Decrypt(ctx, file, data)
	if err != nil {
		if _, ok := errors.AsType[*render.Error](err); ok {
			return nil, err
		}
		return nil, &render.Error{File: file, Err: err}
	}
	return plain, nil
}
