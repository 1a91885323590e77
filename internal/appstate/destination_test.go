package appstate

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	sollv1 "soll.dev/api/v1alpha1"
)

func TestTargetWithoutRegistry(t *testing.T) {
	p := &Pipeline{}
	for _, d := range []sollv1.ApplicationDestination{{Server: InClusterServer}, {Server: InClusterServer + "/"}, {Name: "in-cluster"}, {Name: "in-cluster", Server: InClusterServer}} {
		tg, err := p.Target(d)
		if err != nil {
			t.Errorf("%+v refused: %v", d, err)
			continue
		}
		if tg.Name != sollv1.InClusterName || tg.Server != InClusterServer || !tg.ClusterScoped {
			t.Errorf("%+v: target %+v", d, tg)
		}
	}
	for _, d := range []sollv1.ApplicationDestination{{Server: "https://prod.example.com:6443"}, {Name: "prod"}, {Name: "prod", Server: InClusterServer}} {
		_, err := p.Target(d)
		if err == nil || ReasonOf(err) != ReasonClusterUnavailable || !strings.Contains(err.Error(), "spec.destination: cluster ") || !strings.Contains(err.Error(), "is not registered") {
			t.Errorf("%+v: %v (reason %q)", d, err, ReasonOf(err))
		}
	}
}

func TestWithCluster(t *testing.T) {
	app := &sollv1.Application{Spec: sollv1.ApplicationSpec{Destination: sollv1.ApplicationDestination{Name: "prod", Namespace: "web"}}}
	got := withCluster(app, &Target{Name: "prod", Server: "https://prod.example.com"})
	if d := got.Spec.Destination; d.Name != "prod" || d.Server != "https://prod.example.com" || d.Namespace != "web" {
		t.Errorf("resolved destination %+v", d)
	}
	if app.Spec.Destination.Server != "" {
		t.Errorf("the app itself changed: %+v", app.Spec.Destination)
	}
	if same := withCluster(got, &Target{Name: "prod", Server: "https://prod.example.com"}); same != got {
		t.Error("an app that names both was copied")
	}
}

func TestCheckTarget(t *testing.T) {
	obj := func(kind, ns, name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind(kind)
		u.SetNamespace(ns)
		u.SetName(name)
		return u
	}
	objs := []*unstructured.Unstructured{obj("ConfigMap", "web", "a"), obj("ConfigMap", "db", "b"), obj("Namespace", "", "web")}
	if err := checkTarget(&Target{Name: "all", ClusterScoped: true}, objs); err != nil {
		t.Errorf("unrestricted cluster: %v", err)
	}
	err := checkTarget(&Target{Name: "prod", Namespaces: []string{"web"}}, objs)
	if err == nil {
		t.Fatal("restricted cluster allowed everything")
	}
	msg := err.Error()
	for _, want := range []string{
		"ConfigMap db/b: namespace db is not one that cluster prod lets soll touch (spec.namespaces of Cluster prod: web)",
		"Namespace web: cluster prod does not let soll deploy cluster-scoped objects (spec.clusterResources of Cluster prod)",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "ConfigMap web/a") {
		t.Errorf("an allowed object refused:\n%s", msg)
	}
}
