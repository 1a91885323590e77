package kustomize

import (
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
	kyaml "sigs.k8s.io/yaml"

	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
	"soll.dev/internal/render/manifest"
)

// The defaults of a Resolver's limits.
const (
	DefaultMaxRemotes     = 10
	DefaultMaxRemoteDepth = 3
)

// Resolver finds what an application's kustomizations need from outside
// its repository, before the render: the remote bases, which it has
// fetched, and the chart repositories of helmCharts, which the caller
// checks and finds credentials for. It reads the kustomizations the build
// will read (the application's, its local bases', its remote bases'),
// through the same confinement and limits as the render; what it cannot
// read or parse it leaves to the render to report.
type Resolver struct {
	// Fetch returns the root of a snapshot of the remote base's repository
	// at its revision, fetched with the credentials and checks of the
	// application's own sources. Nil means remote bases are not fetched:
	// the render then refuses them.
	Fetch func(ctx context.Context, remote Remote) (dir string, err error)
	// MaxRemotes bounds the distinct remote repositories and revisions
	// of one application; 0 means DefaultMaxRemotes.
	MaxRemotes int
	// MaxDepth bounds the nesting of remote bases: 1 allows remote bases
	// named by the application's repository only, 2 also their own remote
	// bases, and so on; 0 means DefaultMaxRemoteDepth.
	MaxDepth int
	// Limits bound the kustomization files read.
	Limits render.Limits
}

// Resolved is what Resolve found.
type Resolved struct {
	// Remotes maps Remote.Key to the root of the fetched snapshot, for
	// render.Request.Remotes; nil when there are none.
	Remotes map[string]string
	// ChartRepos are the chart repositories named by helmCharts, sorted.
	ChartRepos []string
}

// kdir is a directory that may hold a kustomization: rel in the snapshot
// root dir, reached through depth remote bases.
type kdir struct {
	dir    string
	rel    string
	depth  int
	remote *Remote // the remote base dir belongs to; nil for the application's repository
}

// Resolve walks the kustomizations of the application req names.
func (r *Resolver) Resolve(ctx context.Context, req render.Request) (*Resolved, error) {
	app, err := confine.Path(req.Path)
	if err != nil {
		return nil, &render.Error{File: req.Path, Err: fmt.Errorf("application path: %w", err)}
	}
	w := &walker{
		ctx: ctx, r: r, budget: render.NewBudget(r.Limits),
		maxRemotes: withDefault(r.MaxRemotes, DefaultMaxRemotes), maxDepth: withDefault(r.MaxDepth, DefaultMaxRemoteDepth),
		roots: map[string]*confine.Root{}, seen: map[kdir]bool{}, repos: map[string]bool{},
		out: &Resolved{},
	}
	defer w.close()
	queue := []kdir{{dir: req.Root, rel: app}}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		more, err := w.visit(d)
		if err != nil {
			return nil, err
		}
		queue = append(queue, more...)
	}
	w.out.ChartRepos = slices.Sorted(maps.Keys(w.repos))
	return w.out, nil
}

func withDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

// walker is the state of one Resolve.
type walker struct {
	ctx        context.Context
	r          *Resolver
	budget     *render.Budget
	maxRemotes int
	maxDepth   int
	roots      map[string]*confine.Root // by directory
	seen       map[kdir]bool
	repos      map[string]bool
	out        *Resolved
}

func (w *walker) close() {
	for _, r := range w.roots {
		r.Close()
	}
}

// visit reads the kustomization in d, fetches its remote bases, and
// returns the directories to visit next: its local and remote bases.
func (w *walker) visit(d kdir) ([]kdir, error) {
	key := kdir{dir: d.dir, rel: d.rel}
	if w.seen[key] {
		return nil, nil
	}
	w.seen[key] = true
	if err := w.budget.Check(w.ctx); err != nil {
		return nil, &render.Error{File: display(d.remote, d.rel), Err: err}
	}
	root, err := w.root(d.dir)
	if err != nil {
		return nil, err
	}
	kfile, err := findKustomization(root, d.rel)
	if err != nil {
		return nil, nil // not a kustomization: the build reports what it must
	}
	file := display(d.remote, kfile)
	data, err := w.budget.ReadFile(root, kfile)
	if err != nil {
		return nil, &render.Error{File: file, Err: err}
	}
	if err := manifest.CheckYAML(w.ctx, file, data, w.budget); err != nil {
		return nil, err
	}
	var k types.Kustomization
	if kyaml.Unmarshal(data, &k) != nil {
		return nil, nil // the build reports it
	}
	for _, c := range k.HelmCharts {
		if c.Repo != "" {
			w.repos[c.Repo] = true
		}
	}
	var next []kdir
	for _, f := range []struct {
		name    string
		entries []string
	}{{"resources", k.Resources}, {"bases", k.Bases}, {"components", k.Components}} {
		for _, e := range f.entries {
			if !isRemote(e) {
				p := path.Join(d.rel, e)
				if strings.HasPrefix(e, "/") || escapes(p) {
					continue // refused by the build
				}
				if info, err := root.Stat(p); err == nil && info.IsDir() {
					next = append(next, kdir{dir: d.dir, rel: p, depth: d.depth, remote: d.remote})
				}
				continue
			}
			rd, err := w.remote(e, d.depth+1)
			if err != nil {
				return nil, &render.Error{File: file, Err: &fieldError{field: f.name, entry: redact(e), err: err}}
			}
			if rd != nil {
				next = append(next, *rd)
			}
		}
	}
	return next, nil
}

// remote fetches the remote base entry, met depth remote bases deep, and
// returns its directory; nil when remote bases are not fetched or entry is
// not one (the build refuses it).
func (w *walker) remote(entry string, depth int) (*kdir, error) {
	if w.r.Fetch == nil {
		return nil, nil
	}
	rem, err := ParseRemote(entry)
	if err != nil {
		return nil, nil
	}
	if depth > w.maxDepth {
		return nil, fmt.Errorf("remote bases are nested %d deep, more than the limit of %d: copy the inner ones into their repositories", depth, w.maxDepth)
	}
	if w.out.Remotes == nil {
		w.out.Remotes = map[string]string{}
	}
	dir, ok := w.out.Remotes[rem.Key()]
	if !ok {
		if len(w.out.Remotes) >= w.maxRemotes {
			return nil, fmt.Errorf("more than %d remote repositories and revisions, the limit per application: copy bases into the repository or use fewer revisions", w.maxRemotes)
		}
		if dir, err = w.r.Fetch(w.ctx, rem); err != nil {
			return nil, err
		}
		w.out.Remotes[rem.Key()] = dir
	}
	return &kdir{dir: dir, rel: rem.Path, depth: depth, remote: &rem}, nil
}

// root opens the snapshot root dir, once.
func (w *walker) root(dir string) (*confine.Root, error) {
	if r, ok := w.roots[dir]; ok {
		return r, nil
	}
	r, err := confine.Open(dir)
	if err != nil {
		return nil, &render.Error{Err: err}
	}
	w.roots[dir] = r
	return r, nil
}

// display names rel, a path in the snapshot of remote (nil: the
// application's repository), in errors: repository-relative for the
// application's repository, as a remote base URL otherwise
// ("https://git.example.com/base.git//deploy/kustomization.yaml?ref=v1").
func display(remote *Remote, rel string) string {
	if remote == nil {
		return rel
	}
	return Remote{RepoURL: remote.RepoURL, Path: rel, Ref: remote.Ref}.String()
}
