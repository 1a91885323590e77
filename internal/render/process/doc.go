// Package process runs the child processes of renderers, bounded: each
// runs in a process group of its own, killed as a whole when the render's
// context ends, when it prints more than its output limit, and after it
// exits, so that nothing it started outlives the render. Standard output
// is collected up to the limit; the start and the end of standard error
// are kept for errors.
//
// render/plugin runs the operator's plugin programs with it, and
// render/jsonnet runs Jsonnet evaluations in a child soll process, which
// can be killed where a goroutine cannot.
package process
