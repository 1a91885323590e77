package helm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
	"soll.dev/internal/render/manifest"
)

// Renderer renders Helm charts in process, the way `helm template` does,
// without access to a cluster. The zero value is ready to use, with the
// default limits. A Renderer caches the chart archives it downloads; share
// one Renderer to share the cache.
type Renderer struct {
	// Limits bound every render; zero fields take their defaults. Chart
	// files count against MaxTotalBytes and MaxFiles whether they come from
	// the repository or from archives (decompressed); each rendered
	// template is bounded by MaxFileBytes and all of them by MaxTotalBytes.
	Limits render.Limits

	// MaxIndexBytes bounds a repository's index.yaml, MaxChartBytes a
	// downloaded chart archive (compressed). Zero means the defaults.
	MaxIndexBytes int64
	MaxChartBytes int64
	// FetchTimeout bounds each request to a chart repository or registry,
	// within the render's Timeout. Zero means DefaultFetchTimeout.
	FetchTimeout time.Duration
	// MaxCacheBytes bounds the memory of the downloaded-chart cache. Zero
	// means DefaultMaxCacheBytes.
	MaxCacheBytes int64

	cacheOnce sync.Once
	cache     *chartCache
}

var _ render.Renderer = (*Renderer)(nil)

// Render renders the chart req names: req.Chart from a repository, or the
// chart directory req.Path in req.Root, with the options in req.Helm.
func (r *Renderer) Render(ctx context.Context, req render.Request) (*render.Result, error) {
	ctx, cancel := render.WithTimeout(ctx, r.Limits)
	defer cancel()
	budget := render.NewBudget(r.Limits)
	if err := budget.Check(ctx); err != nil {
		return nil, &render.Error{Err: err}
	}
	objs, err := r.render(ctx, req, budget)
	if err != nil {
		return nil, scrub(err, req)
	}
	return &render.Result{Objects: objs}, nil
}

// rendering is the state of one render.
type rendering struct {
	req     render.Request
	helm    *sollv1.HelmSource
	budget  *render.Budget
	fetcher *fetcher
	files   *files
	root    *confine.Root // nil for a chart from a repository
	app     string        // the chart's directory in root
	// dirs are the repository directories of the charts read from the
	// repository, for their file:// dependencies.
	dirs map[*chart.Chart]string
}

func (r *Renderer) render(ctx context.Context, req render.Request, budget *render.Budget) ([]render.Object, error) {
	r.cacheOnce.Do(func() {
		r.cache = &chartCache{max: orDefault(r.MaxCacheBytes, DefaultMaxCacheBytes)}
	})
	st := &rendering{
		req:    req,
		helm:   req.Helm,
		budget: budget,
		fetcher: &fetcher{
			ctx:           ctx,
			maxIndexBytes: orDefault(r.MaxIndexBytes, DefaultMaxIndexBytes),
			maxChartBytes: orDefault(r.MaxChartBytes, DefaultMaxChartBytes),
			timeout:       orDefault(r.FetchTimeout, DefaultFetchTimeout),
			cache:         r.cache,
		},
		files: &files{limits: budget.Limits()},
		dirs:  map[*chart.Chart]string{},
	}
	if st.helm == nil {
		st.helm = &sollv1.HelmSource{}
	}
	vs := &valueSource{budget: budget, refs: req.Refs}
	defer vs.close()

	var ch *chart.Chart
	if req.Chart != nil {
		var err error
		if ch, vs.chartFiles, err = st.fetchRoot(); err != nil {
			return nil, err
		}
	} else {
		app, err := confine.Path(req.Path)
		if err != nil {
			return nil, &render.Error{File: req.Path, Err: fmt.Errorf("application path: %w", err)}
		}
		if st.root, err = confine.Open(req.Root); err != nil {
			return nil, &render.Error{Err: err}
		}
		defer st.root.Close()
		if ch, err = st.loadDir(ctx, app, 0); err != nil {
			return nil, err
		}
		vs.root, vs.app = st.root, app
		st.app = app
	}
	if err := st.resolveDependencies(ctx, ch, 0); err != nil {
		return nil, err
	}
	vals, err := vs.values(st.helm)
	if err != nil {
		return nil, err
	}
	if err := budget.Check(ctx); err != nil {
		return nil, &render.Error{Err: err}
	}
	return st.renderChart(ctx, ch, vals)
}

