package kustomize

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/render/rendertest"
)

func renderApp(t *testing.T, r *Renderer, req render.Request) ([]render.Object, error) {
	t.Helper()
	res, err := r.Render(context.Background(), req)
	if err != nil {
		if res != nil {
			t.Errorf("a result came with the error %v", err)
		}
		return nil, err
	}
	return res.Objects, nil
}

// byName indexes objects by "Kind/name".
func byName(objs []render.Object) map[string]*unstructured.Unstructured {
	m := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		m[o.Unstructured.GetKind()+"/"+o.Unstructured.GetName()] = o.Unstructured
	}
	return m
}

func names(objs []render.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Unstructured.GetKind()+"/"+o.Unstructured.GetName())
	}
	return out
}

func field(t *testing.T, u *unstructured.Unstructured, path ...string) any {
	t.Helper()
	if u == nil {
		t.Fatalf("no object for %v", path)
	}
	v, ok, err := unstructured.NestedFieldNoCopy(u.Object, path...)
	if err != nil || !ok {
		t.Fatalf("%s/%s has no %v: %v", u.GetKind(), u.GetName(), path, err)
	}
	return v
}

// container returns the first container of a Deployment.
func container(t *testing.T, u *unstructured.Unstructured) map[string]any {
	t.Helper()
	cs := field(t, u, "spec", "template", "spec", "containers").([]any)
	return cs[0].(map[string]any)
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels:
      component: web
  template:
    metadata:
      labels:
        component: web
    spec:
      containers:
      - name: web
        image: nginx:1.0
        envFrom:
        - configMapRef:
            name: web-config
        - secretRef:
            name: db
`

// shop is a realistic repository: a base, a component and dev and prod
// overlays.
var shop = map[string]string{
	"base/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- deployment.yaml
- service.yaml
labels:
- pairs:
    app: shop
  includeSelectors: true
configMapGenerator:
- name: web-config
  files:
  - config.properties
  literals:
  - MODE=base
secretGenerator:
- name: db
  literals:
  - user=shop
images:
- name: nginx
  newTag: "1.25"
`,
	"base/deployment.yaml": deployment,
	"base/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    component: web
  ports:
  - port: 80
`,
	"base/config.properties": "cache=on\n",
	"components/monitoring/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
- monitor.yaml
patches:
- target:
    kind: Deployment
  patch: |
    - op: add
      path: /metadata/annotations/prometheus.io~1scrape
      value: "true"
`,
	"components/monitoring/monitor.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: scrape-config
data:
  interval: 30s
`,
	"overlays/dev/kustomization.yaml": `resources:
- ../../base
namePrefix: dev-
namespace: shop-dev
replicas:
- name: web
  count: 1
commonLabels:
  env: dev
`,
	"overlays/prod/kustomization.yaml": `resources:
- ../../base
components:
- ../../components/monitoring
namespace: shop-prod
commonAnnotations:
  team: payments
images:
- name: nginx
  newTag: "1.27"
replicas:
- name: web
  count: 5
patches:
- path: resources.yaml
configMapGenerator:
- name: web-config
  behavior: merge
  literals:
  - MODE=prod
secretGenerator:
- name: db
  behavior: merge
  envs:
  - db.env
`,
	"overlays/prod/resources.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        resources:
          limits:
            memory: 512Mi
`,
	"overlays/prod/db.env": "password=not-a-real-one\n",
}

var hashed = regexp.MustCompile(`^[a-z0-9]{10}$`)

// checkHashed checks that name is base plus a content hash.
func checkHashed(t *testing.T, name, base string) {
	t.Helper()
	suffix, ok := strings.CutPrefix(name, base+"-")
	if !ok || !hashed.MatchString(suffix) {
		t.Errorf("name %q is not %q with a hash suffix", name, base)
	}
}

func TestContract(t *testing.T) {
	writeApp := func(t *testing.T, dir string) {
		rendertest.WriteFiles(t, dir, map[string]string{
			"kustomization.yaml": "resources:\n- cm.yaml\nnamePrefix: demo-\n",
			"cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config\ndata:\n  a: b\n",
		})
	}
	rendertest.Contract(t, &Renderer{}, writeApp, nil)
	rendertest.Contract(t, &Renderer{}, writeApp, func(req *render.Request) {
		req.Kustomize = &sollv1.KustomizeSource{NameSuffix: "-x"}
	})
}

