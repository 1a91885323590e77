package kube

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// countingMapper serves ConfigMaps once known is set, and counts lookups.
type countingMapper struct {
	meta.RESTMapper
	known bool
	calls int
}

func (m *countingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	m.calls++
	if !m.known {
		return nil, &meta.NoKindMatchError{GroupKind: gk, SearchedVersions: versions}
	}
	return &meta.RESTMapping{Resource: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, Scope: meta.RESTScopeNamespace}, nil
}

func TestMemoizeMappings(t *testing.T) {
	inner := &countingMapper{}
	m := MemoizeMappings(inner).(*memoMapper)
	gk := schema.GroupKind{Kind: "ConfigMap"}
	// Not served yet: asked every time, never remembered.
	for range 2 {
		if _, err := m.RESTMapping(gk, "v1"); !meta.IsNoMatchError(err) {
			t.Fatalf("RESTMapping of an unserved kind = %v, want a no-match error", err)
		}
	}
	inner.known = true
	for range 3 {
		mapping, err := m.RESTMapping(gk, "v1")
		if err != nil || mapping.Resource.Resource != "configmaps" {
			t.Fatalf("RESTMapping = %v, %v", mapping, err)
		}
	}
	if inner.calls != 3 {
		t.Fatalf("%d lookups, want 3 (two misses, then one remembered)", inner.calls)
	}
	if _, err := m.RESTMapping(gk, "v2"); err != nil || inner.calls != 4 {
		t.Fatalf("another version: %v, %d lookups, want 4", err, inner.calls)
	}
	m.forget()
	if _, err := m.RESTMapping(gk, "v1"); err != nil || inner.calls != 5 {
		t.Fatalf("after forget: %v, %d lookups, want 5", err, inner.calls)
	}
}
