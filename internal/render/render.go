package render

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/source"
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

	// Tool names the renderer to use; "" means Detect decides from the
	// files in Path (Mux does this).
	Tool Tool `json:",omitempty"`

	// Kustomize, Helm, Jsonnet and Plugin hold the options of their tools,
	// read only by that tool's renderer. Paths in them (value files,
	// patches, library directories) are relative and go through
	// confine.Path like Path does.
	Kustomize *sollv1.KustomizeSource `json:",omitempty"`
	Helm      *sollv1.HelmSource      `json:",omitempty"`
	Jsonnet   *sollv1.JsonnetSource   `json:",omitempty"`
	Plugin    *sollv1.PluginSource    `json:",omitempty"`

	// Chart names a Helm chart in a chart repository or an OCI registry.
	// When set, Root and Path are empty and the Helm renderer fetches the
	// chart itself.
	Chart *ChartRef `json:",omitempty"`

	// Refs maps the ref names of an application's other sources to the
	// roots of their snapshots, so that "$name/path" in Helm value files
	// reads path from that source. Each root is confined like Root.
	Refs map[string]string `json:",omitempty"`

	// Remotes maps the remote bases that kustomizations name, by
	// kustomize.Remote.Key (repository and revision), to the roots of
	// snapshots of them that the caller fetched beforehand (see
	// kustomize.Resolver). The Kustomize renderer never fetches: a remote
	// base missing here fails the render. Each root is confined like Root.
	// The roots name commits, so a base's new revision is a new request.
	Remotes map[string]string `json:",omitempty"`

	// ChartCredentials holds the credentials of the chart repositories that
	// kustomizations' helmCharts name, by repository URL. They redact
	// themselves when printed and are not part of the request's identity.
	ChartCredentials map[string]source.Credentials `json:"-"`

	// Config identifies operator configuration the render depends on
	// beyond the request (a plugin's definition), so that cached results
	// are not reused after it changes.
	Config string `json:",omitempty"`

	// App describes the application the render is for: plugins see it in
	// their environment, Helm uses it for the release and capabilities.
	App AppInfo

	// Decrypter, when set, decrypts SOPS-encrypted files as renderers read
	// them (plain manifests, kustomize generator inputs). Plaintext stays in
	// memory: renderers never write it to disk, log it or quote it in errors.
	// It is not part of the request's identity (see Cache): Keys is.
	Decrypter Decrypter `json:"-"`

	// SourceRepos, when not nil, are the sourceRepos patterns of the
	// application's Project (App.Project): a repository that a render
	// fetches from on its own, such as the repository of a Helm chart's
	// dependency, must match them as the application's sources do (see
	// project.CheckRepoPatterns). They are part of the request's identity,
	// so that a render is not reused after the patterns change.
	SourceRepos []string

	// Keys identifies the keys of Decrypter and whom they serve (for
	// example a digest of the Secrets they come from and the Project they
	// are scoped to). It is part of the request's identity, so that a
	// cached render is never served to a request with other keys.
	Keys string `json:",omitempty"`
}

// AppInfo describes the application a render is for.
type AppInfo struct {
	// Name and Namespace identify the Application object.
	Name      string `json:",omitempty"`
	Namespace string `json:",omitempty"`
	// Project is the Application's project.
	Project string `json:",omitempty"`
	// Revision is the commit being rendered (or the chart version).
	Revision string `json:",omitempty"`
	// DestinationNamespace is the namespace the application deploys to.
	DestinationNamespace string `json:",omitempty"`
	// KubeVersion is the destination cluster's version, for example
	// "v1.37.2"; empty means the renderer's default.
	KubeVersion string `json:",omitempty"`
	// APIVersions are the group/versions ("apps/v1") and
	// group/version/Kinds ("apps/v1/Deployment") the destination serves.
	APIVersions []string `json:",omitempty"`
}

// ChartRef names a chart in a Helm chart repository (https://) or an OCI
// registry (oci://).
type ChartRef struct {
	// RepoURL is the repository or registry URL.
	RepoURL string
	// Chart is the chart name.
	Chart string
	// Version is a version or a semver range; empty means the latest.
	Version string
	// Credentials authenticate to the repository. They redact themselves
	// when printed and are not part of the request's identity.
	Credentials source.Credentials `json:"-"`
}

// Decrypter decrypts files encrypted with SOPS.
type Decrypter interface {
	// Decrypt returns the plaintext of data, the content of the file at
	// path (relative to the repository root, for errors), with encrypted
	// reports whether data was SOPS-encrypted at all; a file that is not is
	// returned unchanged. Errors name path and never include content.
	Decrypt(ctx context.Context, path string, data []byte) (plain []byte, encrypted bool, err error)
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

	// Revision is what a chart reference resolved to: the exact chart
	// version rendered. Empty for sources in Git, whose revision the source
	// layer resolves.
	Revision string `json:",omitempty"`

	// Decrypted, when the render decrypted SOPS files, says which and what
	// came out of them (see Mux). It holds plaintext: it is never
	// serialised, logged or shown.
	Decrypted *Decrypted `json:"-"`
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
