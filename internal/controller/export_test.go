package controller

import "k8s.io/apimachinery/pkg/types"

// Remembers reports whether the manager's controller holds a record of
// the app key (tests of its lifetime).
func (m *Manager) Remembers(key types.NamespacedName) bool {
	a := &m.reconciler.apps
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.apps[key]
	return ok
}
