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

// fileSystem is kustomize's view of the repository snapshot and of the
// snapshots of its remote bases: a filesys.FileSystem whose every read goes
// through a confine.Root and the render's Budget, is decrypted when a
// Decrypter is set, and is checked for YAML bombs before kustomize parses
// it.
//
// Kustomize works with absolute paths; the fileSystem accepts those under
// its mounts' directories, and nothing else. It is used by one build
// goroutine at a time: the Budget is not safe for concurrent use.
type fileSystem struct {
	ctx       context.Context
	budget    *render.Budget
	decrypter render.Decrypter

	// mounts are the snapshot roots read: the application's repository
	// first, then the remote bases' snapshots, mounted as kustomizations
	// name them.
	mounts []*mount
	// remotes are the fetched remote bases (render.Request.Remotes).
	remotes map[string]string
	// helm inflates helmCharts; nil when they are refused.
	helm *inflater

	// edited holds the files served from memory instead of the snapshot,
	// by loc: the application's kustomization with the overrides applied.
	edited map[string][]byte
	// built holds kustomizations as kustomize reads them, by loc, once
	// checked: remote bases pointed to their snapshots, Helm charts
	// inflated into generated files (also in built).
	built map[string][]byte

	// failure is the first refusal (confinement, limits, decryption, a
	// forbidden kustomization). Kustomize may wrap it beyond recognition
	// or, probing paths, swallow it; the render fails with it either way.
	failure *render.Error
}

var _ filesys.FileSystem = (*fileSystem)(nil)

// mount is one snapshot root the build reads.
type mount struct {
	dir    string // the root's absolute path, as kustomize sees it
	root   *confine.Root
	remote *Remote // the remote base it was mounted for; nil for the application's repository
}

// loc is a path in a mount.
type loc struct {
	m   *mount
	rel string // slash-separated, relative to the mount's root
}

// String names the path in errors and keys: relative to the repository
// root, or as a remote base URL (see display).
func (l loc) String() string { return display(l.m.remote, l.rel) }

// abs returns the absolute path kustomize uses for l.
func (l loc) abs() string {
	return filepath.Join(l.m.dir, filepath.FromSlash(l.rel))
}

// newFileSystem returns the file system of a build of the application in
// root.
func newFileSystem(ctx context.Context, root *confine.Root, budget *render.Budget, req render.Request) *fileSystem {
	return &fileSystem{
		ctx: ctx, budget: budget, decrypter: req.Decrypter,
		mounts:  []*mount{{dir: root.Name(), root: root}},
		remotes: req.Remotes,
		edited:  map[string][]byte{}, built: map[string][]byte{},
	}
}

// app returns the location of rel in the application's repository.
func (f *fileSystem) app(rel string) loc { return loc{m: f.mounts[0], rel: rel} }

// close closes the remote bases' roots; the caller closes the
// application's.
func (f *fileSystem) close() {
	for _, m := range f.mounts[1:] {
		m.root.Close()
	}
}

// mount returns the mount of the snapshot root dir, mounting it for
// remote on first use.
func (f *fileSystem) mount(dir string, remote *Remote) (*mount, error) {
	for _, m := range f.mounts {
		if m.dir == dir {
			return m, nil
		}
	}
	root, err := confine.Open(dir)
	if err != nil {
		return nil, err
	}
	m := &mount{dir: root.Name(), root: root, remote: remote}
	f.mounts = append(f.mounts, m)
	return m, nil
}

// locate maps name, an absolute path under a mount (or one relative to
// the application's repository root), to its loc.
func (f *fileSystem) locate(name string) (loc, error) {
	if !filepath.IsAbs(name) {
		name = filepath.Join(f.mounts[0].dir, name)
	}
	name = filepath.Clean(name)
	var best *mount
	for _, m := range f.mounts {
		if (name == m.dir || strings.HasPrefix(name, m.dir+string(filepath.Separator))) && (best == nil || len(m.dir) > len(best.dir)) {
			best = m
		}
	}
	if best == nil {
		return loc{}, errOutside
	}
	if name == best.dir {
		return loc{m: best, rel: "."}, nil
	}
	return loc{m: best, rel: filepath.ToSlash(name[len(best.dir)+1:])}, nil
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

// resolve maps name to its loc, recording a refusal.
func (f *fileSystem) resolve(name string) (loc, error) {
	if err := f.budget.Check(f.ctx); err != nil {
		return loc{}, f.fail("", err)
	}
	l, err := f.locate(name)
	if err != nil {
		return loc{}, f.fail(f.display(name), err)
	}
	return l, nil
}

// display names a path outside the mounts relative to the application's
// repository root ("../../etc"), so that messages never show where the
// snapshot is on disk.
func (f *fileSystem) display(name string) string {
	if r, err := filepath.Rel(f.mounts[0].dir, name); err == nil {
		return filepath.ToSlash(r)
	}
	return name
}

// stat describes name, recording refusals.
func (f *fileSystem) stat(name string) (loc, fs.FileInfo, error) {
	l, err := f.resolve(name)
	if err != nil {
		return loc{}, nil, err
	}
	info, err := l.m.root.Stat(l.rel)
	if refused(err) {
		return l, nil, f.fail(l.String(), err)
	}
	return l, info, err
}

// ReadFile reads name (see read). Kustomization files are checked for what
// soll refuses (see check.go) and prepared for kustomize (see
// kustomization); other files are checked for builtin plugin configs.
func (f *fileSystem) ReadFile(name string) ([]byte, error) {
	l, err := f.resolve(name)
	if err != nil {
		return nil, err
	}
	if data, ok := f.built[l.String()]; ok {
		return data, nil
	}
	data, err := f.read(l)
	if err != nil {
		return nil, err
	}
	if isKustomization(l.rel) {
		data, err = f.kustomization(l, data)
	} else if bytes.Contains(data, []byte("builtin")) {
		err = checkPluginConfigs("", data, false)
	}
	if err != nil {
		return nil, f.fail(l.String(), err)
	}
	return data, nil
}

// read reads the file at l through the Budget, or its edited version,
// decrypts it, and measures it for YAML bombs, since kustomize parses most
// files it reads.
func (f *fileSystem) read(l loc) ([]byte, error) {
	file := l.String()
	data, ok := f.edited[file]
	if !ok {
		var err error
		if data, err = f.budget.ReadFile(l.m.root, l.rel); err != nil {
			if refused(err) {
				return nil, f.fail(file, err)
			}
			return nil, &fs.PathError{Op: "read", Path: file, Err: err}
		}
		if f.decrypter != nil {
			if data, _, err = f.decrypter.Decrypt(f.ctx, file, data); err != nil {
				return nil, f.fail(file, fmt.Errorf("decrypt: %w", err))
			}
		}
	}
	if err := manifest.CheckYAML(f.ctx, file, data, f.budget); err != nil {
		return nil, f.fail(file, err)
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
	l, info, err := f.stat(name)
	if err != nil {
		return "", "", err
	}
	if info.IsDir() {
		return filesys.ConfirmedDir(l.abs()), "", nil
	}
	return filesys.ConfirmedDir(loc{m: l.m, rel: path.Dir(l.rel)}.abs()), path.Base(l.rel), nil
}

// ReadDir lists the names in the directory name, counted by the Budget.
func (f *fileSystem) ReadDir(name string) ([]string, error) {
	l, err := f.resolve(name)
	if err != nil {
		return nil, err
	}
	entries, err := f.budget.ReadDir(l.m.root, l.rel)
	if err != nil {
		if refused(err) {
			return nil, f.fail(l.String(), err)
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
