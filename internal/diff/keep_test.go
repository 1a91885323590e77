package diff

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"soll.dev/internal/resource"
)

// TestKeepLive: the object an apply sends with respectIgnoreDifferences.
// An ignored field keeps its live value where soll owns it (leaving it out
// would delete it), is left out where soll owns nothing of it (someone
// else's, or not set by soll: leaving it out changes nothing, and soll
// takes nothing over), and is left out where live lacks it.
func TestKeepLive(t *testing.T) {
	const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
  annotations: {soll.dev/tracking-id: "soll/app:apps/Deployment:apps/web", team: a}
  labels: {soll.dev/managed: "true"}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - {name: app, image: "web:2"}
      - {name: debug, image: "debug:1"}
`
	const liveDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
  annotations: {soll.dev/tracking-id: "soll/app:apps/Deployment:apps/web", team: b, other: x}
  labels: {soll.dev/managed: "true"}
spec:
  replicas: 5
  template:
    spec:
      containers:
      - {name: sidecar, image: "proxy:1"}
      - {name: app, image: "web:1"}
`
	sollOwns := func(fields string) [2]string { return [2]string{"soll", fields} }
	const sollAll = `{f:metadata: {f:annotations: {f:soll.dev/tracking-id: {}, f:team: {}}, f:labels: {f:soll.dev/managed: {}}},
	  f:spec: {f:replicas: {}, f:template: {f:spec: {f:containers: {'k:{"name":"app"}': {'.': {}, f:name: {}, f:image: {}}}}}}}`
	const sollNoReplicas = `{f:metadata: {f:annotations: {f:soll.dev/tracking-id: {}, f:team: {}}, f:labels: {f:soll.dev/managed: {}}},
	  f:spec: {f:template: {f:spec: {f:containers: {'k:{"name":"app"}': {'.': {}, f:name: {}}}}}}}`
	const hpa = `{f:spec: {f:replicas: {}}}`

	for _, tc := range []struct {
		name   string
		rule   IgnoreRule
		owners [][2]string
		// want is desired with these edits: path -> value ("-": removed).
		want map[string]string
	}{{
		name:   "pointer, soll owns the field: live value",
		rule:   IgnoreRule{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}},
		owners: [][2]string{sollOwns(sollAll)},
		want:   map[string]string{"spec.replicas": "5"},
	}, {
		name:   "pointer, another manager owns the field: left out",
		rule:   IgnoreRule{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}},
		owners: [][2]string{sollOwns(sollNoReplicas), {"kube-controller-manager", hpa}},
		want:   map[string]string{"spec.replicas": "-"},
	}, {
		name:   "field live lacks: left out",
		rule:   IgnoreRule{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/paused", "/metadata/annotations/team"}},
		owners: [][2]string{sollOwns(sollAll)},
		want:   map[string]string{"metadata.annotations.team": "b"},
	}, {
		name:   "managed fields managers: their fields left out",
		rule:   IgnoreRule{Group: "apps", Kind: "Deployment", ManagedFieldsManagers: []string{"kube-controller-manager"}},
		owners: [][2]string{sollOwns(sollNoReplicas), {"kube-controller-manager", hpa}},
		want:   map[string]string{"spec.replicas": "-"},
	}, {
		name:   "jq, list elements matched by name: live's app is its second container",
		rule:   IgnoreRule{Group: "apps", Kind: "Deployment", JQPathExpressions: []string{`.spec.template.spec.containers[] | select(.name == "app") | .image`}},
		owners: [][2]string{sollOwns(sollAll)},
		want:   map[string]string{"spec.template.spec.containers.0.image": "web:1"},
	}, {
		name:   "jq, a field soll no longer owns (an image updater took it): left out",
		rule:   IgnoreRule{Group: "apps", Kind: "Deployment", JQPathExpressions: []string{`.spec.template.spec.containers[] | select(.name == "app") | .image`}},
		owners: [][2]string{sollOwns(sollNoReplicas), {"image-updater", `{f:spec: {f:template: {f:spec: {f:containers: {'k:{"name":"app"}': {f:image: {}}}}}}}`}},
		want:   map[string]string{"spec.template.spec.containers.0.image": "-"},
	}, {
		name:   "jq, an element only desired has: left out",
		rule:   IgnoreRule{Group: "apps", Kind: "Deployment", JQPathExpressions: []string{`.spec.template.spec.containers[] | select(.name == "debug")`}},
		owners: [][2]string{sollOwns(sollAll)},
		want:   map[string]string{"spec.template.spec.containers.1": "-"},
	}, {
		name:   "soll's marks and the identity stay: whole metadata ignored",
		rule:   IgnoreRule{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/metadata"}},
		owners: [][2]string{sollOwns(sollAll)},
		want:   map[string]string{"metadata.annotations.team": "b", "metadata.annotations.other": "x"},
	}, {
		name:   "metadata soll does not own (adopting): left out but for soll's marks and the identity",
		rule:   IgnoreRule{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/metadata"}},
		owners: [][2]string{{"kubectl", sollAll}},
		want:   map[string]string{"metadata.annotations.team": "-"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ig, err := NewIgnorer([]IgnoreRule{tc.rule})
			if err != nil {
				t.Fatal(err)
			}
			desired, live := mustObj(t, deployment), owners(t, mustObj(t, liveDeployment), "1", tc.owners...)
			orig := desired.DeepCopy()
			got, err := KeepIgnored{Rules: ig, Manager: "soll"}.KeepLive(context.Background(), resource.KeyOf(desired), live, desired)
			if err != nil {
				t.Fatal(err)
			}
			want := desired.DeepCopy()
			for path, v := range tc.want {
				setPath(t, want.Object, strings.Split(path, "."), v)
			}
			if !equalObj(got, want) {
				t.Errorf("applied object:\n%s\nwant:\n%s", toYAML(got), toYAML(want))
			}
			if !equalObj(desired, orig) {
				t.Errorf("KeepLive changed its input:\n%s", toYAML(desired))
			}
		})
	}

	t.Run("no live object, or no rule for the object: desired as it is", func(t *testing.T) {
		ig, err := NewIgnorer([]IgnoreRule{{Group: "apps", Kind: "StatefulSet", JSONPointers: []string{"/spec/replicas"}}})
		if err != nil {
			t.Fatal(err)
		}
		desired := mustObj(t, deployment)
		k := KeepIgnored{Rules: ig, Manager: "soll"}
		for _, live := range []*unstructured.Unstructured{nil, mustObj(t, liveDeployment)} {
			if got, err := k.KeepLive(context.Background(), resource.KeyOf(desired), live, desired); err != nil || got != desired {
				t.Errorf("KeepLive = %v, %v; want desired itself", got, err)
			}
		}
	})
}

// setPath sets the value at path in obj, numbers as list positions; "-"
// removes it.
func setPath(t *testing.T, obj map[string]any, path []string, v string) {
	t.Helper()
	var node any = obj
	for i, p := range path {
		last := i == len(path)-1
		switch n := node.(type) {
		case map[string]any:
			if last {
				if v == "-" {
					delete(n, p)
				} else {
					var val any
					if err := yaml.Unmarshal([]byte(v), &val); err != nil {
						t.Fatal(err)
					}
					n[p] = val
				}
				return
			}
			node = n[p]
		case []any:
			idx := int(p[0] - '0')
			if last && v == "-" {
				parent, _, _ := unstructured.NestedFieldNoCopy(obj, path[:i]...)
				l := parent.([]any)
				_ = unstructured.SetNestedField(obj, append(l[:idx:idx], l[idx+1:]...), path[:i]...)
				return
			}
			node = n[idx]
		default:
			t.Fatalf("setPath %v: %T at %q", path, node, p)
		}
	}
}

func toYAML(u *unstructured.Unstructured) string {
	b, _ := yaml.Marshal(u.Object)
	return string(b)
}
