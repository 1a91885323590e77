package confine

import (
	"errors"
	"path"
	"strings"
)

// The reasons a path is refused.
var (
	// ErrAbsolute: the user gave an absolute path.
	ErrAbsolute = errors.New("absolute paths are not allowed: give a path relative to the repository root")
	// ErrParent: the user gave a path with a ".." element.
	ErrParent = errors.New(`".." is not allowed: the path must stay inside the repository`)
	// ErrEscape: a symlink on the path resolves outside the root.
	ErrEscape = errors.New("a symlink on this path resolves outside the repository (absolute symlinks always do)")
	// ErrLoop: symlinks on the path form a loop.
	ErrLoop = errors.New("symlinks on this path form a loop")
	// ErrNotRegular: a file to read is a device, pipe or socket.
	ErrNotRegular = errors.New("not a regular file")
	// ErrInvalid: the path is empty where a file is needed or holds a NUL
	// byte.
	ErrInvalid = errors.New("invalid path")
)

// Path checks a path written by a user (an application path, a value file)
// and returns it cleaned with path.Clean. "" and "." both mean the root and
// return ".".
//
// Path refuses absolute paths and any ".." element, even "a/../b", which
// would stay inside: such paths are never needed and are the usual way to
// probe for escapes, so refusing them keeps the rule easy to state.
func Path(p string) (string, error) {
	if strings.IndexByte(p, 0) >= 0 {
		return "", ErrInvalid
	}
	if strings.HasPrefix(p, "/") {
		return "", ErrAbsolute
	}
	for _, elem := range strings.Split(p, "/") {
		if elem == ".." {
			return "", ErrParent
		}
	}
	return path.Clean(p), nil
}
