// Package render turns an application's source, a directory inside a
// repository snapshot, into the Kubernetes objects it describes.
//
// A Renderer takes a Request (the snapshot root, the app's path inside it and
// the options of one tool) and returns a Result: the objects in a
// deterministic order, each with its Origin (file, line, document), so that
// diffs and errors can point back to the source. Rendering is all or
// nothing: a failed render returns no objects, never a partial list that
// could make the sync layer prune what it did not see.
//
// One subpackage per tool implements Renderer (render/directory for plain
// YAML and JSON files, render/kustomize, render/helm, render/jsonnet and
// render/plugin), Detect tells which tool an app directory needs, and Mux
// routes each request to its tool's renderer. render/sops decrypts
// SOPS-encrypted files for the renderers that read files. They share the rules that
// make rendering safe on untrusted repositories:
//
//   - confinement (render/confine): every path a user gives is relative and
//     stays inside the snapshot root, symlinks included;
//   - Limits, counted by a Budget per render: bytes read, files visited,
//     documents, nesting depth, YAML alias expansion and time;
//   - errors as *Error, which name the file and line and never quote file
//     contents, since manifests hold Secrets.
//
// render/manifest decodes YAML and JSON manifest streams into objects for all
// renderers, and render/rendertest holds the contract tests every Renderer
// must pass.
package render
