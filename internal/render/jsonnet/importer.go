package jsonnet

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	gojsonnet "github.com/google/go-jsonnet"

	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
)

// importer resolves import, importstr and importbin inside the repository
// snapshot: relative to the importing file, then in each library directory.
// Every file it returns is read through the render's Budget.
//
// It names files by their path relative to the repository root, so that the
// locations go-jsonnet puts in errors and std.thisFile never show where the
// snapshot lives on the host.
//
// It runs in the evaluation's child process, which is killed at the
// render's deadline.
type importer struct {
	root   *confine.Root
	budget *render.Budget
	app    string   // the application directory, clean
	libs   []string // library directories, clean

	// files holds what was read, by path. go-jsonnet requires the same
	// Contents for the same path on every call.
	files map[string]gojsonnet.Contents
	// failed is the first import that failed. Jsonnet cannot catch errors,
	// so it is the cause of the evaluation's failure.
	failed *importError
}

var _ gojsonnet.Importer = (*importer)(nil)

// importError says which import of which file failed.
type importError struct {
	// From is the importing file, relative to the root; "" when the import
	// is in an external variable or top-level argument given as code.
	From string
	// Path is the path as written in the import.
	Path string
	Err  error
}

func (e *importError) Error() string { return fmt.Sprintf("import %q: %v", e.Path, e.Err) }
func (e *importError) Unwrap() error { return e.Err }

// notFoundError says where an import was looked for.
type notFoundError struct{ dirs []string }

func (e notFoundError) Error() string {
	return "not found in " + strings.Join(e.dirs, ", ") + " (imports are relative to the importing file, then to each of jsonnet.libs)"
}

func (notFoundError) Is(target error) bool { return target == fs.ErrNotExist }

func newImporter(root *confine.Root, b *render.Budget, app string, libs []string) *importer {
	return &importer{root: root, budget: b, app: app, libs: libs, files: map[string]gojsonnet.Contents{}}
}

// Import implements gojsonnet.Importer. from is a path this importer
// returned, or a pseudo-name such as "<extvar:name>" for code given in the
// Application, whose imports resolve from the application directory.
func (im *importer) Import(from, imported string) (gojsonnet.Contents, string, error) {
	fromFile := ""
	if _, ok := im.files[from]; ok {
		fromFile = from
	}
	c, foundAt, err := im.find(fromFile, imported)
	if err != nil {
		ie := &importError{From: fromFile, Path: imported, Err: err}
		if im.failed == nil {
			im.failed = ie
		}
		return gojsonnet.Contents{}, "", ie
	}
	return c, foundAt, nil
}

func (im *importer) find(from, imported string) (gojsonnet.Contents, string, error) {
	switch {
	case imported == "":
		return gojsonnet.Contents{}, "", confine.ErrInvalid
	case strings.HasPrefix(imported, "/"):
		return gojsonnet.Contents{}, "", confine.ErrAbsolute
	}
	dir := im.app
	if from != "" {
		dir = path.Dir(from)
	}
	dirs := append([]string{dir}, im.libs...)
	for _, d := range dirs {
		// ".." is how Jsonnet code reaches shared libraries, so it is
		// allowed as long as it stays inside the repository; the root then
		// confines symlinks.
		p := path.Join(d, imported)
		if p == ".." || strings.HasPrefix(p, "../") {
			return gojsonnet.Contents{}, "", confine.ErrParent
		}
		if c, ok := im.files[p]; ok {
			return c, p, nil
		}
		data, err := im.budget.ReadFile(im.root, p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return gojsonnet.Contents{}, "", err
		}
		c := gojsonnet.MakeContentsRaw(data)
		im.files[p] = c
		return c, p, nil
	}
	return gojsonnet.Contents{}, "", notFoundError{dirs: dirs}
}

// known tells whether name is a file this importer read.
func (im *importer) known(name string) bool {
	_, ok := im.files[name]
	return ok
}
