// Package helmtest holds test helpers for Helm charts: packaging charts
// from files, hand-made archives that helm would not write, and an
// in-test chart repository. The Helm renderer's tests and those of the
// renderers and controller that use charts share them.
package helmtest
