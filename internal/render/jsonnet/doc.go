// Package jsonnet renders an application written in Jsonnet, with
// go-jsonnet as the evaluator.
//
// Every *.jsonnet file directly in the application directory is evaluated,
// in name order, with the external variables and top-level arguments of the
// Application's jsonnet options (strings, or code when code is true). Each
// must evaluate to one object (a Kubernetes object or a List) or to an array
// of objects, where nested arrays are flattened; the JSON then goes through
// render/manifest like any manifest file, so the same checks and limits
// apply, and each object's Origin.File is the .jsonnet file. An object whose
// values are objects is refused rather than searched: soll does not guess
// which nested values are meant to be applied.
//
// Imports (import, importstr, importbin) resolve relative to the importing
// file, then in each library directory of jsonnet.libs (relative to the
// repository root), through a confine.Root: ".." may move around inside the
// repository but not out of it, absolute paths are refused, and symlinks
// out of the repository or in a loop fail the render with an error naming
// the importing file, its line and the import. Every file read counts
// against the render's Budget. Files are named by their path relative to
// the repository root, so std.thisFile and error locations never show
// where the snapshot lives.
//
// Limits: the depth of calls (Renderer.MaxStack), the size of each file's
// JSON and of all of them (MaxFileBytes, MaxTotalBytes), time
// (Limits.Timeout) and memory (Limits.MaxMemoryBytes). go-jsonnet can be
// neither interrupted nor bounded in memory, so the evaluation runs in a
// child process: the soll binary itself, started again with an environment
// marker that this package's init recognises (child.go), with nothing else
// in its environment. Before it evaluates anything, the child confines
// itself with Landlock where the kernel has it (process.RestrictSelf): it
// may then read the snapshot and the system directories and write nothing,
// so that a flaw in the evaluator or the importer could not reach other
// files. The child ends itself once its live heap passes
// MaxMemoryBytes (a watchdog reads the garbage collector's measure every
// 10 ms), and the kernel refuses it data memory beyond about twice that
// (RLIMIT_DATA), which stops one huge allocation at once. Go's runtime
// can crash rather than fail cleanly when the kernel refuses it memory
// mid-collection, so a child that crashed after holding more than
// MaxMemoryBytes (its peak resident set) ran out of memory too; the
// parent reports each of these as a LimitError. At the render's deadline the child's
// process group is killed, so a runaway evaluation never outlives its
// render. Its answer is read up to MaxTotalBytes. A child costs about
// 0.15 s of CPU (the binary's package initialisation) per render, which
// the render cache pays once per commit and application.
//
// Errors are *render.Error values located at the file and line go-jsonnet
// reports, which may be in a library. Their messages go through
// manifest.Sanitize, which drops quoted text: Jsonnet's messages may quote
// values. The message of an `error` expression is shown as written, minus
// quoted text, so it should not be built from secret values. std.trace
// output is discarded.
package jsonnet
