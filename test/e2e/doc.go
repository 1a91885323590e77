// Package e2e holds end-to-end tests of the built soll binary: the tests
// build cmd/soll once, run it as a user would, and check what it prints and
// does. Later tiers add the API and a real browser against `soll run`.
package e2e
