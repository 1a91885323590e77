// Package localcluster builds and runs a real Kubernetes control plane as
// local processes, for soll's tests and playground.
//
// No container runtime is needed: etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler are built from the Go module
// proxy at pinned versions (the modules under build/), and kwok simulates
// nodes and kubelets, so pods are scheduled and become Running and Ready,
// Deployments become Available and Jobs complete.
//
// A cluster lives in one directory: its certificates, kubeconfigs, etcd data,
// component logs and the process IDs it started. Several clusters run side by
// side with distinct directories and ports. Down stops exactly the processes
// that Up started (checked by PID and process start time) and removes the
// directory.
//
// The package uses only the standard library so that the launcher itself
// builds in seconds; the control-plane binaries are built once and cached
// under a key derived from the pinned versions.
package localcluster
