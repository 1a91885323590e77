package helm_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/render/helm"
	"soll.dev/internal/render/helm/helmtest"
	"soll.dev/internal/render/rendertest"
)

func TestContract(t *testing.T) {
	t.Parallel()
	rendertest.Contract(t, &helm.Renderer{}, func(t *testing.T, dir string) {
		rendertest.WriteFiles(t, dir, map[string]string{
			"Chart.yaml":          chartYAML("demo", "0.1.0"),
			"values.yaml":         "greeting: hello\n",
			"templates/cm.yaml":   configMap("{{ .Release.Name }}-cm", "greeting", "{{ .Values.greeting }}"),
			"templates/NOTES.txt": "Thanks for installing {{ .Chart.Name }}.\n",
		})
	}, func(req *render.Request) {
		req.App.Name = "demo"
	})
}

// dbChart is the dependency served by a repository, in three versions.
func dbChart(t *testing.T, version string) []byte {
	data, _ := helmtest.PackageChart(t, map[string]string{
		"Chart.yaml":            chartYAML("db", version),
		"values.yaml":           "size: small\n",
		"templates/db.yaml":     configMap("{{ .Release.Name }}-db", "version", fmt.Sprintf("%q", version)),
		"templates/db-pvc.yaml": configMap("{{ .Release.Name }}-db-size", "size", "{{ .Values.size }}"),
	})
	return data
}

// webRepo writes a realistic chart at apps/web into a new repository root,
// with one vendored dependency (common) and one from repoURL (db), and a
// second source with shared values. It returns both roots.
func webRepo(t *testing.T, repoURL string) (root, config string) {
	root, config = t.TempDir(), t.TempDir()
	rendertest.WriteFiles(t, filepath.Join(root, "apps", "web"), map[string]string{
		"Chart.yaml": `apiVersion: v2
name: web
version: 1.0.0
dependencies:
  - name: common
    version: 0.1.0
  - name: db
    version: ~1.2.0
    repository: ` + repoURL + `
    condition: db.enabled
`,
		"values.yaml":      "replicas: 1\nimage: {tag: stable}\ndb: {enabled: true}\ncommon: {label: base}\n",
		"values-prod.yaml": "replicas: 3\ncommon: {label: prod}\n",
		"templates/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
spec:
  replicas: {{ .Values.replicas }}
  template:
    spec:
      containers:
        - name: web
          image: "web:{{ .Values.image.tag }}"
          env:
            - name: REGION
              value: {{ .Values.region | quote }}
            - name: DEBUG
              value: {{ .Values.debug | quote }}
`,
		"templates/migrate.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations:
    helm.sh/hook: pre-install
    helm.sh/hook-weight: "-5"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec: {}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-notify
  annotations:
    helm.sh/hook: post-upgrade
spec: {}
`,
		"templates/tests/ping.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-ping
  annotations:
    helm.sh/hook: test
spec: {}
`,
		"templates/empty.yaml":   "{{- if false }}\nkind: Nothing\n{{- end }}\n",
		"templates/NOTES.txt":    "Visit {{ .Release.Name }}.\n",
		"templates/_helpers.tpl": `{{- define "web.label" -}}{{ .Values.common.label }}{{- end -}}`,
		"crds/widget.yaml": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec: {}
`,
		"charts/common/Chart.yaml":       chartYAML("common", "0.1.0"),
		"charts/common/values.yaml":      "label: none\n",
		"charts/common/templates/x.yaml": configMap("common-{{ .Release.Name }}", "label", "{{ .Values.label }}"),
	})
	rendertest.WriteFiles(t, config, map[string]string{
		"web/values.yaml": "region: eu-1\n",
	})
	return root, config
}

