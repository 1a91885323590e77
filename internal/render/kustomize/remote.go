package kustomize

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
)

// errNotGit refuses remote files: kustomize would download them over HTTP,
// and soll fetches Git repositories only.
var errNotGit = errors.New("not a Git repository: soll fetches remote bases from Git only, written repository//path?ref=revision (the // ends the repository, as in https://git.example.com/org/repo.git//deploy?ref=v1); copy single files into the repository")

// errRemoteField refuses remote entries where kustomize takes files only.
var errRemoteField = errors.New("only the resources, bases and components of a kustomization may name remote bases")

// remoteFields are the kustomization fields whose entries may be remote
// bases.
var remoteFields = map[string]bool{"resources": true, "bases": true, "components": true}

// Remote is a remote base as a kustomization names it: a directory of a Git
// repository at a revision.
type Remote struct {
	// RepoURL is the repository as soll's Git layer fetches it:
	// https://host/org/repo.git, ssh://user@host/org/repo or the scp-like
	// user@host:org/repo.
	RepoURL string
	// Path is the base's directory in the repository, cleaned and
	// slash-separated; "." is the repository's root.
	Path string
	// Ref is the revision (the ref or version parameter): a branch, a tag
	// or a commit SHA; empty means the remote's default branch.
	Ref string
}

// Key identifies the snapshot a Remote reads from: its repository and
// revision. render.Request.Remotes is keyed by it.
func (r Remote) Key() string { return r.RepoURL + "?ref=" + r.Ref }

// String writes r the way kustomizations do, without user information.
func (r Remote) String() string {
	s := redact(r.RepoURL) + "//" + r.Path
	if r.Ref != "" {
		s += "?ref=" + r.Ref
	}
	return s
}

// ParseRemote reads a remote base the way kustomize does: an optional
// "git::" prefix; https://, http:// or ssh:// URLs, or the scp-like
// user@host:path; then the repository path, and the directory in it after
// "//", after ".git" or after "_git/<repo>" (for github.com, after the
// first two path elements); then the query, whose ref (or version) is the
// revision. Other query parameters (timeout, submodules) are ignored: soll
// fetches with its own limits and never fetches submodules.
func ParseRemote(s string) (Remote, error) {
	raw := s
	if len(s) >= 5 && strings.EqualFold(s[:5], "git::") {
		s = s[5:]
	}
	s, query, _ := strings.Cut(s, "?")
	var r Remote
	if q, err := url.ParseQuery(query); err == nil {
		r.Ref = q.Get("version")
		if ref := q.Get("ref"); ref != "" {
			r.Ref = ref
		}
	}
	scheme := ""
	for _, p := range []string{"ssh://", "https://", "http://", "file://"} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			scheme, s = p, s[len(p):]
			break
		}
	}
	user := ""
	if m := userAt.FindString(s); m != "" {
		user, s = m, s[len(m):]
	}
	github := strings.HasPrefix(strings.ToLower(s), "github.com/") || strings.HasPrefix(strings.ToLower(s), "github.com:")
	scp := scheme == "" && (user != "" || github)
	switch {
	case scheme == "file://":
		return Remote{}, errors.New("file:// bases would read the controller's disk: name a directory of the repository instead")
	case scheme == "" && !scp:
		return Remote{}, errNotGit
	}
	sep := strings.Index(s, "/")
	if scp {
		if c := strings.Index(s, ":"); c > 0 && (sep < 0 || c < sep) {
			sep = c
		}
	}
	if sep <= 0 {
		return Remote{}, fmt.Errorf("%q: no repository path after the host", redact(raw))
	}
	host, rest := s[:sep+1], s[sep+1:]
	if github {
		if scheme == "ssh://" || user != "" {
			scheme, host = "", "github.com:"
			if user == "" {
				user = "git@"
			}
		} else {
			scheme, host = "https://", "github.com/"
		}
	}
	repoPath, dir, ok := splitRepoPath(rest)
	if !ok && github {
		repoPath, dir, ok = splitSegments(rest, 2)
	}
	if !ok || repoPath == "" {
		return Remote{}, errNotGit
	}
	dir = path.Clean(strings.TrimPrefix(dir, "/"))
	if escapes(dir) {
		return Remote{}, fmt.Errorf("%q: the path leaves the repository", redact(raw))
	}
	r.RepoURL = scheme + user + host + repoPath
	r.Path = dir
	return r, nil
}

// splitRepoPath splits p at the marker that ends the repository: "_git/"
// and the repository name, "//", or ".git".
func splitRepoPath(p string) (repo, dir string, ok bool) {
	if i := strings.Index(p, "_git/"); i >= 0 {
		name, dir, _ := strings.Cut(p[i+len("_git/"):], "/")
		return p[:i+len("_git/")] + name, dir, true
	}
	if i := strings.Index(p, "//"); i >= 0 {
		return p[:i], p[i+2:], true
	}
	if i := strings.Index(p, ".git"); i >= 0 && (len(p) == i+4 || p[i+4] == '/') {
		return p[:i+4], p[i+4:], true
	}
	return "", "", false
}

// splitSegments takes the first n path elements of p as the repository.
func splitSegments(p string, n int) (repo, dir string, ok bool) {
	parts := strings.Split(p, "/")
	if len(parts) < n {
		return "", "", false
	}
	return strings.Join(parts[:n], "/"), strings.Join(parts[n:], "/"), true
}
