package kustomize

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
	"soll.dev/internal/render/manifest"
)

// errOutside says that kustomize was led to a path outside the repository.
// Kustomization files are checked before kustomize follows them (see
// check.go), so this is a second line of defence.
var errOutside = errors.New("the path leads outside the repository: every file a kustomization uses must be inside it")

// errReadOnly refuses writes: the snapshot is shared and read-only, and a
// build never needs to write.
var errReadOnly = errors.New("the repository is read-only while rendering")

// fileSystem is kustomize's view of the repository snapshot: a
// filesys.FileSystem whose every read goes through a confine.Root and the
// render's Budget, is decrypted when a Decrypter is set, and is checked for
// YAML bombs before kustomize parses it.
//
// Kustomize works with absolute paths; the fileSystem accepts those under
// dir, the absolute path of the root, and nothing else. It is used by one
// build goroutine at a time: the Budget is not safe for concurrent use.
type fileSystem struct {
	ctx       context.Context
	root      *confine.Root
	dir       string // the root's absolute path, as kustomize sees it
	budget    *render.Budget
	decrypter render.Decrypter

	// edited holds the files served from memory instead of the snapshot,
	// by path relative to the root: the application's kustomization with
	// the overrides applied.
	edited map[string][]byte

	// failure is the first refusal (confinement, limits, decryption, a
	// forbidden kustomization). Kustomize may wrap it beyond recognition
	// or, probing paths, swallow it; the render fails with it either way.
	failure *render.Error
}

var _ filesys.FileSystem = (*fileSystem)(nil)

// abs returns the absolute path kustomize uses for rel, a path relative
// to the root.
func (f *fileSystem) abs(rel string) string {
	return filepath.Join(f.dir, filepath.FromSlash(rel))
}

// rel returns name, an absolute path under the root (or one relative to
// it), as a slash-separated path relative to the root.
func (f *fileSystem) rel(name string) (string, error) {
	if !filepath.IsAbs(name) {
		name = filepath.Join(f.dir, name)
	}
	name = filepath.Clean(name)
	if name == f.dir {
		return ".", nil
	}
	rest, ok := strings.CutPrefix(name, f.dir+string(filepath.Separator))
	if !ok {
		return "", errOutside
	}
	return filepath.ToSlash(rest), nil
}

// fail records err about file as the render's failure, unless one is
// recorded already, and returns it.
func (f *fileSystem) fail(file string, err error) error {
	var re *render.Error
	if !errors.As(err, &re) {
		re = &render.Error{File: file, Err: err}
	}
	if f.failure == nil {
		f.failure = re
	}
	return re
}

// refused tells whether err from the root is a refusal, as opposed to the
// file not being there (kustomize probes for files that need not exist).
func refused(err error) bool {
	return err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, confine.ErrNotRegular)
}

// resolve maps name to a path relative to the root, recording a refusal.
func (f *fileSystem) resolve(name string) (string, error) {
	if err := f.budget.Check(f.ctx); err != nil {
		return "", f.fail("", err)
	}
	rel, err := f.rel(name)
	if err != nil {
		return "", f.fail(f.display(name), err)
	}
	return rel, nil
}

// display names a path outside the root relative to it ("../../etc"), so
// that messages never show where the snapshot is on disk.
func (f *fileSystem) display(name string) string {
	if r, err := filepath.Rel(f.dir, name); err == nil {
		return filepath.ToSlash(r)
	}
	return name
}

// stat describes name, recording refusals.
func (f *fileSystem) stat(name string) (string, fs.FileInfo, error) {
	rel, err := f.resolve(name)
	if err != nil {
		return "", nil, err
	}
	info, err := f.root.Stat(rel)
	if refused(err) {
		return rel, nil, f.fail(rel, err)
	}
	return rel, info, err
}

