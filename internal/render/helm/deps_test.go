package helm_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"soll.dev/internal/render"
	"soll.dev/internal/render/helm"
	"soll.dev/internal/render/helm/helmtest"
	"soll.dev/internal/render/rendertest"
)

// TestDependencyRepositoriesMatchSourceRepos: a chart's dependency from a
// repository that the Project's sourceRepos do not allow fails the render,
// naming the chart, the dependency and the rule, from Chart.yaml and from
// the requirements.yaml of apiVersion v1 charts alike.
func TestDependencyRepositoriesMatchSourceRepos(t *testing.T) {
	t.Parallel()
	deps := helmtest.NewRepo(t, false, dbChart(t, "1.2.3"))
	root, _ := webRepo(t, deps.URL)
	v1 := t.TempDir()
	rendertest.WriteFiles(t, filepath.Join(v1, "apps", "old"), map[string]string{
		"Chart.yaml":        "apiVersion: v1\nname: old\nversion: 1.0.0\n",
		"requirements.yaml": "dependencies:\n  - name: db\n    version: 1.2.3\n    repository: " + deps.URL + "\n",
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old\n",
	})
	render1 := func(root, path string, sourceRepos []string) error {
		_, err := (&helm.Renderer{}).Render(context.Background(), render.Request{
			Root: root, Path: path, SourceRepos: sourceRepos,
			App: render.AppInfo{Name: "shop", Project: "team-a", DestinationNamespace: "prod"},
		})
		return err
	}
	tests := []struct {
		name, root, path string
		sourceRepos      []string
		want             []string // error fragments; none: renders
	}{
		{"allowed", root, "apps/web", []string{"https://git.example.com/team-a/*", deps.URL + "/*", deps.URL}, nil},
		{"no check without patterns", root, "apps/web", nil, nil},
		{"outside sourceRepos", root, "apps/web", []string{"https://git.example.com/team-a/*"},
			[]string{"apps/web/Chart.yaml", "dependency db", "repository of chart web", deps.URL, "not permitted in project team-a", "spec.sourceRepos allows https://git.example.com/team-a/*"}},
		{"denied", root, "apps/web", []string{"*", "!" + deps.URL},
			[]string{"dependency db", "repository of chart web", "denies it"}},
		{"requirements.yaml", v1, "apps/old", []string{"https://git.example.com/team-a/*"},
			[]string{"apps/old/Chart.yaml", "dependency db", "repository of chart old", "not permitted in project team-a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := render1(tt.root, tt.path, tt.sourceRepos)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Render succeeded with a dependency outside sourceRepos")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	// A dot segment in a dependency's repository is refused, even where
	// a pattern would match it.
	dotted := t.TempDir()
	rendertest.WriteFiles(t, filepath.Join(dotted, "apps", "web"), map[string]string{
		"Chart.yaml":        "apiVersion: v2\nname: web\nversion: 1.0.0\ndependencies:\n  - name: db\n    version: 1.2.3\n    repository: " + deps.URL + "/team-a/../team-b\n",
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
	})
	if err := render1(dotted, "apps/web", []string{deps.URL + "/team-a/*"}); err == nil || !strings.Contains(err.Error(), `the path segment ".."`) {
		t.Errorf("dependency with a dot segment: %v", err)
	}
}
