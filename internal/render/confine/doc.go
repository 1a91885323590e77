// Package confine keeps a renderer's file access inside the repository
// snapshot it renders.
//
// Repositories are untrusted input: an application path, an include pattern
// or a Helm value file named by a user, or a symlink committed to the
// repository, must never make soll read /etc/passwd, the controller's
// service-account token or another tenant's checkout. Two rules enforce it:
//
//   - Path checks the paths users write: relative, slash-separated, no ".."
//     element at all (even one that would stay inside), no NUL byte. It
//     returns the path cleaned ("./apps/web/" becomes "apps/web").
//   - Root opens files and directories through an os.Root, which resolves
//     every path component, symlinks included, inside the root directory and
//     refuses whatever would leave it, at any depth and without
//     time-of-check/time-of-use races. Symlinks that stay inside the root are
//     followed; symlinks with an absolute target always count as leaving it
//     (they refer to the host, not to the repository); loops are refused.
//
// Errors are the sentinels below, so that callers can wrap them with the path
// (render.Error does) and tests can match them with errors.Is.
package confine
