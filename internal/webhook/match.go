package webhook

import "strings"

// Matches reports whether a push should refresh a source with repoURL and
// targetRevision.
//
// The repository matches when repoURL names the same host and path as one of
// p.RepoURLs, whatever the scheme, user, port, case, trailing "/" or ".git":
// git@github.com:org/repo.git, ssh://git@github.com:22/org/repo and
// https://github.com/org/repo are one repository. Ports and case are
// ignored because a needless refresh costs one ref listing while a missed
// one leaves the Application stale until the next periodic refresh.
//
// The revision matches when targetRevision is the pushed branch or tag,
// short or full ("main", "refs/heads/main"), or is "" or "HEAD" and the push
// is to the default branch. When the payload does not name the default
// branch (Bitbucket), "HEAD" matches a push to any branch. A commit SHA
// never matches: a pinned commit does not move.
func Matches(p Push, repoURL, targetRevision string) bool {
	return newMatcher(p).matches(repoURL, targetRevision)
}

// matcher holds a push with its repository keys computed once, for
// matching it against many sources.
type matcher struct {
	p    Push
	keys map[string]bool
}

func newMatcher(p Push) *matcher {
	m := &matcher{p: p, keys: make(map[string]bool, len(p.RepoURLs))}
	for _, u := range p.RepoURLs {
		if k := repoKey(u); k != "" {
			m.keys[k] = true
		}
	}
	return m
}

func (m *matcher) matches(repoURL, targetRevision string) bool {
	k := repoKey(repoURL)
	return k != "" && m.keys[k] && revisionMatches(m.p, strings.TrimSpace(targetRevision))
}

func revisionMatches(p Push, rev string) bool {
	switch {
	case rev == "" || rev == "HEAD":
		return p.Branch != "" && (p.DefaultBranch == "" || p.Branch == p.DefaultBranch)
	case rev == p.Ref:
		return true
	case p.Branch != "":
		return rev == p.Branch
	case p.Tag != "":
		return rev == p.Tag
	}
	return false
}

// repoKey reduces a repository URL to lower-case "host/path": no scheme,
// user, port, query, trailing "/" or ".git". The scp-like form
// [user@]host:path is understood. It returns "" for what is not a remote
// repository URL.
func repoKey(raw string) string {
	s := strings.TrimSpace(raw)
	var host, path string
	if _, rest, ok := strings.Cut(s, "://"); ok {
		host, path, _ = strings.Cut(rest, "/")
		host = host[strings.LastIndex(host, "@")+1:]
		host = stripPort(host)
	} else {
		var ok bool
		host, path, ok = strings.Cut(s, ":")
		if !ok || strings.Contains(host, "/") {
			return "" // a local path
		}
		host = host[strings.LastIndex(host, "@")+1:]
		if strings.HasPrefix(host, "[") {
			host = strings.Trim(host, "[]")
		}
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	path = strings.Trim(path, "/")
	path = strings.TrimSuffix(path, ".git")
	path = strings.TrimRight(path, "/")
	if host == "" || path == "" {
		return ""
	}
	return strings.ToLower(host + "/" + path)
}

// stripPort removes ":port" from host[:port], keeping IPv6 literals whole.
func stripPort(host string) string {
	if strings.HasPrefix(host, "[") {
		if end := strings.Index(host, "]"); end > 0 {
			return host[1:end]
		}
		return host
	}
	if i := strings.LastIndex(host, ":"); i >= 0 {
		return host[:i]
	}
	return host
}
