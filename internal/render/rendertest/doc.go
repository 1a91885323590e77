// Package rendertest holds the contract every render.Renderer must honour,
// as one test suite that each renderer's tests run against their own
// implementation (the directory renderer now; kustomize, helm, jsonnet and
// plugins as they come):
//
//   - an application renders, twice to the same objects in the same order;
//   - absolute paths, ".." and an application path that is a symlink out of
//     the repository are refused before anything is read;
//   - a missing application path and a canceled context fail;
//   - a failed render returns no Result at all.
//
// Tool-specific behaviour stays in each renderer's own tests.
//
// It also holds the helpers those tests share to lay out repositories on
// disk: WriteFile, WriteFiles, Repo (a repository with its application at
// AppPath) and Symlink.
package rendertest