func TestRenderChartWithDependencies(t *testing.T) {
	t.Parallel()
	deps := helmtest.NewRepo(t, false, dbChart(t, "1.2.0"), dbChart(t, "1.2.3"), dbChart(t, "1.3.0"))
	root, config := webRepo(t, deps.URL)
	req := render.Request{
		Root: root,
		Path: "apps/web",
		Refs: map[string]string{"config": config},
		App:  render.AppInfo{Name: "shop", DestinationNamespace: "prod"},
		Helm: &sollv1.HelmSource{
			ValueFiles:              []string{"values-prod.yaml", "$config/web/values.yaml", "missing.yaml"},
			IgnoreMissingValueFiles: true,
			Values:                  "image: {tag: v2}\n",
			Parameters: []sollv1.HelmParameter{
				{Name: "debug", Value: "true", ForceString: true},
				{Name: "db.size", Value: "large,fast"},
			},
		},
	}
	res, err := (&helm.Renderer{}).Render(context.Background(), req)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	want := []string{
		"CustomResourceDefinition/widgets.example.com apps/web/crds/widget.yaml",
		"ConfigMap/common-shop apps/web/charts/common/templates/x.yaml",
		"ConfigMap/shop-db-size apps/web/charts/db/templates/db-pvc.yaml",
		"ConfigMap/shop-db apps/web/charts/db/templates/db.yaml",
		"Deployment/shop apps/web/templates/deploy.yaml",
		"Job/shop-migrate apps/web/templates/migrate.yaml",
		"Job/shop-notify apps/web/templates/migrate.yaml",
	}
	if diff := cmp.Diff(want, summary(res)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	objs := map[string]map[string]any{}
	for _, o := range res.Objects {
		objs[o.Unstructured.GetName()] = o.Unstructured.Object
	}
	deploy := objs["shop"]
	checks := []struct {
		what string
		got  any
		want any
	}{
		{"namespace", get(deploy, "metadata", "namespace"), "prod"},
		{"replicas from values-prod.yaml", get(deploy, "spec", "replicas"), int64(3)},
		{"image tag from values", get(deploy, "spec", "template", "spec", "containers", 0, "image"), "web:v2"},
		{"region from the $config file", get(deploy, "spec", "template", "spec", "containers", 0, "env", 0, "value"), "eu-1"},
		{"debug from a string parameter", get(deploy, "spec", "template", "spec", "containers", 0, "env", 1, "value"), "true"},
		{"subchart value from a parameter with a comma", get(objs["shop-db-size"], "data", "size"), "large,fast"},
		{"resolved db version", get(objs["shop-db"], "data", "version"), "1.2.3"},
		{"vendored subchart value from values-prod.yaml", get(objs["common-shop"], "data", "label"), "prod"},
		{"hook annotation", get(objs["shop-migrate"], "metadata", "annotations", "helm.sh/hook"), "pre-install"},
		{"hook weight", get(objs["shop-migrate"], "metadata", "annotations", "helm.sh/hook-weight"), "-5"},
		{"hook delete policy", get(objs["shop-migrate"], "metadata", "annotations", "helm.sh/hook-delete-policy"), "before-hook-creation,hook-succeeded"},
		{"post-upgrade hook", get(objs["shop-notify"], "metadata", "annotations", "helm.sh/hook"), "post-upgrade"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#v, want %#v", c.what, c.got, c.want)
		}
	}

	t.Run("skipCrds and a disabled dependency", func(t *testing.T) {
		req := req
		h := *req.Helm
		h.SkipCrds = true
		h.ValuesObject = &runtime.RawExtension{Raw: []byte(`{"db":{"enabled":false}}`)}
		req.Helm = &h
		res, err := (&helm.Renderer{}).Render(context.Background(), req)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		want := []string{
			"ConfigMap/common-shop apps/web/charts/common/templates/x.yaml",
			"Deployment/shop apps/web/templates/deploy.yaml",
			"Job/shop-migrate apps/web/templates/migrate.yaml",
			"Job/shop-notify apps/web/templates/migrate.yaml",
		}
		if diff := cmp.Diff(want, summary(res)); diff != "" {
			t.Errorf("objects (-want +got):\n%s", diff)
		}
	})

	t.Run("missing value file", func(t *testing.T) {
		req := req
		h := *req.Helm
		h.IgnoreMissingValueFiles = false
		req.Helm = &h
		_, err := (&helm.Renderer{}).Render(context.Background(), req)
		_ = checkError(t, err, "apps/web/missing.yaml", "does not exist")
	})
}

// get walks obj along keys (strings) and indexes (ints).
func get(obj any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := obj.(map[string]any)
			if !ok {
				return nil
			}
			obj = m[k]
		case int:
			l, ok := obj.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			obj = l[k]
		}
	}
	return obj
}

