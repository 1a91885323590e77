package kustomize

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/render/helm"
	"soll.dev/internal/render/helm/helmtest"
	"soll.dev/internal/render/rendertest"
	"soll.dev/internal/source"
)

// webChart is a chart with a ConfigMap of its values, a CRD, a hook and a
// test hook.
func webChart(prefix string) map[string]string {
	return map[string]string{
		prefix + "Chart.yaml":  "apiVersion: v2\nname: web\nversion: 1.2.0\n",
		prefix + "values.yaml": "greeting: hello\nsize: small\nnested: {a: 1, b: 2}\n",
		prefix + "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\n" +
			"data:\n  greeting: {{ .Values.greeting | quote }}\n  size: {{ .Values.size | quote }}\n" +
			"  nested: {{ .Values.nested | toJson | quote }}\n  namespace: {{ .Release.Namespace | quote }}\n",
		prefix + "templates/hook.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hook\n  annotations:\n    helm.sh/hook: pre-install\n",
		prefix + "templates/test.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: test\n  annotations:\n    helm.sh/hook: test\n",
		prefix + "crds/crd.yaml":       "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n",
	}
}

func withFiles(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

func TestHelmCharts(t *testing.T) {
	enabled := &sollv1.KustomizeSource{EnableHelm: true}
	tests := []struct {
		name   string
		files  map[string]string // besides the chart in apps/demo/charts/web
		want   []string          // objects
		checks map[string]string // data of ConfigMap/web-config
	}{
		{
			name: "chart home in the repository, transformed by the kustomization",
			files: map[string]string{"apps/demo/kustomization.yaml": "namespace: shop\ncommonLabels: {team: a}\nresources:\n- cm.yaml\n" +
				"helmCharts:\n- name: web\n  valuesInline: {greeting: hi}\n", "apps/demo/cm.yaml": configMap},
			want:   []string{"ConfigMap/cm", "ConfigMap/hook", "ConfigMap/web-config"},
			checks: map[string]string{"greeting": "hi", "size": "small", "team label": "a", "metadata.namespace": "shop"},
		},
		{
			name: "values files, merged as kustomize does, hooks skipped, CRDs included",
			files: map[string]string{
				"apps/demo/kustomization.yaml": "helmCharts:\n- name: web\n  releaseName: shop\n  namespace: prod\n  includeCRDs: true\n  skipHooks: true\n" +
					"  valuesFile: values/base.yaml\n  valuesInline: {size: large, nested: {b: 3}}\n  additionalValuesFiles: [values/more.yaml]\n",
				"apps/demo/values/base.yaml": "greeting: from-file\nsize: medium\n",
				"apps/demo/values/more.yaml": "greeting: from-more\n",
			},
			want:   []string{"ConfigMap/shop-config", "CustomResourceDefinition/widgets.example.com"},
			checks: map[string]string{"greeting": "from-more", "size": "large", "nested": `{"a":1,"b":3}`, "namespace": "prod"},
		},
		{
			name: "valuesMerge replace",
			files: map[string]string{
				"apps/demo/kustomization.yaml": "helmCharts:\n- name: web\n  valuesFile: base.yaml\n  valuesMerge: replace\n  valuesInline: {size: large}\n",
				"apps/demo/base.yaml":          "greeting: from-file\n",
			},
			want:   []string{"ConfigMap/hook", "ConfigMap/web-config"},
			checks: map[string]string{"greeting": "hello", "size": "large"},
		},
		{
			name: "chart home elsewhere in the repository",
			files: map[string]string{
				"apps/demo/kustomization.yaml": "helmGlobals: {chartHome: ../../vendor}\nhelmCharts:\n- name: web\n",
			},
			want: []string{"ConfigMap/hook", "ConfigMap/web-config"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := withFiles(webChart("apps/demo/charts/web/"), webChart("vendor/web/"))
			root := rendertest.Repo(t, withFiles(files, tt.files))
			objs, err := renderApp(t, &Renderer{Helm: &helm.Renderer{}}, render.Request{Root: root, Path: "apps/demo", Kustomize: enabled})
			if err != nil {
				t.Fatal(err)
			}
			got := names(objs)
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("objects = %v, want %v", got, tt.want)
			}
			for _, o := range objs {
				u := o.Unstructured
				if !strings.HasSuffix(u.GetName(), "-config") {
					continue
				}
				for k, want := range tt.checks {
					var got any
					switch k {
					case "team label":
						got = u.GetLabels()["team"]
					case "metadata.namespace":
						got = u.GetNamespace()
					default:
						got = field(t, u, "data", k)
					}
					if toString(got) != want {
						t.Errorf("%s = %v, want %s", k, got, want)
					}
				}
			}
		})
	}
}

