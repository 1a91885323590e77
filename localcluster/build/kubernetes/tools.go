//go:build tools

// Package kubernetes pins the Kubernetes control-plane commands that the local
// cluster builds; the blank imports keep go mod tidy from dropping them.
package kubernetes

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
