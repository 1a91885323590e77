// Package devenv holds what soll's local playground and benchmark share
// outside of tests: a Git repository created from a directory and served
// over smart HTTP with `git http-backend` (counting requests, so Git
// traffic can be measured), and installing soll's CRDs into a cluster.
// Tests use internal/testenv, which builds on testing.TB instead.
package devenv
