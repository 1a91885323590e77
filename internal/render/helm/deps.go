package helm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	chart "helm.sh/helm/v4/pkg/chart/v2"

	"soll.dev/internal/project"
	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
	"soll.dev/internal/source"
)

// resolveDependencies adds to ch, and to its subcharts in turn, the
// dependencies their Chart.yaml lists that are not vendored in charts/:
// fetched from their https:// or oci:// repository at the version Chart.lock
// pins (or the newest that matches the range in Chart.yaml), or read from a
// file:// directory inside the repository. Enabling them by condition and
// tags and importing values is left to helm (chartutil.ProcessDependencies).
func (st *rendering) resolveDependencies(ctx context.Context, ch *chart.Chart, depth int) error {
	if depth > maxChartDepth {
		return &render.Error{Err: fmt.Errorf("chart dependencies are nested more than %d levels deep (does a chart depend on itself?)", maxChartDepth)}
	}
	have := map[string]bool{}
	for _, sub := range ch.Dependencies() {
		have[sub.Name()] = true
	}
	for _, dep := range ch.Metadata.Dependencies {
		if dep == nil || have[dep.Name] {
			continue
		}
		if err := st.budget.Check(ctx); err != nil {
			return &render.Error{Err: err}
		}
		sub, err := st.fetchDependency(ctx, ch, dep, depth)
		if err != nil {
			var re *render.Error
			if errors.As(err, &re) {
				return err
			}
			return &render.Error{File: st.chartFile(ch), Err: fmt.Errorf("dependency %s: %w", dep.Name, err)}
		}
		have[dep.Name] = true
		ch.AddDependency(sub)
	}
	for _, sub := range ch.Dependencies() {
		if err := st.resolveDependencies(ctx, sub, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// chartFile names ch's Chart.yaml for errors.
func (st *rendering) chartFile(ch *chart.Chart) string {
	if dir, ok := st.dirs[ch]; ok {
		return path.Join(dir, "Chart.yaml")
	}
	return ch.ChartFullPath() + "/Chart.yaml"
}

func (st *rendering) fetchDependency(ctx context.Context, ch *chart.Chart, dep *chart.Dependency, depth int) (*chart.Chart, error) {
	repoURL := dep.Repository
	switch {
	case repoURL == "":
		return nil, errors.New("is not vendored in charts/ and names no repository")
	case strings.HasPrefix(repoURL, "file://"):
		dir, ok := st.dirs[ch]
		if !ok {
			return nil, errors.New("file:// dependencies of a chart that is not a directory of the repository must be vendored in charts/")
		}
		rel := strings.TrimPrefix(repoURL, "file://")
		if strings.HasPrefix(rel, "/") {
			return nil, fmt.Errorf("file:// path: %w", confine.ErrAbsolute)
		}
		p := path.Join(dir, rel)
		if p == ".." || strings.HasPrefix(p, "../") {
			return nil, fmt.Errorf("file:// path: %w", confine.ErrParent)
		}
		return st.loadDir(ctx, p, depth+1)
	case strings.HasPrefix(repoURL, "https://"), strings.HasPrefix(repoURL, "http://"), strings.HasPrefix(repoURL, "oci://"):
		if err := st.checkRepo(ch, repoURL); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("repository %q is not a URL: soll has no local repository names, give the https://, oci:// or file:// URL", repoURL)
	}
	version := dep.Version
	if ch.Lock != nil {
		for _, l := range ch.Lock.Dependencies {
			if l != nil && l.Name == dep.Name && l.Repository == dep.Repository && l.Version != "" {
				version = l.Version
			}
		}
	}
	data, _, err := st.fetcher.fetch(chartSource{
		repoURL: repoURL, name: dep.Name, version: version,
		creds: st.dependencyCredentials(repoURL), passCredentials: st.helm.PassCredentials,
	})
	if err != nil {
		return nil, fmt.Errorf("fetch from %s: %w", redactURL(repoURL), err)
	}
	sub, err := st.files.loadArchive(data, depth+1)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	return sub, nil
}

// checkRepo refuses the repository of a dependency of ch that the
// sourceRepos of the application's Project do not allow: a chart must not
// reach a repository that the application could not deploy from itself.
func (st *rendering) checkRepo(ch *chart.Chart, repoURL string) error {
	if st.req.SourceRepos == nil {
		return nil
	}
	return project.CheckRepoPatterns(cmp.Or(st.req.App.Project, project.DefaultName), st.req.SourceRepos,
		fmt.Sprintf("repository of chart %s", ch.Name()), repoURL)
}

// dependencyCredentials returns the credentials of the chart reference for
// a dependency in a repository on the same host, and none otherwise.
func (st *rendering) dependencyCredentials(repoURL string) source.Credentials {
	ref := st.req.Chart
	if ref == nil {
		return source.Credentials{}
	}
	a, errA := url.Parse(repoURL)
	b, errB := url.Parse(ref.RepoURL)
	if errA != nil || errB != nil || a.Host != b.Host || a.Scheme != b.Scheme {
		return source.Credentials{}
	}
	return ref.Credentials
}