// fetchRoot downloads the chart of req.Chart and returns it with its own
// files by name, which relative value files name.
func (st *rendering) fetchRoot() (*chart.Chart, map[string][]byte, error) {
	ref := st.req.Chart
	data, version, err := st.fetcher.fetch(chartSource{
		repoURL: ref.RepoURL, name: ref.Chart, version: ref.Version,
		creds: ref.Credentials, passCredentials: st.helm.PassCredentials,
	})
	if err != nil {
		return nil, nil, &render.Error{Err: fmt.Errorf("fetch chart %s from %s: %w", ref.Chart, redactURL(ref.RepoURL), err)}
	}
	bf, err := st.files.readArchive(data)
	if err != nil {
		return nil, nil, &render.Error{File: ref.Chart, Err: fmt.Errorf("chart %s %s: %w", ref.Chart, version, err)}
	}
	ch, err := st.files.load(bf, 0)
	if err != nil {
		return nil, nil, &render.Error{File: ref.Chart, Err: fmt.Errorf("load chart %s %s: %w", ref.Chart, version, err)}
	}
	own := map[string][]byte{}
	for _, f := range bf {
		own[f.Name] = f.Data
	}
	return ch, own, nil
}

// loadDir loads the chart in the repository directory dir.
func (st *rendering) loadDir(ctx context.Context, dir string, depth int) (*chart.Chart, error) {
	if err := render.CheckAppDir(st.root, dir); err != nil {
		return nil, err
	}
	chartFile := path.Join(dir, "Chart.yaml")
	if _, err := st.root.Stat(chartFile); errors.Is(err, fs.ErrNotExist) {
		return nil, &render.Error{File: dir, Err: errors.New("no Chart.yaml in the chart directory")}
	} else if err != nil {
		return nil, &render.Error{File: chartFile, Err: err}
	}
	bf, err := (&dirReader{ctx: ctx, root: st.root, budget: st.budget}).read(dir)
	if err != nil {
		return nil, err
	}
	ch, err := st.files.load(bf, depth)
	if err != nil {
		return nil, &render.Error{File: dir, Err: fmt.Errorf("load chart: %s", manifest.Sanitize(err.Error()))}
	}
	st.dirs[ch] = dir
	return ch, nil
}

// renderChart renders ch with the user's values vals into objects: the
// CRDs of crds/ first (unless skipCrds), then the rendered templates sorted
// by template path, each in document order, without NOTES.txt, empty
// documents and test hooks. The templates run in a child process (see
// renderInChild); the objects are decoded here, within the render's
// budget.
func (st *rendering) renderChart(ctx context.Context, ch *chart.Chart, vals map[string]any) ([]render.Object, error) {
	rel, err := st.release()
	if err != nil {
		return nil, err
	}
	wv, err := toWireValue(vals)
	if err != nil {
		return nil, &render.Error{Err: fmt.Errorf("helm values: %w", err)}
	}
	req := childRequest{
		Chart:    st.files.tree(ch),
		Values:   wv,
		Release:  rel,
		SkipCRDs: st.helm.SkipCrds,
		Dir:      st.app,
		FromDir:  st.req.Chart == nil,
		Limits:   st.budget.Limits(),
	}
	label := st.app
	if st.req.Chart != nil {
		label = st.req.Chart.Chart
	}
	resp, err := renderInChild(ctx, req, label)
	if err != nil {
		return nil, err
	}

	var objs []render.Object
	for _, crd := range resp.CRDs {
		more, err := manifest.Decode(ctx, crd.File, []byte(crd.Data), st.budget)
		if err != nil {
			return nil, err
		}
		objs = append(objs, more...)
	}
	for _, t := range resp.Templates {
		if err := st.budget.Check(ctx); err != nil {
			return nil, &render.Error{File: t.File, Err: err}
		}
		// Rendered templates are YAML whatever their extension, as in helm.
		more, err := manifest.DecodeYAML(ctx, t.File, []byte(t.Data), st.budget)
		if err != nil {
			return nil, err
		}
		for _, o := range more {
			if !isTestHook(o.Unstructured.GetAnnotations()) {
				objs = append(objs, o)
			}
		}
	}
	return objs, nil
}

