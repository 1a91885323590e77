package git

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"soll.dev/internal/source"
)

const (
	// maxTreeDepth bounds directory nesting, against crafted trees.
	maxTreeDepth = 256
	// maxSymlinkTarget is PATH_MAX on Linux.
	maxSymlinkTarget = 4096
)

// materialise writes the tree of commit into dst, atomically: it is built in
// a temporary directory and renamed into place, so a snapshot directory that
// exists is complete. Files lose their write bits (0444, or 0555 when
// executable), directories too (0555). Symbolic links are written as links
// and never followed while writing; all writes go through an os.Root, so a
// crafted tree cannot write outside the snapshot.
func (f *Fetcher) materialise(a *access, repo *gogit.Repository, commit *object.Commit, dst string) (err error) {
	tmp, err := os.MkdirTemp(f.tmpDir, "snapshot-")
	if err != nil {
		return fmt.Errorf("create snapshot: %w", err)
	}
	defer func() {
		if tmp != "" {
			_ = removeTree(tmp)
		}
	}()
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return fmt.Errorf("create snapshot: %w", err)
	}
	defer root.Close()
	tree, err := commit.Tree()
	if err != nil {
		return fmt.Errorf("read tree of commit %s in %s: %w", commit.Hash, a.ep.display, err)
	}
	w := &treeWriter{
		root:     root,
		objects:  repo.Storer,
		maxBytes: f.maxBytes,
		maxFiles: f.maxFiles,
		repo:     a.ep.display,
	}
	if err := w.writeTree(tree, "", 0); err != nil {
		return err
	}
	// Deepest first, so no directory loses its write bit before its
	// children are done.
	for _, d := range slices.Backward(w.dirs) {
		if err := root.Chmod(d, 0o555); err != nil {
			return fmt.Errorf("create snapshot: %w", err)
		}
	}
	if err := root.Close(); err != nil {
		return fmt.Errorf("create snapshot: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		if _, serr := os.Lstat(dst); serr == nil {
			return nil // written meanwhile for another repository with this commit
		}
		return fmt.Errorf("create snapshot: %w", err)
	}
	tmp = ""
	// Only now: moving a directory to another parent needs write
	// permission on it.
	if err := os.Chmod(dst, 0o555); err != nil {
		return fmt.Errorf("create snapshot: %w", err)
	}
	return nil
}

type treeWriter struct {
	root     *os.Root
	objects  storer.EncodedObjectStorer
	maxBytes int64
	maxFiles int
	repo     string // for messages; the caller names the commit

	bytes int64
	files int
	dirs  []string
}

func (w *treeWriter) fail(format string, args ...any) error {
	return fmt.Errorf("snapshot of %s: %s", w.repo, fmt.Sprintf(format, args...))
}

func (w *treeWriter) limit(format string, args ...any) error {
	return &opError{
		msg:  fmt.Sprintf("snapshot of %s: ", w.repo) + fmt.Sprintf(format, args...),
		kind: source.ErrLimitExceeded,
	}
}

func (w *treeWriter) writeTree(t *object.Tree, dir string, depth int) error {
	if depth > maxTreeDepth {
		return w.limit("directories are nested deeper than %d levels", maxTreeDepth)
	}
	for _, e := range t.Entries {
		if !validName(e.Name) {
			return w.fail("invalid path %q in directory %q", e.Name, dir)
		}
		name := path.Join(dir, e.Name)
		if w.files++; w.files > w.maxFiles {
			return w.limit("more than %d files and directories (limit MaxRepoFiles)", w.maxFiles)
		}
		var err error
		switch e.Mode {
		case filemode.Dir:
			var sub *object.Tree
			if sub, err = object.GetTree(w.objects, e.Hash); err != nil {
				return w.fail("read directory %s: %v", name, err)
			}
			if err = w.root.Mkdir(name, 0o755); err == nil {
				w.dirs = append(w.dirs, name)
				err = w.writeTree(sub, name, depth+1)
			}
		case filemode.Regular, filemode.Deprecated:
			err = w.writeFile(name, e.Hash, 0o444)
		case filemode.Executable:
			err = w.writeFile(name, e.Hash, 0o555)
		case filemode.Symlink:
			err = w.writeSymlink(name, e.Hash)
		case filemode.Submodule:
			// Submodules are not fetched; like git without
			// --recurse-submodules, leave an empty directory.
			if err = w.root.Mkdir(name, 0o755); err == nil {
				w.dirs = append(w.dirs, name)
			}
		default:
			return w.fail("unsupported file mode %s of %s", e.Mode, name)
		}
		if err != nil {
			var oe *opError
			if errors.As(err, &oe) {
				return err
			}
			return w.fail("write %s: %v", name, err)
		}
	}
	return nil
}

func (w *treeWriter) blob(name string, h plumbing.Hash) (*object.Blob, error) {
	b, err := object.GetBlob(w.objects, h)
	if err != nil {
		return nil, w.fail("read %s: %v", name, err)
	}
	if w.bytes += b.Size; w.bytes > w.maxBytes {
		return nil, w.limit("larger than %d bytes (limit MaxRepoBytes)", w.maxBytes)
	}
	return b, nil
}

func (w *treeWriter) writeFile(name string, h plumbing.Hash, mode os.FileMode) error {
	b, err := w.blob(name, h)
	if err != nil {
		return err
	}
	r, err := b.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	// O_EXCL: a crafted tree with a name twice must not overwrite.
	out, err := w.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, io.LimitReader(r, b.Size))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

func (w *treeWriter) writeSymlink(name string, h plumbing.Hash) error {
	b, err := w.blob(name, h)
	if err != nil {
		return err
	}
	if b.Size > maxSymlinkTarget {
		return w.fail("symbolic link %s: target longer than %d bytes", name, maxSymlinkTarget)
	}
	r, err := b.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	target, err := io.ReadAll(io.LimitReader(r, maxSymlinkTarget))
	if err != nil {
		return err
	}
	if len(target) == 0 || strings.IndexByte(string(target), 0) >= 0 {
		return w.fail("symbolic link %s: invalid target", name)
	}
	// The target is stored as is, even when it points outside the
	// snapshot: judging it is the reader's job (render confinement).
	return w.root.Symlink(string(target), name)
}

// validName accepts one path element that git itself would check out.
func validName(name string) bool {
	switch {
	case name == "", name == ".", name == "..", strings.EqualFold(name, ".git"):
		return false
	case strings.ContainsAny(name, "/\x00"):
		return false
	}
	return true
}

// removeTree removes dir even when it holds read-only directories, as
// snapshots do.
func removeTree(dir string) error {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			return os.Chmod(p, 0o700)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.RemoveAll(dir)
}
