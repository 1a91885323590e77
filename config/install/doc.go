// Package install holds the manifests that install soll into a cluster: the
// CRDs from soll.dev/config/crd, then soll's namespace, its ServiceAccount and
// RBAC, and the Deployment that runs `soll run`. The non-CRD manifests are Go
// templates (*.yaml.tmpl) embedded into the binary, so `soll install` prints
// exactly the manifests that match it; Options fill in the namespace and the
// image.
package install
