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
// byte and file limits and may hold regular files only (no links, no ".."),
// repository indexes and archives are read up to a size, and templates run
// under the render's Timeout. helm's engine takes no context, so it runs in
// a goroutine that the render abandons on timeout; the template functions
// are wrapped to fail once the render has ended, which stops most runaway
// templates at their next function call (see runEngine).
package helm
