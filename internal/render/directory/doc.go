// Package directory renders an application that is a plain directory of
// Kubernetes manifests: *.yaml, *.yml and *.json files, the way
// `kubectl apply -f dir` reads them.
//
// A render has three phases, so that nothing is parsed before every path has
// passed confinement:
//
//  1. walk: list the application directory (and its subdirectories with
//     Recurse) through a confine.Root, apply the Include and Exclude
//     patterns, resolve the symlinks that would be read or walked, and
//     refuse those that leave the repository or loop;
//  2. read: read every selected file within the byte limits;
//  3. decode: decode the files with render/manifest, in path order. When
//     the request has a Decrypter, each file goes through it first, so
//     SOPS-encrypted manifests decode from their plaintext (and their line
//     numbers are those of the plaintext); a file that fails to decrypt
//     fails the render.
//
// The files are sorted by path (byte order of the slash-separated path
// relative to the repository root), so the objects come out in the same
// order on every run and machine. Entries whose names start with "." are
// skipped. Symlinks are followed when they stay inside the repository; a
// symlinked file appears under the link's path, and a file reachable by two
// paths is read twice. Entries that would be neither read nor walked (say a
// symlink named README without Recurse) are not resolved, so they cannot
// fail the render. With Recurse any symlink may be a directory to walk, so
// every symlink is resolved and one that leaves the repository fails the
// render unless an Exclude pattern skips it.
package directory
