package confine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Root gives read access to the files under one directory and nothing else.
// Names passed to its methods are checked with Path first.
type Root struct {
	root *os.Root
}

// Open opens the directory dir, an absolute path, as a Root.
func Open(dir string) (*Root, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("open repository root %q: not an absolute path", dir)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open repository root: %w", err)
	}
	return &Root{root: r}, nil
}

// Close releases the root directory.
func (r *Root) Close() error { return r.root.Close() }

// Name returns the directory the Root was opened with.
func (r *Root) Name() string { return r.root.Name() }

// FS returns the root as an fs.FS, for libraries that read through one. It
// follows the same rules as the methods of Root.
func (r *Root) FS() fs.FS { return r.root.FS() }

// Stat describes name, following symlinks that stay inside the root.
func (r *Root) Stat(name string) (fs.FileInfo, error) {
	name, err := Path(name)
	if err != nil {
		return nil, err
	}
	info, err := r.root.Stat(name)
	return info, classify(err)
}

// Lstat describes name without following a final symlink.
func (r *Root) Lstat(name string) (fs.FileInfo, error) {
	name, err := Path(name)
	if err != nil {
		return nil, err
	}
	info, err := r.root.Lstat(name)
	return info, classify(err)
}

// ReadDir lists the directory name sorted by file name, reading at most n
// entries when n > 0 (so that a caller with a budget of n-1 entries can tell
// that a directory holds more). Entries are not resolved: a symlink is
// reported as one, and Stat resolves it.
func (r *Root) ReadDir(name string, n int) ([]fs.DirEntry, error) {
	name, err := Path(name)
	if err != nil {
		return nil, err
	}
	f, err := r.root.Open(name)
	if err != nil {
		return nil, classify(err)
	}
	defer f.Close() //nolint:errcheck // opened for reading: closing loses nothing
	var entries []fs.DirEntry
	for n <= 0 || len(entries) < n {
		batch := 256
		if n > 0 {
			batch = min(batch, n-len(entries))
		}
		more, err := f.ReadDir(batch)
		entries = append(entries, more...)
		if errors.Is(err, io.EOF) || (err == nil && len(more) == 0) {
			break
		}
		if err != nil {
			return nil, classify(err)
		}
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, nil
}

// OpenFile opens the regular file name for reading, following symlinks that
// stay inside the root, and returns it with its description. It refuses
// devices, pipes and sockets without blocking on them.
func (r *Root) OpenFile(name string) (*os.File, fs.FileInfo, error) {
	name, err := Path(name)
	if err != nil {
		return nil, nil, err
	}
	if name == "." {
		return nil, nil, ErrInvalid
	}
	// The mode is checked on the open file (see openFlags), so nothing can
	// be swapped in between the check and the read.
	f, err := r.root.OpenFile(name, openFlags, 0)
	if err != nil {
		return nil, nil, classify(err)
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close() // opened for reading: closing loses nothing
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		_ = f.Close() // opened for reading: closing loses nothing
		if info.IsDir() {
			return nil, nil, fmt.Errorf("is a directory: %w", ErrNotRegular)
		}
		return nil, nil, ErrNotRegular
	}
	return f, info, nil
}

// classify maps os.Root's errors to the sentinels. The path is dropped:
// callers name it themselves.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, syscall.ELOOP):
		return ErrLoop
	case err.Error() == errEscapeText:
		// os.Root does not export this error. Names have been through Path,
		// so only a symlink can have led outside. TestRootSymlinks fails if a
		// Go release changes the text.
		return ErrEscape
	}
	return err
}

// errEscapeText is the text of os.Root's unexported errPathEscapes.
const errEscapeText = "path escapes from parent"
