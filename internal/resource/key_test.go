package resource

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func obj(apiVersion, kind, ns, name string, annotations map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetAnnotations(annotations)
	return u
}

func TestTrackingIDRoundTrip(t *testing.T) {
	keys := []Key{
		{Group: "apps", Kind: "Deployment", Namespace: "wordpress", Name: "wordpress"},
		{Kind: "Namespace", Name: "wordpress"},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:aggregate-to-edit"},
	}
	for _, k := range keys {
		v := TrackingID("soll", "wordpress", k)
		ns, app, got, ok := ParseTrackingID(v)
		if !ok || ns != "soll" || app != "wordpress" || got != k {
			t.Errorf("ParseTrackingID(%q) = %q %q %+v %v, want soll wordpress %+v", v, ns, app, got, ok, k)
		}
	}
	for _, bad := range []string{"", "x", "soll:apps/Deployment/a/b", "soll/app:apps/Deployment", "soll/app:apps//ns/n", "soll/app:apps/Kind/ns/"} {
		if _, _, _, ok := ParseTrackingID(bad); ok {
			t.Errorf("ParseTrackingID(%q) accepted a malformed value", bad)
		}
	}
}

func TestManagedByRejectsCopies(t *testing.T) {
	k := Key{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "web"}
	id := TrackingID("soll", "web", k)
	ours := obj("apps/v1", "Deployment", "web", "web", map[string]string{TrackingAnnotation: id})
	if !ManagedBy(ours, "soll", "web") {
		t.Fatal("own object not recognised")
	}
	// Same annotation copied onto another object: not ours.
	cp := obj("apps/v1", "Deployment", "web", "web-copy", map[string]string{TrackingAnnotation: id})
	if ManagedBy(cp, "soll", "web") {
		t.Error("a copy carrying our annotation counts as managed")
	}
	if ManagedBy(ours, "soll", "other") {
		t.Error("object counted as managed by another app")
	}
	if ManagedBy(obj("apps/v1", "Deployment", "web", "web", nil), "soll", "web") {
		t.Error("object without annotation counts as managed")
	}
}

func TestKeyString(t *testing.T) {
	if got := (Key{Group: "apps", Kind: "Deployment", Namespace: "a", Name: "b"}).String(); got != "apps/Deployment a/b" {
		t.Errorf("got %q", got)
	}
	if got := (Key{Kind: "Namespace", Name: "b"}).String(); got != "Namespace b" {
		t.Errorf("got %q", got)
	}
}
