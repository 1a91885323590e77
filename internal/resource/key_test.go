package resource

import (
	"strings"
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

func TestKeyOfGenerateName(t *testing.T) {
	hook := obj("batch/v1", "Job", "web", "", nil)
	hook.SetGenerateName("migrate-")
	k := KeyOf(hook)
	want := Key{Group: "batch", Kind: "Job", Namespace: "web", Name: "migrate-*"}
	if k != want {
		t.Fatalf("KeyOf = %+v, want %+v", k, want)
	}
	if prefix, ok := k.GenerateName(); !ok || prefix != "migrate-" {
		t.Errorf("GenerateName() = %q, %v", prefix, ok)
	}
	if _, ok := (Key{Kind: "Job", Name: "migrate"}).GenerateName(); ok {
		t.Error("a plain name counts as a generateName")
	}
	// The tracking annotation of a hook to be created parses, so that
	// changes of its runs wake the app as those of other hooks do.
	if _, _, got, ok := ParseTrackingID(TrackingID("soll", "web", k)); !ok || got != k {
		t.Errorf("ParseTrackingID of a generateName key = %+v, %v", got, ok)
	}
	// A name wins over generateName, as in the API server.
	hook.SetName("fixed")
	if got := KeyOf(hook).Name; got != "fixed" {
		t.Errorf("named object: KeyOf name = %q", got)
	}
}

func TestKeyNames(t *testing.T) {
	gen := Key{Group: "batch", Kind: "Job", Namespace: "web", Name: "migrate-*"}
	long := Key{Group: "batch", Kind: "Job", Namespace: "web", Name: strings.Repeat("a", 60) + "-*"}
	tests := []struct {
		k, key Key
		want   bool
	}{
		{gen, Key{Group: "batch", Kind: "Job", Namespace: "web", Name: "migrate-x7k2p"}, true},
		{gen, gen, true},
		{gen, Key{Group: "batch", Kind: "Job", Namespace: "web", Name: "migrate-x7k2"}, false},                    // too short
		{gen, Key{Group: "batch", Kind: "Job", Namespace: "web", Name: "migrate-x7k2pq"}, false},                  // too long
		{gen, Key{Group: "batch", Kind: "Job", Namespace: "other", Name: "migrate-x7k2p"}, false},                 // namespace
		{gen, Key{Group: "", Kind: "Pod", Namespace: "web", Name: "migrate-x7k2p"}, false},                        // kind
		{gen, Key{Group: "batch", Kind: "Job", Namespace: "web", Name: "unrelated-x"}, false},                     // prefix
		{long, Key{Group: "batch", Kind: "Job", Namespace: "web", Name: strings.Repeat("a", 58) + "b2c4d"}, true}, // prefix cut to 58
		{Key{Kind: "ConfigMap", Namespace: "web", Name: "a"}, Key{Kind: "ConfigMap", Namespace: "web", Name: "a"}, true},
		{Key{Kind: "ConfigMap", Namespace: "web", Name: "a"}, Key{Kind: "ConfigMap", Namespace: "web", Name: "ab"}, false},
	}
	for _, tt := range tests {
		if got := tt.k.Names(tt.key); got != tt.want {
			t.Errorf("%s.Names(%s) = %v, want %v", tt.k, tt.key, got, tt.want)
		}
	}
}

// TestManagedByClusterScopedWithNamespace: an object of a cluster-scoped
// kind annotated when its kind was unknown, with the destination namespace
// in its tracking id, is the app's own.
func TestManagedByClusterScopedWithNamespace(t *testing.T) {
	id := TrackingID("soll", "crds", Key{Group: "example.com", Kind: "Widget", Namespace: "dest", Name: "w"})
	live := obj("example.com/v1", "Widget", "", "w", map[string]string{TrackingAnnotation: id})
	if !ManagedBy(live, "soll", "crds") {
		t.Error("cluster-scoped object annotated with a namespace is not recognised as the app's")
	}
	other := obj("example.com/v1", "Widget", "", "w2", map[string]string{TrackingAnnotation: id})
	if ManagedBy(other, "soll", "crds") {
		t.Error("a cluster-scoped copy of another name counts as the app's")
	}
	// A namespaced object in another namespace is a copy, as before.
	cp := obj("example.com/v1", "Widget", "elsewhere", "w", map[string]string{TrackingAnnotation: id})
	if ManagedBy(cp, "soll", "crds") {
		t.Error("a namespaced copy in another namespace counts as the app's")
	}
}
