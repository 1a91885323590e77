// Package resource names Kubernetes objects the way soll's engine tracks
// them: by group, kind, namespace and name (a Key), independent of API
// version, so an object keeps its identity when its manifest moves from
// apps/v1beta2 to apps/v1. It also holds the tracking annotation that marks
// an object as managed by an Application.
package resource
