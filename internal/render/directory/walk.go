package directory

import (
	"context"
	"io/fs"
	"os"
	"path"
	"strings"

	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
)

// walker lists the manifest files of an application directory.
type walker struct {
	ctx     context.Context
	root    *confine.Root
	budget  *render.Budget
	app     string // the application path, clean
	recurse bool
	include matcher
	exclude matcher

	files   []string      // selected files, relative to the root
	parents []fs.FileInfo // directories being walked, to detect loops
}

// walk lists dir, described by info, and its subdirectories when recursing.
func (w *walker) walk(dir string, info fs.FileInfo) error {
	if err := w.budget.Check(w.ctx); err != nil {
		return &render.Error{File: dir, Err: err}
	}
	for _, p := range w.parents {
		// Only a symlink can lead back to a directory being walked.
		if os.SameFile(p, info) {
			return &render.Error{File: dir, Err: confine.ErrLoop}
		}
	}
	w.parents = append(w.parents, info)
	defer func() { w.parents = w.parents[:len(w.parents)-1] }()

	entries, err := w.budget.ReadDir(w.root, dir)
	if err != nil {
		return &render.Error{File: dir, Err: err}
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		full := path.Join(dir, name)
		rel := w.rel(full)
		if w.exclude.match(rel) {
			continue
		}
		selected := isManifest(name) && (len(w.include) == 0 || w.include.match(rel))
		typ := e.Type()
		var info fs.FileInfo
		if typ&fs.ModeSymlink != 0 {
			if !selected && !w.recurse {
				continue // neither read nor walked: leave it unresolved
			}
			if info, err = w.root.Stat(full); err != nil {
				return &render.Error{File: full, Err: err}
			}
			typ = info.Mode().Type()
		}
		switch {
		case typ.IsDir():
			if !w.recurse {
				continue
			}
			if info == nil {
				// Through the root, not e.Info(), which would lstat the
				// host path outside it.
				if info, err = w.root.Stat(full); err != nil {
					return &render.Error{File: full, Err: err}
				}
			}
			if err := w.walk(full, info); err != nil {
				return err
			}
		case selected:
			// Devices, pipes and sockets are refused when read.
			w.files = append(w.files, full)
		}
	}
	return nil
}

// rel returns name, a path relative to the root, relative to the
// application directory.
func (w *walker) rel(name string) string {
	if w.app == "." {
		return name
	}
	return strings.TrimPrefix(name, w.app+"/")
}

// isManifest tells whether a file name has a manifest extension. The match is
// case-sensitive, like kubectl's.
func isManifest(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".json")
}
