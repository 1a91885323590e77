package render

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Renderer produces the desired objects of one application.
//
// Implementations read nothing outside req.Root (see package confine), respect
// their Limits and ctx, and return either all objects or an error and no
// objects. Render may be called concurrently for different requests.
type Renderer interface {
	Render(ctx context.Context, req Request) (*Result, error)
}

// Request says what to render.
type Request struct {
	// Root is the absolute path of the repository snapshot at one commit, as
	// checked out by the source layer. Renderers only read it; nothing outside
	// it is ever read.
	Root string

	// Path is the application's directory inside Root: relative,
	// slash-separated, without "..". "" and "." mean Root itself.
	Path string

	// Directory holds the options of the plain-manifest renderer
	// (render/directory). Nil means the defaults.
	Directory *DirectoryOptions

	// Each later tool adds its own options field here, read only by its
	// renderer: Kustomize *KustomizeOptions, Helm *HelmOptions (value files
	// are paths and go through confine.Path like Path does), Jsonnet
	// *JsonnetOptions and Plugin *PluginOptions.
}

// DirectoryOptions configure the rendering of a directory of plain YAML and
// JSON manifests.
//
// Include and Exclude hold glob patterns matched against a file's path
// relative to the application path, slash-separated (for example
// "base/deploy.yaml"):
//
//   - "*" matches any run of characters except "/", "?" one such character,
//     "[a-z]" a character class (see path.Match), "{a,b}" either alternative,
//     and a "**" element any number of directories, including none
//     ("**/*.yaml");
//   - a pattern without "/" is matched against the file's name alone, at any
//     depth, so "*.yaml" and "{deploy,svc}.yaml" work with Recurse too;
//     a pattern with "/" is matched against the whole relative path;
//   - patterns are relative: a leading "/" or a ".." element is an error.
//
// A file is read when its name ends in .yaml, .yml or .json, it matches one of
// Include (or Include is empty) and it matches none of Exclude. Exclude
// patterns also apply to directories: an excluded directory is not walked at
// all. Names that start with "." (.git, .github, .gitlab-ci.yml) are always
// skipped: they hold tooling, not manifests.
type DirectoryOptions struct {
	// Recurse walks subdirectories of the application path too. Without it,
	// only the files directly in the application path are read.
	Recurse bool

	// Include lists the patterns a file must match one of; empty means all
	// manifest files.
	Include []string

	// Exclude lists the patterns of files and directories to skip. Exclude
	// wins over Include.
	Exclude []string
}

// Result is the outcome of a successful render.
type Result struct {
	// Objects are in a deterministic order: files sorted by path, documents
	// in file order, the items of a List in list order.
	Objects []Object
}

// Object is one rendered Kubernetes object and where it came from.
type Object struct {
	// Unstructured is the object. Each Object owns its map: nothing is shared
	// between objects, even when YAML aliases repeat content.
	Unstructured *unstructured.Unstructured

	// Origin says where in the repository the object was written.
	Origin Origin
}

// Origin locates an object in its source.
type Origin struct {
	// File is the path of the source file relative to the repository root,
	// slash-separated. For files reached through a symlink it is the path of
	// the link, as walked, not of its target.
	File string

	// Line is the 1-based line where the object starts in File: its first
	// key (not the "---" separator), or for an item of a List, where the item
	// starts. 0 when unknown.
	Line int

	// Document is the 0-based index of the YAML document in File. Empty
	// documents count; a "---" on the first line does not open an extra one.
	// JSON files hold one document.
	Document int

	// Item is the 0-based position of the object in the List it was expanded
	// from (kind List or *List), or -1 when the document is the object itself.
	Item int
}

// String formats the origin as file:line, the way editors and errors do.
func (o Origin) String() string {
	if o.Line <= 0 {
		return o.File
	}
	return fmt.Sprintf("%s:%d", o.File, o.Line)
}
