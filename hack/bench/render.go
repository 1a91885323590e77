package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"sigs.k8s.io/yaml"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/render/directory"
	"soll.dev/internal/render/helm"
	"soll.dev/internal/render/jsonnet"
	"soll.dev/internal/render/kustomize"
	"soll.dev/internal/render/plugin"
)

// renderRow is the throughput of one tool on a small realistic app (five
// objects: ConfigMap, ServiceAccount, Service, Deployment, Ingress).
type renderRow struct {
	tool             string
	uncached, cached float64 // renders per second
	err              error
}

// renderWindow is how long each tool is measured, per mode.
const renderWindow = 2 * time.Second

const benchObjects = `apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {MODE: prod, COLOR: blue}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 8080}]
        envFrom: [{configMapRef: {name: web-config}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
  - host: web.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
`

// renderFixtures writes one app per tool under root and returns the
// requests that render them.
func renderFixtures(root string) (map[string]render.Request, error) {
	files := map[string]string{
		"directory/objects.yaml":            benchObjects,
		"kustomize/base/objects.yaml":       benchObjects,
		"kustomize/base/kustomization.yaml": "resources: [objects.yaml]\n",
		"kustomize/prod/kustomization.yaml": "resources: [../base]\nnamePrefix: prod-\nimages:\n- {name: nginx, newTag: \"1.28\"}\n" +
			"replicas:\n- {name: web, count: 3}\nlabels:\n- pairs: {team: web}\n",
		"helm/Chart.yaml":             "apiVersion: v2\nname: web\nversion: 1.0.0\n",
		"helm/values.yaml":            "replicas: 2\nimage: nginx:1.27\n",
		"helm/templates/objects.yaml": benchObjects,
		"jsonnet/main.jsonnet": "local y = std.parseYaml(importstr 'objects.yaml');\n" +
			"function(prefix='prod-') [o { metadata+: { name: prefix + super.name } } for o in y]\n",
		"jsonnet/objects.yaml": benchObjects,
		"plugin/app.gen":       benchObjects,
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	app := render.AppInfo{Name: "web", Namespace: "soll", DestinationNamespace: "web"}
	return map[string]render.Request{
		"Directory": {Root: root, Path: "directory", Tool: render.ToolDirectory, App: app},
		"Kustomize": {Root: root, Path: "kustomize/prod", Tool: render.ToolKustomize, App: app},
		"Helm":      {Root: root, Path: "helm", Tool: render.ToolHelm, Helm: &sollv1.HelmSource{}, App: app},
		"Jsonnet":   {Root: root, Path: "jsonnet", Tool: render.ToolJsonnet, Jsonnet: &sollv1.JsonnetSource{}, App: app},
		"Plugin":    {Root: root, Path: "plugin", Tool: render.ToolPlugin, Plugin: &sollv1.PluginSource{Name: "cat"}, App: app},
	}, nil
}

// measureRenders renders each tool's app for renderWindow, first uncached
// (every render a new request: another app at another revision), then
// through render.Cache (the same app again, as an unchanged app is
// compared), and a baseline: decoding the same objects with a YAML parser,
// the least any renderer does.
func measureRenders(ctx context.Context, work string) ([]renderRow, float64, error) {
	root := filepath.Join(work, "render-repo")
	reqs, err := renderFixtures(root)
	if err != nil {
		return nil, 0, err
	}
	plugins := &plugin.Config{Plugins: []plugin.Plugin{{Name: "cat", Generate: []string{"cat", "app.gen"},
		Timeout: plugin.DefaultTimeout, MaxOutputBytes: plugin.DefaultMaxOutputBytes}}}
	mux := &render.Mux{Renderers: map[render.Tool]render.Renderer{
		render.ToolDirectory: &directory.Renderer{},
		render.ToolKustomize: &kustomize.Renderer{},
		render.ToolHelm:      &helm.Renderer{},
		render.ToolJsonnet:   &jsonnet.Renderer{},
		render.ToolPlugin:    &plugin.Renderer{Config: func() *plugin.Config { return plugins }},
	}}
	var rows []renderRow
	for _, tool := range []string{"Directory", "Kustomize", "Helm", "Jsonnet", "Plugin"} {
		req := reqs[tool]
		row := renderRow{tool: tool}
		row.uncached, row.err = rate(ctx, func(i int) error {
			r := req
			r.App.Revision = fmt.Sprint(i) // a new request each time
			_, err := mux.Render(ctx, r)
			return err
		})
		if row.err == nil {
			cache := &render.Cache{Renderer: mux}
			row.cached, row.err = rate(ctx, func(int) error {
				_, err := cache.Render(ctx, req)
				return err
			})
		}
		rows = append(rows, row)
	}
	docs := []byte(benchObjects)
	base, err := rate(ctx, func(int) error {
		var out []map[string]any
		for _, d := range splitDocs(docs) {
			var m map[string]any
			if err := yaml.Unmarshal(d, &m); err != nil {
				return err
			}
			out = append(out, m)
		}
		_ = out
		return nil
	})
	return rows, base, err
}

// rate calls f as often as it can for renderWindow; calls per second.
func rate(ctx context.Context, f func(i int) error) (float64, error) {
	start := time.Now()
	n := 0
	for time.Since(start) < renderWindow && ctx.Err() == nil {
		if err := f(n); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), ctx.Err()
}

func splitDocs(b []byte) [][]byte {
	var out [][]byte
	start := 0
	for i := 0; i+4 <= len(b); i++ {
		if (i == 0 || b[i-1] == '\n') && string(b[i:i+4]) == "---\n" {
			out = append(out, b[start:i])
			start = i + 4
		}
	}
	return append(out, b[start:])
}