func TestOverlays(t *testing.T) {
	root := rendertest.Repo(t, shop)
	r := &Renderer{}

	t.Run("dev", func(t *testing.T) {
		objs, err := renderApp(t, r, render.Request{Root: root, Path: "overlays/dev"})
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 4 {
			t.Fatalf("objects = %v, want 4", names(objs))
		}
		var cm, secret, deploy *unstructured.Unstructured
		for _, o := range objs {
			u := o.Unstructured
			if got := o.Origin.File; got != "overlays/dev/kustomization.yaml" {
				t.Errorf("%s origin = %q", u.GetName(), got)
			}
			if u.GetNamespace() != "shop-dev" {
				t.Errorf("%s namespace = %q, want shop-dev", u.GetName(), u.GetNamespace())
			}
			if l := u.GetLabels(); l["app"] != "shop" || l["env"] != "dev" {
				t.Errorf("%s labels = %v", u.GetName(), l)
			}
			switch u.GetKind() {
			case "ConfigMap":
				cm = u
			case "Secret":
				secret = u
			case "Deployment":
				deploy = u
			}
		}
		checkHashed(t, cm.GetName(), "dev-web-config")
		checkHashed(t, secret.GetName(), "dev-db")
		if deploy.GetName() != "dev-web" {
			t.Errorf("deployment name = %q", deploy.GetName())
		}
		c := container(t, deploy)
		if c["image"] != "nginx:1.25" {
			t.Errorf("image = %v, want nginx:1.25", c["image"])
		}
		envFrom := c["envFrom"].([]any)
		if ref := envFrom[0].(map[string]any)["configMapRef"].(map[string]any)["name"]; ref != cm.GetName() {
			t.Errorf("configMapRef = %v, want %s", ref, cm.GetName())
		}
		if got := field(t, deploy, "spec", "replicas"); got != int64(1) {
			t.Errorf("replicas = %v", got)
		}
		sel := field(t, deploy, "spec", "selector", "matchLabels").(map[string]any)
		if sel["app"] != "shop" || sel["env"] != "dev" {
			t.Errorf("selector = %v", sel)
		}
	})

	t.Run("prod", func(t *testing.T) {
		objs, err := renderApp(t, r, render.Request{Root: root, Path: "overlays/prod"})
		if err != nil {
			t.Fatal(err)
		}
		// kustomize build's order: kinds by their legacy order, then names.
		got := names(objs)
		want := []string{"ConfigMap/scrape-config", "ConfigMap/web-config-", "Secret/db-", "Service/web", "Deployment/web"}
		if len(got) != len(want) {
			t.Fatalf("objects = %v, want %v", got, want)
		}
		for i := range want {
			if !strings.HasPrefix(got[i], want[i]) {
				t.Errorf("object %d = %s, want %s...", i, got[i], want[i])
			}
		}
		m := byName(objs)
		deploy := m["Deployment/web"]
		c := container(t, deploy)
		if c["image"] != "nginx:1.27" {
			t.Errorf("image = %v, want nginx:1.27", c["image"])
		}
		if got := field(t, deploy, "spec", "replicas"); got != int64(5) {
			t.Errorf("replicas = %v, want 5", got)
		}
		if got := field(t, deploy, "spec", "template", "spec", "containers"); !strings.Contains(toString(got), "512Mi") {
			t.Errorf("strategic merge patch not applied: %v", got)
		}
		if a := deploy.GetAnnotations(); a["prometheus.io/scrape"] != "true" || a["team"] != "payments" {
			t.Errorf("annotations = %v", a)
		}
		cm := objs[1].Unstructured
		checkHashed(t, cm.GetName(), "web-config")
		data := field(t, cm, "data").(map[string]any)
		if data["MODE"] != "prod" || data["config.properties"] != "cache=on\n" {
			t.Errorf("configmap data = %v", data)
		}
		secret := objs[2].Unstructured
		checkHashed(t, secret.GetName(), "db")
		if d := field(t, secret, "data").(map[string]any); d["password"] == nil || d["user"] == nil {
			t.Errorf("secret keys = %v", d)
		}
	})
}

func toString(v any) string { return fmt.Sprint(v) }
