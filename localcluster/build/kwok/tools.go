//go:build tools

// Package kwok pins the kwok command that the local cluster builds; the blank
// import keeps go mod tidy from dropping it.
package kwok

import _ "sigs.k8s.io/kwok/cmd/kwok"
