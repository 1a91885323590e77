// Package process runs the child processes of renderers, bounded: each
// runs in a process group of its own, killed as a whole when the render's
// context ends, when it prints more than its output limit, and after it
// exits, so that nothing it started outlives the render. Standard output
// is collected up to the limit; the start and the end of standard error
// are kept for errors.
//
// A Command with a Sandbox is also confined: the soll binary is started
// again as a trampoline (this package's init recognises it by an
// environment marker) that bounds its data memory, confines its own thread
// with Landlock to the system directories and the paths the Sandbox
// names, and then executes the program in its place, so that the program
// and all it starts stay confined. Children that run soll's own code
// confine themselves with RestrictSelf instead. Landlock reports whether
// the kernel offers Landlock; where it does not, sandboxed programs run
// without file-system confinement and a warning is logged once.
//
// render/plugin runs the operator's plugin programs with it, sandboxed,
// and render/jsonnet runs Jsonnet evaluations in a child soll process,
// which can be killed where a goroutine cannot and confines itself.
package process
