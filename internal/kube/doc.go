// Package kube wraps the Kubernetes API as the engine needs it: server-side
// apply (for real or as a dry run) of unstructured objects with soll's field
// manager, and reads and deletes by resource.Key. It resolves kinds to
// resources through a discovery-backed REST mapper that refreshes itself
// when a kind is unknown (a CRD applied a moment ago).
package kube