// release returns the release the chart is rendered for, checked.
func (st *rendering) release() (releaseSpec, error) {
	h, app := st.helm, st.req.App
	rel := releaseSpec{
		Name:        cmpOr(h.ReleaseName, app.Name),
		Namespace:   cmpOr(h.Namespace, app.DestinationNamespace, "default"),
		KubeVersion: cmpOr(h.KubeVersion, app.KubeVersion),
		APIVersions: h.APIVersions,
	}
	if len(rel.APIVersions) == 0 {
		rel.APIVersions = app.APIVersions
	}
	if _, _, err := rel.options(); err != nil {
		return releaseSpec{}, err
	}
	return rel, nil
}

// options returns the release options and the capabilities of r.
func (r releaseSpec) options() (common.ReleaseOptions, *common.Capabilities, error) {
	if r.Name == "" {
		return common.ReleaseOptions{}, nil, &render.Error{Err: errors.New("no release name: set helm.releaseName")}
	}
	if err := chartutil.ValidateReleaseName(r.Name); err != nil {
		return common.ReleaseOptions{}, nil, &render.Error{Err: fmt.Errorf("release name %q: %w", r.Name, err)}
	}
	opts := common.ReleaseOptions{
		Name:      r.Name,
		Namespace: r.Namespace,
		Revision:  1,
		IsInstall: true,
	}
	caps := common.DefaultCapabilities.Copy()
	if v := r.KubeVersion; v != "" {
		kv, err := common.ParseKubeVersion(v)
		if err != nil {
			return opts, nil, &render.Error{Err: fmt.Errorf("kubeVersion %q is not a Kubernetes version", v)}
		}
		caps.KubeVersion = *kv
	}
	// Concat, not append: the default set is shared by every render.
	caps.APIVersions = slices.Concat(caps.APIVersions, r.APIVersions)
	return opts, caps, nil
}

// templateNames returns the engine's names of every template of ch and its
// subcharts ("web/templates/deploy.yaml", "web/charts/db/templates/x.yaml").
func templateNames(ch *chart.Chart) map[string]bool {
	names := map[string]bool{}
	var walk func(*chart.Chart)
	walk = func(c *chart.Chart) {
		for _, t := range c.Templates {
			names[path.Join(c.ChartFullPath(), t.Name)] = true
		}
		for _, d := range c.Dependencies() {
			walk(d)
		}
	}
	walk(ch)
	return names
}

func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func orDefault[T int64 | time.Duration](v, d T) T {
	if v == 0 {
		return d
	}
	return v
}

// redactURL drops the user information of a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "the repository URL"
	}
	return u.Redacted()
}

// scrubbed replaces the message of an error that quoted an absolute path
// of the machine (a snapshot root, a temporary directory), keeping the
// error for errors.Is and errors.As.
type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.err }

// scrub removes the absolute paths of the snapshot roots and the temporary
// directory from err's message: users see repository-relative paths only.
func scrub(err error, req render.Request) error {
	var re *render.Error
	if !errors.As(err, &re) {
		re = &render.Error{Err: err}
	}
	msg := re.Err.Error()
	prefixes := []string{req.Root}
	for _, r := range req.Refs {
		prefixes = append(prefixes, r)
	}
	prefixes = append(prefixes, os.TempDir())
	clean := msg
	for _, p := range prefixes {
		if p == "" || p == "/" {
			continue
		}
		clean = strings.ReplaceAll(clean, strings.TrimSuffix(p, "/")+"/", "")
		clean = strings.ReplaceAll(clean, p, ".")
	}
	if clean != msg {
		re.Err = &scrubbed{msg: clean, err: re.Err}
	}
	return re
}
