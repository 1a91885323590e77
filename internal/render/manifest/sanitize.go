package manifest

// Sanitize reduces a parser's or a tool's error message to its reason, the
// way Decode does for its own errors: first line only, quoted input removed,
// at most 200 bytes. Renderers use it on messages of libraries that may
// quote the content of files or values, which can hold Secrets.
func Sanitize(msg string) string { return sanitize(msg) }
