package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// workload is the set of apps: N directories apps/<name>, each with a
// ConfigMap, ServiceAccount, Service and Deployment (the first of these
// only, below four objects per app; extra ConfigMaps beyond four), without
// namespaces.
type workload struct {
	apps []app
}

type app struct {
	name    string
	objects []*unstructured.Unstructured
}

// dir is the app's directory in the repository.
func (a app) dir() string { return "apps/" + a.name }

func newWorkload(n, objectsPerApp int) *workload {
	width := max(4, len(strconv.Itoa(n-1)))
	w := &workload{}
	for i := range n {
		name := fmt.Sprintf("app-%0*d", width, i)
		w.apps = append(w.apps, app{name: name, objects: appObjects(name, i, objectsPerApp)})
	}
	return w
}

func appObjects(name string, index, count int) []*unstructured.Unstructured {
	labels := map[string]any{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "soll-bench"}
	selector := map[string]any{"app.kubernetes.io/name": name}
	objs := []map[string]any{
		{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name + "-config", "labels": labels},
			"data": map[string]any{
				"index":          strconv.Itoa(index),
				"app.properties": "name=" + name + "\nlog.level=info\nfeature.x=enabled\n",
			},
		},
		{
			"apiVersion": "v1", "kind": "ServiceAccount",
			"metadata":                     map[string]any{"name": name, "labels": labels},
			"automountServiceAccountToken": false,
		},
		{
			"apiVersion": "v1", "kind": "Service",
			"metadata": map[string]any{"name": name, "labels": labels},
			"spec": map[string]any{
				"selector": selector,
				"ports":    []any{map[string]any{"name": "http", "port": int64(80), "targetPort": "http"}},
			},
		},
		{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": name, "labels": labels},
			"spec": map[string]any{
				"replicas": int64(1),
				"selector": map[string]any{"matchLabels": selector},
				"template": map[string]any{
					"metadata": map[string]any{"labels": labels},
					"spec": map[string]any{
						"serviceAccountName": name,
						"containers": []any{map[string]any{
							"name":    "app",
							"image":   "registry.k8s.io/pause:3.10",
							"ports":   []any{map[string]any{"name": "http", "containerPort": int64(8080)}},
							"envFrom": []any{map[string]any{"configMapRef": map[string]any{"name": name + "-config"}}},
							"resources": map[string]any{
								"requests": map[string]any{"cpu": "10m", "memory": "16Mi"},
							},
						}},
					},
				},
			},
		},
	}
	objs = objs[:min(count, len(objs))]
	for i := 4; i < count; i++ {
		objs = append(objs, map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": fmt.Sprintf("%s-extra-%d", name, i-3), "labels": labels},
			"data":     map[string]any{"index": strconv.Itoa(i)},
		})
	}
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = &unstructured.Unstructured{Object: runtime.DeepCopyJSON(o)}
	}
	return out
}

// indexes are the apps' indexes, 0 to n-1.
func (w *workload) indexes() []int {
	out := make([]int, len(w.apps))
	for i := range out {
		out[i] = i
	}
	return out
}

// withDeployments reports whether the apps have a Deployment (four objects
// or more each).
func (w *workload) withDeployments() bool {
	for _, o := range w.apps[0].objects {
		if o.GetKind() == "Deployment" {
			return true
		}
	}
	return false
}

// writeTree writes every app's objects, one file per object, under dir.
func (w *workload) writeTree(dir string) error {
	for _, a := range w.apps {
		d := filepath.Join(dir, a.dir())
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		for i, o := range a.objects {
			b, err := yaml.Marshal(o.Object)
			if err != nil {
				return err
			}
			file := fmt.Sprintf("%02d-%s-%s.yaml", i, strings.ToLower(o.GetKind()), o.GetName())
			if err := os.WriteFile(filepath.Join(d, file), b, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
