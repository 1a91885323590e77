// Package devenv holds what soll's local playground, benchmark and tests
// share: a Git repository created from a directory and served over smart
// HTTP (with devenv/githttp, counting requests, so Git traffic can be
// measured), and installing soll's CRDs into a cluster. Tests reach both
// through internal/testenv (InstallCRDs) and internal/testenv/gitserver,
// which build on testing.TB.
package devenv
