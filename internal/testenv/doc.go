// Package testenv gives integration tests a real Kubernetes cluster.
//
// Tests share one local cluster (see soll.dev/localcluster) per `go test`
// run: `make test` starts it and passes its kubeconfig in
// SOLL_TEST_KUBECONFIG; without that variable, a package whose TestMain
// calls Main starts one itself and stops it when its tests end. Tests
// isolate themselves by namespace (Namespace). NewCluster starts a private
// cluster for tests that need several, such as multi-cluster tests.
//
// A test that needs a cluster and cannot get one fails with a message that
// says how to start one; it never skips.
package testenv
