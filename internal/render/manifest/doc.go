// Package manifest decodes streams of Kubernetes manifests, YAML or JSON, into
// render.Objects that remember their file, line and document.
//
// Every renderer that ends up with manifest text uses it: render/directory
// for the files of a directory, and later Helm for its rendered templates.
// It applies the rules of the render layer while it decodes:
//
//   - multi-document YAML is split on "---"; empty and comment-only
//     documents are skipped; List and *List objects are expanded into their
//     items, as kubectl does;
//   - every document must be a Kubernetes object (apiVersion, kind,
//     metadata.name), or the error names its file and line; a hook (an
//     object with the hook annotation of soll, Argo CD or Helm) may have
//     metadata.generateName instead of a name, since each of its runs is
//     created anew, while every other object is applied by name;
//   - YAML follows the 1.2 core schema of go.yaml.in/yaml/v3: "yes" and "on"
//     stay strings (kubectl's YAML 1.1 turns them into booleans), 0644 is
//     still octal, timestamps stay strings, duplicate keys are an error,
//     merge keys ("<<") work;
//   - Limits are counted in a render.Budget: documents, nesting depth and
//     alias expansion. The YAML is first parsed into nodes, where an alias
//     is a pointer; a linear pass then measures depth and the size aliases
//     would expand to, so an alias bomb is refused before anything is
//     expanded;
//   - errors never quote the file: syntax errors keep the parser's reason
//     without snippets and are located on the line where the text stops
//     being valid YAML, counted from the top of the file.
package manifest
