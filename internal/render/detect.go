package render

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"soll.dev/internal/render/confine"
)

// Tool names the kind of source an application directory holds, and so the
// renderer that renders it. The values match Argo CD's source types.
type Tool string

// The tools. Detect never returns ToolPlugin: plugins are chosen explicitly.
const (
	ToolDirectory Tool = "Directory"
	ToolKustomize Tool = "Kustomize"
	ToolHelm      Tool = "Helm"
	ToolJsonnet   Tool = "Jsonnet"
	ToolPlugin    Tool = "Plugin"
)

// kustomizationNames are the file names kustomize accepts for its entry point.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// Detect tells which tool renders the application at path (see Request.Path)
// in the repository snapshot root, from the names of the files directly in
// it, first match wins:
//
//  1. a kustomization file (kustomization.yaml, kustomization.yml or
//     Kustomization): ToolKustomize, also when a Chart.yaml sits next to it,
//     since kustomize is then the entry point that may inflate the chart;
//  2. Chart.yaml: ToolHelm;
//  3. any *.jsonnet file: ToolJsonnet;
//  4. otherwise ToolDirectory.
//
// Detect reads no file contents; it applies the same confinement as the
// renderers to path, so it fails where they would on an escaping path.
func Detect(root, path string) (Tool, error) {
	r, app, err := OpenApp(Request{Root: root, Path: path})
	if err != nil {
		return "", err
	}
	defer r.Close()
	entries, err := NewBudget(Limits{}).ReadDir(r, app)
	if err != nil {
		return "", &Error{File: app, Err: err}
	}
	names := make(map[string]bool, len(entries))
	jsonnet := false
	for _, e := range entries {
		names[e.Name()] = true
		if strings.HasSuffix(e.Name(), ".jsonnet") && !e.IsDir() {
			jsonnet = true
		}
	}
	for _, n := range kustomizationNames {
		if names[n] {
			return ToolKustomize, nil
		}
	}
	switch {
	case names["Chart.yaml"]:
		return ToolHelm, nil
	case jsonnet:
		return ToolJsonnet, nil
	}
	return ToolDirectory, nil
}

// OpenApp confines req's application path, opens the snapshot root and
// checks that the path is a directory in it: the first steps of every
// renderer that reads files. The caller closes root.
func OpenApp(req Request) (root *confine.Root, app string, err error) {
	app, err = confine.Path(req.Path)
	if err != nil {
		return nil, "", &Error{File: req.Path, Err: fmt.Errorf("application path: %w", err)}
	}
	root, err = confine.Open(req.Root)
	if err != nil {
		return nil, "", &Error{Err: err}
	}
	if err := CheckAppDir(root, app); err != nil {
		root.Close()
		return nil, "", err
	}
	return root, app, nil
}

// CheckAppDir checks that the application path app, already cleaned by
// confine.Path, is a directory inside r (following symlinks that stay
// inside). Its errors are *Error values naming app.
func CheckAppDir(r *confine.Root, app string) error {
	info, err := r.Stat(app)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &Error{File: app, Err: missingError{}}
	case err != nil:
		return &Error{File: app, Err: fmt.Errorf("application path: %w", err)}
	case !info.IsDir():
		return &Error{File: app, Err: errors.New("application path is not a directory")}
	}
	return nil
}

// missingError says that the application path does not exist, in words for
// users, and matches fs.ErrNotExist.
type missingError struct{}

func (missingError) Error() string {
	return "application path does not exist in the repository at this revision"
}

func (missingError) Is(target error) bool { return target == fs.ErrNotExist }