// ReadFile reads name through the Budget, decrypts it and checks it.
// Kustomization files are checked for what soll refuses (see check.go);
// every file is measured for YAML bombs, since kustomize parses many of
// them.
func (f *fileSystem) ReadFile(name string) ([]byte, error) {
	rel, err := f.resolve(name)
	if err != nil {
		return nil, err
	}
	data, ok := f.edited[rel]
	if !ok {
		if data, err = f.budget.ReadFile(f.root, rel); err != nil {
			if refused(err) {
				return nil, f.fail(rel, err)
			}
			return nil, &fs.PathError{Op: "read", Path: rel, Err: err}
		}
		if f.decrypter != nil {
			if data, _, err = f.decrypter.Decrypt(f.ctx, rel, data); err != nil {
				return nil, f.fail(rel, fmt.Errorf("decrypt: %w", err))
			}
		}
	}
	if isKustomization(rel) {
		err = checkKustomization(rel, data)
	} else if bytes.Contains(data, []byte("builtin")) {
		err = checkPluginConfigs("", data, false)
	}
	if err != nil {
		return nil, f.fail(rel, err)
	}
	if err := manifest.CheckYAML(f.ctx, rel, data, f.budget); err != nil {
		return nil, f.fail(rel, err)
	}
	return data, nil
}

// isKustomization tells whether a file is a kustomization by its name.
func isKustomization(rel string) bool {
	switch path.Base(rel) {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return false
}

// IsDir tells whether name is a directory inside the root.
func (f *fileSystem) IsDir(name string) bool {
	_, info, err := f.stat(name)
	return err == nil && info.IsDir()
}

// Exists tells whether name exists inside the root.
func (f *fileSystem) Exists(name string) bool {
	_, _, err := f.stat(name)
	return err == nil
}

// CleanedAbs splits name into its directory and file name, like kustomize's
// on-disk file system, except that symlinks are resolved by the confine.Root
// (which refuses those leading out) rather than rewritten into the path: a
// loop made of symlinked directories is stopped by the kernel's limit on
// symlinks in a path.
func (f *fileSystem) CleanedAbs(name string) (filesys.ConfirmedDir, string, error) {
	rel, info, err := f.stat(name)
	if err != nil {
		return "", "", err
	}
	if info.IsDir() {
		return filesys.ConfirmedDir(f.abs(rel)), "", nil
	}
	return filesys.ConfirmedDir(f.abs(path.Dir(rel))), path.Base(rel), nil
}

// ReadDir lists the names in the directory name, counted by the Budget.
func (f *fileSystem) ReadDir(name string) ([]string, error) {
	rel, err := f.resolve(name)
	if err != nil {
		return nil, err
	}
	entries, err := f.budget.ReadDir(f.root, rel)
	if err != nil {
		if refused(err) {
			return nil, f.fail(rel, err)
		}
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// Open reads name whole (see ReadFile) and returns it as a read-only file.
func (f *fileSystem) Open(name string) (filesys.File, error) {
	data, err := f.ReadFile(name)
	if err != nil {
		return nil, err
	}
	_, info, err := f.stat(name)
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(data), info: info}, nil
}

// Glob and Walk are not used by kustomize builds; they are refused rather
// than implemented without a use to test them.
func (f *fileSystem) Glob(string) ([]string, error) {
	return nil, errors.New("listing files by pattern is not supported while rendering")
}

func (f *fileSystem) Walk(string, filepath.WalkFunc) error {
	return errors.New("walking directories is not supported while rendering")
}

func (f *fileSystem) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (f *fileSystem) Mkdir(string) error                  { return errReadOnly }
func (f *fileSystem) MkdirAll(string) error               { return errReadOnly }
func (f *fileSystem) RemoveAll(string) error              { return errReadOnly }
func (f *fileSystem) WriteFile(string, []byte) error      { return errReadOnly }

// memFile is a file read into memory.
type memFile struct {
	*bytes.Reader
	info os.FileInfo
}

func (m *memFile) Write([]byte) (int, error)  { return 0, errReadOnly }
func (m *memFile) Close() error               { return nil }
func (m *memFile) Stat() (os.FileInfo, error) { return m.info, nil }
