package kube

import (
	"strings"
	gosync "sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// MemoizeMappings returns m with its RESTMapping answers remembered: a
// kind's resource and scope do not change while it is served, and the
// mappers client-go and controller-runtime build search their tables at
// every call, which every read of a cached object pays. Only found
// mappings are remembered, so a kind served later is still looked up.
func MemoizeMappings(m meta.RESTMapper) meta.RESTMapper {
	return &memoMapper{RESTMapper: m}
}

type memoMapper struct {
	meta.RESTMapper
	mappings gosync.Map // mappingKey -> *meta.RESTMapping
}

func mappingKey(gk schema.GroupKind, versions []string) string {
	return gk.Group + "/" + gk.Kind + "/" + strings.Join(versions, ",")
}

func (m *memoMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	k := mappingKey(gk, versions)
	if v, ok := m.mappings.Load(k); ok {
		return v.(*meta.RESTMapping), nil
	}
	mapping, err := m.RESTMapper.RESTMapping(gk, versions...)
	if err != nil {
		return nil, err
	}
	m.mappings.Store(k, mapping)
	return mapping, nil
}

// forget drops every remembered mapping, after the underlying mapper was
// reset.
func (m *memoMapper) forget() { m.mappings.Clear() }
