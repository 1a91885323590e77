package plugin

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
)

// copier copies a repository snapshot into a private directory for a plugin
// to run in, so that nothing the plugin does reaches the shared snapshot.
//
// Everything is read through the confine.Root and counted in the Budget.
// A symlink that stays inside the repository is recreated with the same
// target, which resolves to the same file of the copy; one that leaves the
// repository (absolute targets always do) or loops is left out, so the
// plugin cannot follow it to the host.
type copier struct {
	ctx    context.Context
	root   *confine.Root
	budget *render.Budget
	dst    string // the copy's root on the host
}

// copyDir copies the directory dir, relative to the root, and all below it.
func (c *copier) copyDir(dir string) error {
	if err := c.budget.Check(c.ctx); err != nil {
		return &render.Error{File: dir, Err: err}
	}
	entries, err := c.budget.ReadDir(c.root, dir)
	if err != nil {
		return &render.Error{File: dir, Err: err}
	}
	for _, e := range entries {
		name := path.Join(dir, e.Name())
		target := filepath.Join(c.dst, filepath.FromSlash(name))
		switch typ := e.Type(); {
		case typ.IsDir():
			if err := os.Mkdir(target, 0o755); err != nil {
				return &render.Error{File: name, Err: err}
			}
			if err := c.copyDir(name); err != nil {
				return err
			}
		case typ&fs.ModeSymlink != 0:
			if err := c.copyLink(name, target); err != nil {
				return err
			}
		case typ.IsRegular():
			if err := c.copyFile(name, target); err != nil {
				return err
			}
		}
		// Devices, pipes and sockets have no place in a repository: left out.
	}
	return nil
}

func (c *copier) copyFile(name, target string) error {
	info, err := c.root.Lstat(name)
	if err != nil {
		return &render.Error{File: name, Err: err}
	}
	data, err := c.budget.ReadFile(c.root, name)
	if err != nil {
		return &render.Error{File: name, Err: err}
	}
	// Keep the executable bit: plugins run scripts from the repository.
	mode := os.FileMode(0o644)
	if info.Mode()&0o111 != 0 {
		mode = 0o755
	}
	if err := os.WriteFile(target, data, mode); err != nil {
		return &render.Error{File: name, Err: err}
	}
	return nil
}

func (c *copier) copyLink(name, target string) error {
	if _, err := c.root.Stat(name); err != nil {
		if errors.Is(err, confine.ErrEscape) || errors.Is(err, confine.ErrLoop) || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return &render.Error{File: name, Err: err}
	}
	dest, err := fs.ReadLink(c.root.FS(), name)
	if err != nil {
		return &render.Error{File: name, Err: err}
	}
	if err := os.Symlink(dest, target); err != nil {
		return &render.Error{File: name, Err: err}
	}
	return nil
}

// removeAll removes dir even where the plugin took away write permission.
func removeAll(dir string) error {
	if err := os.RemoveAll(dir); err == nil {
		return nil
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
