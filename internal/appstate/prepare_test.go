package appstate

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/render/manifest"
	"soll.dev/internal/resource"
)

// decode decodes files (path: YAML) in order, as one source of an app;
// source names it when the app has several.
func decode(t *testing.T, source string, files ...string) []rendered {
	t.Helper()
	var out []rendered
	for i := 0; i+1 < len(files); i += 2 {
		objs, err := manifest.DecodeYAML(context.Background(), files[i], []byte(files[i+1]), render.NewBudget(render.Limits{}))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			out = append(out, rendered{Object: o, source: source})
		}
	}
	return out
}

// served is a cluster that serves ConfigMaps and Jobs (namespaced),
// ClusterRoles and CRDs (cluster-scoped), and no other kind.
func served(gvk schema.GroupVersionKind) (bool, error) {
	switch gvk.Kind {
	case "ConfigMap", "Job":
		return true, nil
	case "ClusterRole", "CustomResourceDefinition":
		return false, nil
	}
	return false, errors.New("no matches for kind " + gvk.Kind)
}

func testApp() *sollv1.Application {
	return &sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: "soll", Name: "web"},
		Spec:       sollv1.ApplicationSpec{Destination: sollv1.ApplicationDestination{Namespace: "dest"}},
	}
}

// crd defines kind (plural, in example.com) with scope.
func crd(plural, kind, scope string) string {
	return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ` + plural + `.example.com}
spec:
  group: example.com
  scope: ` + scope + `
  names: {plural: ` + plural + `, kind: ` + kind + `}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
`
}

// TestPrepareScopes: the scope of a kind comes from the cluster, else from
// a CRD among the app's own objects, so that the namespace and the
// tracking id of a custom resource are right before its CRD exists.
func TestPrepareScopes(t *testing.T) {
	objs := decode(t, "", "app.yaml", crd("widgets", "Widget", "Cluster")+"---\n"+crd("gadgets", "Gadget", "Namespaced")+`---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: written}
---
apiVersion: example.com/v1
kind: Gadget
metadata: {name: g}
---
apiVersion: example.com/v1
kind: Gadget
metadata: {name: g2, namespace: own}
---
apiVersion: other.example.com/v1
kind: Unknown
metadata: {name: u}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r, namespace: ignored}
`)
	got, err := prepare(testApp(), objs, newScopes(served, objs))
	if err != nil {
		t.Fatal(err)
	}
	var keys, ids []string
	for _, u := range got {
		keys = append(keys, resource.KeyOf(u).String())
		ids = append(ids, u.GetAnnotations()[resource.TrackingAnnotation])
		if u.GetLabels()[sollv1.ManagedLabel] != "true" {
			t.Errorf("%s has no managed label", resource.KeyOf(u))
		}
	}
	wantKeys := []string{
		"apiextensions.k8s.io/CustomResourceDefinition widgets.example.com",
		"apiextensions.k8s.io/CustomResourceDefinition gadgets.example.com",
		"example.com/Widget w",             // Cluster: a namespace in the manifest is dropped
		"example.com/Gadget dest/g",        // Namespaced: the destination's
		"example.com/Gadget own/g2",        // or its own
		"other.example.com/Unknown dest/u", // unknown to both: taken for namespaced
		"ConfigMap dest/c",
		"rbac.authorization.k8s.io/ClusterRole r",
	}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	if ids[2] != "soll/web:example.com/Widget//w" || ids[3] != "soll/web:example.com/Gadget/dest/g" {
		t.Errorf("tracking ids of the custom resources: %q, %q", ids[2], ids[3])
	}

	// The cluster's answer wins over the app's CRD: it is the scope of
	// the live objects.
	clusterSays := func(gvk schema.GroupVersionKind) (bool, error) {
		if gvk.Kind == "Widget" {
			return true, nil
		}
		return served(gvk)
	}
	got, err = prepare(testApp(), objs, newScopes(clusterSays, objs))
	if err != nil {
		t.Fatal(err)
	}
	if k := resource.KeyOf(got[2]).String(); k != "example.com/Widget written/w" {
		t.Errorf("Widget served as namespaced: key %s", k)
	}
}

// TestPrepareDuplicates: an object defined twice is refused, naming both
// places as precisely as the renderer knows them.
func TestPrepareDuplicates(t *testing.T) {
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\n"
	hook := func(gen string) string {
		return "apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: " + gen + ", annotations: {argocd.argoproj.io/hook: PreSync}}\n"
	}
	kustomized := decode(t, "", "base/kustomization.yaml", cm)
	kustomized[0].Origin.Line, kustomized[0].Origin.Document = 0, 0 // as the Kustomize renderer leaves them
	cases := []struct {
		name string
		objs []rendered
		want string // the error; empty: none
	}{{
		name: "two documents of one file",
		objs: decode(t, "", "app/all.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n---\n"+cm+"---\n"+cm),
		want: "ConfigMap dest/shared is defined twice: in app/all.yaml:5 (document 2) and in app/all.yaml:9 (document 3)",
	}, {
		name: "two files, one an item of a List",
		objs: decode(t, "", "app/a.yaml", cm, "app/list.yaml", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: x}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: shared, namespace: dest}\n"),
		want: "ConfigMap dest/shared is defined twice: in app/a.yaml:1 (document 1) and in app/list.yaml:7 (document 1, item 2 of its List)",
	}, {
		name: "two sources, one Kustomize",
		objs: append(decode(t, "spec.sources[0]", "a/cm.yaml", cm), rendered{Object: kustomized[0].Object, source: "spec.sources[1]"}),
		want: "ConfigMap dest/shared is defined twice: in a/cm.yaml:1 (document 1) of spec.sources[0] and in base/kustomization.yaml of spec.sources[1]",
	}, {
		name: "hooks of one generateName",
		objs: decode(t, "", "hooks.yaml", hook("migrate-")+"---\n"+hook("migrate-")),
		want: "batch/Job dest/migrate-* is defined twice: in hooks.yaml:1 (document 1) and in hooks.yaml:5 (document 2)",
	}, {
		name: "hooks of different generateNames, and one named like a prefix",
		objs: decode(t, "", "hooks.yaml", hook("migrate-")+"---\n"+hook("smoke-")+"---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: migrate}\n"),
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := prepare(testApp(), c.objs, newScopes(served, c.objs))
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(c.objs) {
					t.Errorf("%d objects prepared of %d", len(got), len(c.objs))
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if !strings.HasPrefix(err.Error(), c.want+": ") {
				t.Errorf("error:\n got: %s\nwant: %s: ...", err, c.want)
			}
		})
	}
}

// TestPrepareGenerateNameHook: a hook named by generateName is tracked by
// its generateName, in the destination namespace.
func TestPrepareGenerateNameHook(t *testing.T) {
	objs := decode(t, "", "hook.yaml", "apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: migrate-, annotations: {helm.sh/hook: pre-install}}\n")
	got, err := prepare(testApp(), objs, newScopes(served, objs))
	if err != nil {
		t.Fatal(err)
	}
	u := got[0]
	if u.GetName() != "" || u.GetGenerateName() != "migrate-" || u.GetNamespace() != "dest" {
		t.Errorf("prepared hook: name %q generateName %q namespace %q", u.GetName(), u.GetGenerateName(), u.GetNamespace())
	}
	if id := u.GetAnnotations()[resource.TrackingAnnotation]; id != "soll/web:batch/Job/dest/migrate-*" {
		t.Errorf("tracking id %q", id)
	}
}