func TestHelmChartsRefused(t *testing.T) {
	chart := webChart("apps/demo/charts/web/")
	tests := []struct {
		name  string
		files map[string]string
		opts  *sollv1.KustomizeSource
		r     *Renderer
		match error
		want  string
	}{
		{
			name:  "not enabled",
			files: map[string]string{"apps/demo/kustomization.yaml": "helmCharts:\n- name: web\n"},
			match: ErrHelm, want: "set spec.source.kustomize.enableHelm to true",
		},
		{
			name:  "enabled without a Helm renderer",
			files: map[string]string{"apps/demo/kustomization.yaml": "helmCharts:\n- name: web\n"},
			opts:  &sollv1.KustomizeSource{EnableHelm: true}, r: &Renderer{},
			want: "no Helm renderer is configured",
		},
		{
			name:  "values file climbing out",
			files: map[string]string{"apps/demo/kustomization.yaml": "helmCharts:\n- name: web\n  valuesFile: ../../../etc/values.yaml\n"},
			opts:  &sollv1.KustomizeSource{EnableHelm: true},
			match: errOutside, want: "helmCharts[0].valuesFile",
		},
		{
			name:  "chart home absolute",
			files: map[string]string{"apps/demo/kustomization.yaml": "helmGlobals: {chartHome: /charts}\nhelmCharts:\n- name: web\n"},
			opts:  &sollv1.KustomizeSource{EnableHelm: true},
			match: ErrAbsolute, want: "helmGlobals.chartHome",
		},
		{
			name:  "no chart and no repo",
			files: map[string]string{"apps/demo/kustomization.yaml": "helmCharts:\n- name: api\n"},
			opts:  &sollv1.KustomizeSource{EnableHelm: true},
			want:  "helmCharts[0] (api): no chart directory apps/demo/charts/api and no repo",
		},
		{
			name:  "repo chart without an exact version",
			files: map[string]string{"apps/demo/kustomization.yaml": "helmCharts:\n- name: api\n  repo: https://charts.example.com\n  version: ^1.0\n"},
			opts:  &sollv1.KustomizeSource{EnableHelm: true},
			want:  `version "^1.0": give the exact version`,
		},
		{
			name:  "template error",
			files: map[string]string{"apps/demo/kustomization.yaml": "helmCharts:\n- name: web\n", "apps/demo/charts/web/templates/bad.yaml": "{{ fail \"no\" }}\n"},
			opts:  &sollv1.KustomizeSource{EnableHelm: true},
			want:  "apps/demo/charts/web/templates/bad.yaml",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := rendertest.Repo(t, withFiles(chart, tt.files))
			r := tt.r
			if r == nil {
				r = &Renderer{Helm: &helm.Renderer{}}
			}
			_, err := renderApp(t, r, render.Request{Root: root, Path: "apps/demo", Kustomize: tt.opts})
			if err == nil {
				t.Fatal("no error")
			}
			if tt.match != nil && !errors.Is(err, tt.match) {
				t.Errorf("error = %v, want %v", err, tt.match)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), root) {
				t.Errorf("error %q does not say %q, or shows the snapshot's path", err, tt.want)
			}
		})
	}
}

// TestHelmChartFromRepository inflates a chart fetched from a chart
// repository, with the credentials the caller found for it.
func TestHelmChartFromRepository(t *testing.T) {
	archive, _ := helmtest.PackageChart(t, webChart(""))
	charts := helmtest.NewRepo(t, true, archive)
	charts.User, charts.Password = "ci", "s3cret"
	root := rendertest.Repo(t, map[string]string{
		"apps/demo/kustomization.yaml": "helmCharts:\n- name: web\n  repo: " + charts.URL + "\n  version: 1.2.0\n  valuesInline: {size: huge}\n",
	})
	req := render.Request{
		Root: root, Path: "apps/demo", Kustomize: &sollv1.KustomizeSource{EnableHelm: true},
		ChartCredentials: map[string]source.Credentials{charts.URL: {Username: "ci", Password: "s3cret", CACert: helmtest.CAPEM(charts.Server)}},
	}
	objs, err := renderApp(t, &Renderer{Helm: &helm.Renderer{}}, req)
	if err != nil {
		t.Fatal(err)
	}
	cm := byName(objs)["ConfigMap/web-config"]
	if cm == nil || field(t, cm, "data", "size") != "huge" {
		t.Errorf("objects = %v, want web-config with size huge", names(objs))
	}

	req.ChartCredentials = nil
	if _, err := renderApp(t, &Renderer{Helm: &helm.Renderer{}}, req); err == nil || !strings.Contains(err.Error(), "helmCharts[0] (web)") {
		t.Errorf("render without credentials = %v, want a fetch error naming the chart", err)
	}
}
