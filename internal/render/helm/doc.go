// Package helm renders Helm charts into objects, in process, with helm's own
// chart loader and template engine (the Helm v4 SDK), the way `helm
// template` does: no cluster is contacted and lookup finds nothing.
//
// A chart comes from a directory of the repository snapshot (Request.Path
// holds its Chart.yaml) or from a chart repository (Request.Chart: an
// https:// repository with an index.yaml, or an oci:// registry). Its
// dependencies are those vendored in charts/ (directories or .tgz), and the
// others Chart.yaml lists are fetched from their repository like charts,
// or read from file:// directories inside the repository.
//
// Values merge in helm's order, later wins: the chart's values.yaml, the
// value files (relative to the chart directory, or "$ref/path" in another
// source of the application), values, valuesObject, parameters (--set, then
// --set-string) and file parameters (--set-file). Every path is confined to
// its snapshot like all renderer paths (render/confine); value files from
// URLs are refused.
//
// The output is the CRDs of crds/ (unless skipCrds), then the rendered
// templates by template path, decoded by render/manifest. Hooks stay
// objects with their helm.sh/hook annotations, for the sync engine to
// schedule; test hooks are always dropped, and so are NOTES.txt and empty
// documents.
//
// Untrusted charts are bounded: archives are expanded within the render's
// byte and file limits, every decompressed byte counted (headers, PAX and
// long-name records included) before it is kept, and may hold regular
// files only (no links, no "..", no sparse files); repository indexes and
// archives are read up to a size. Go templates can be neither interrupted
// nor bounded in memory, so the templates run in a child process, as
// Jsonnet evaluations do (child.go): the soll binary itself, started again
// with an environment marker this package's init recognises. The parent
// fetches and reads the chart files and merges the values; the child
// builds the charts with helm's loader, processes dependencies, validates
// values against the schemas, runs the engine and answers with the
// rendered files, which the parent decodes within the render's budget.
// The child ends itself once its live heap passes Limits.MaxMemoryBytes
// (the kernel refuses it data memory beyond about twice that) and once it
// has used twice the render's remaining time in CPU time; at the render's
// Timeout its process group is killed. Each is reported as a LimitError
// naming the chart, and so is an answer larger than the render's output
// limits.
package helm