func TestFileDependency(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	rendertest.WriteFiles(t, root, map[string]string{
		"apps/web/Chart.yaml":          "apiVersion: v2\nname: web\nversion: 1.0.0\ndependencies:\n  - name: lib\n    version: 1.0.0\n    repository: file://../../charts/lib\n",
		"apps/web/templates/cm.yaml":   configMap("web", "k", "v"),
		"charts/lib/Chart.yaml":        chartYAML("lib", "1.0.0"),
		"charts/lib/templates/cm.yaml": configMap("lib", "k", "v"),
	})
	res, err := (&helm.Renderer{}).Render(context.Background(), render.Request{Root: root, Path: "apps/web", App: render.AppInfo{Name: "web"}})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	want := []string{"ConfigMap/lib apps/web/charts/lib/templates/cm.yaml", "ConfigMap/web apps/web/templates/cm.yaml"}
	if diff := cmp.Diff(want, summary(res)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}

	rendertest.WriteFiles(t, root, map[string]string{
		"apps/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\ndependencies:\n  - name: lib\n    version: 1.0.0\n    repository: file://../../../outside\n",
	})
	_, err = (&helm.Renderer{}).Render(context.Background(), render.Request{Root: root, Path: "apps/web", App: render.AppInfo{Name: "web"}})
	_ = checkError(t, err, "apps/web/Chart.yaml", "must stay inside the repository")
}

// checkError checks that err is a *render.Error naming file whose message
// holds text.
func checkError(t *testing.T, err error, file, text string) *render.Error {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	t.Logf("error: %v", err)
	re, ok := err.(*render.Error)
	if !ok {
		t.Fatalf("error %v is a %T, not a *render.Error", err, err)
	}
	if re.File != file {
		t.Errorf("error %q names file %q, want %q", err, re.File, file)
	}
	if !strings.Contains(err.Error(), text) {
		t.Errorf("error %q does not say %q", err, text)
	}
	return re
}

// TestValuesKeepTheirTypes: the user's values reach the templates, which
// run in another process, with their Go types: an integer parameter stays
// an integer (a float would print 1e+06), an empty list stays a list
// (toYaml would print null for nil), null stays null.
func TestValuesKeepTheirTypes(t *testing.T) {
	t.Parallel()
	root := demoRepo(t, map[string]string{
		"apps/demo/templates/cm.yaml": configMap("demo", "v", `{{ printf "%v|%T|%s|%s|%v" .Values.n .Values.n (toYaml .Values.empty) (toYaml .Values.nested) (hasKey .Values "gone") | quote }}`),
		"apps/demo/values.yaml":       "gone: 1\n",
	})
	res, err := (&helm.Renderer{}).Render(context.Background(), render.Request{
		Root: root, Path: "apps/demo", App: render.AppInfo{Name: "demo"},
		Helm: &sollv1.HelmSource{
			Values:     "empty: []\nnested: {a: [], b: {}, c: 1.5}\ngone: null\n",
			Parameters: []sollv1.HelmParameter{{Name: "n", Value: "1000000"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _, _ := unstructured.NestedString(res.Objects[0].Unstructured.Object, "data", "v")
	want := "1000000|int64|[]|a: []\nb: {}\nc: 1.5|false"
	if got != want {
		t.Errorf("rendered %q, want %q", got, want)
	}
}
