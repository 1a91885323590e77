// Package e2e holds end-to-end tests of the built soll binary: the tests
// build cmd/soll once and run it as a user would: `soll run` as a process
// of its own on the local cluster, and the CLI against it, each command a
// process with its own configuration file. With SOLL_TEST_KUBECONFIG unset
// they start a local cluster (see testenv.Main).
package e2e
