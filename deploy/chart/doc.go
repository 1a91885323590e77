// Package chart builds and publishes soll's Helm chart, the directory soll
// beside this package. The chart installs what `soll install` prints
// (config/install), except the Namespace, with values for the image,
// resources, an Ingress, metrics, SSO, soll's RBAC policy and repository
// credentials kept in the user's own Secrets; its crds directory is a copy
// of config/crd that `make generate` writes.
//
// Package writes the chart archive with the version being built (Version
// turns `git describe` output into a chart version) and Push publishes it
// to an OCI registry as `helm push` does; hack/chart runs both for `make
// chart` and `make chart-push`.
package chart
