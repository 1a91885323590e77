//go:build tools

// Package etcd pins the etcd server that the local cluster builds; the blank
// import keeps go mod tidy from dropping it.
package etcd

import _ "go.etcd.io/etcd/server/v3"
