// Package install holds the manifests that install soll into a cluster: the
// CRDs from soll.dev/config/crd, then soll's namespace, its ServiceAccount and
// RBAC, the Deployment that runs `soll run` and the Service in front of its
// API. The non-CRD manifests are Go templates (*.yaml.tmpl) embedded into
// the binary, so `soll install` prints exactly the manifests that match it;
// Options fill in the namespace and the image.
//
// The Helm chart in deploy/chart/soll installs the same objects; a test
// there compares its defaults with these manifests.
package install
