package project

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/glob"
)

// CheckApplication reports every way app breaks the rules of p: each source
// whose repository spec.sourceRepos does not allow, and a destination that
// spec.destinations does not allow. The violations are joined into one
// error; nil means app may be deployed.
//
// Repository URLs are compared normalised (see NormalizeRepoURL), patterns
// included, so "https://GitHub.com/org/app.git/" and
// "https://github.com/org/app" are the same repository.
//
// An entry of spec.destinations allows a destination when its server glob
// matches the Application's server or its name glob matches the
// Application's cluster name, and its namespace glob matches the namespace.
// "*" in server or name matches every cluster however the Application
// names it; otherwise a server pattern matches only Applications that give
// a server and a name pattern only those that give a name, because this
// package does not look registered clusters up. The cluster soll runs in
// is known under both names ("in-cluster" and
// https://kubernetes.default.svc). An entry whose namespace starts with "!"
// denies the namespaces it matches on its clusters, whatever other entries
// allow, and allows nothing itself.
//
// app.Namespace, where Applications live, is soll's own namespace. No
// pattern allows it as a destination namespace, "*" included: only an
// entry whose namespace names it exactly does, since what is deployed there
// is soll's own configuration (Applications, Projects, credentials). The
// same rules apply to the namespace of every object an Application
// deploys; see CheckObjectNamespace.
func CheckApplication(p *sollv1.Project, app *sollv1.Application) error {
	var errs []error
	if src := app.Spec.Source; src != nil {
		errs = append(errs, CheckRepo(p, "spec.source.repoURL", src.RepoURL))
	}
	for i, src := range app.Spec.Sources {
		errs = append(errs, CheckRepo(p, fmt.Sprintf("spec.sources[%d].repoURL", i), src.RepoURL))
	}
	errs = append(errs, checkDestination(p, app.Spec.Destination, app.Namespace))
	return errors.Join(errs...)
}

// CheckRepo reports whether spec.sourceRepos of p allows repoURL, which the
// Application's field names: its sources, or a repository they use (a
// kustomization's remote base, a chart repository of its helmCharts).
func CheckRepo(p *sollv1.Project, field, repoURL string) error {
	u := NormalizeRepoURL(repoURL)
	allowed := false
	for _, pattern := range p.Spec.SourceRepos {
		if denied, ok := strings.CutPrefix(pattern, "!"); ok {
			if glob.Match(NormalizeRepoURL(denied), u) {
				return fmt.Errorf("%s: %s is not permitted in project %s (spec.sourceRepos denies it with %q): use another repository or ask an admin to change the project",
					field, redactURL(repoURL), p.Name, pattern)
			}
			continue
		}
		if glob.Match(NormalizeRepoURL(pattern), u) {
			allowed = true
		}
	}
	if allowed {
		return nil
	}
	return fmt.Errorf("%s: %s is not permitted in project %s (spec.sourceRepos %s): use an allowed repository or ask an admin to add it",
		field, redactURL(repoURL), p.Name, allows(p.Spec.SourceRepos, allowingRepo, "repository"))
}

func allowingRepo(pattern string) string {
	if strings.HasPrefix(pattern, "!") {
		return ""
	}
	return pattern
}

// NormalizeRepoURL returns the form in which repository URLs and sourceRepos
// patterns are compared: scheme and host lower-cased, and any trailing "/"
// and ".git" removed; the path keeps its case. The scp-like form
// user@host:path has its host lower-cased too. It works on patterns as well
// as URLs because it never parses the URL.
func NormalizeRepoURL(repoURL string) string {
	u := strings.TrimSpace(repoURL)
	if scheme, rest, ok := strings.Cut(u, "://"); ok {
		authority, path, hasPath := strings.Cut(rest, "/")
		u = strings.ToLower(scheme) + "://" + lowerHost(authority)
		if hasPath {
			u += "/" + path
		}
	} else if authority, path, ok := strings.Cut(u, ":"); ok && !strings.Contains(authority, "/") {
		u = lowerHost(authority) + ":" + path
	}
	for {
		trimmed := strings.TrimSuffix(strings.TrimSuffix(u, "/"), ".git")
		if trimmed == u {
			return u
		}
		u = trimmed
	}
}

// lowerHost lower-cases the host of an authority, keeping the user
// information (a user name may be case-sensitive).
func lowerHost(authority string) string {
	i := strings.LastIndex(authority, "@")
	return authority[:i+1] + strings.ToLower(authority[i+1:])
}

// redactURL drops user information from a URL shown in an error; it may be
// a token. A URL that does not parse is not shown at all, since where its
// user information ends cannot be told.
func redactURL(repoURL string) string {
	if !strings.Contains(repoURL, "://") {
		return repoURL // user@host:path names an SSH login, not a secret
	}
	u, err := url.Parse(repoURL)
	if err != nil {
		return "the repository URL (it does not parse as a URL)"
	}
	if u.User == nil {
		return repoURL
	}
	u.User = nil
	return u.String()
}

// allows describes the allowing entries of a Project list for an error:
// "allows a, b", "allows a, b, c, d, e and 3 more" or "allows no <noun>".
// Negated entries are left out; they deny.
func allows[T any](entries []T, show func(T) string, noun string) string {
	const most = 5
	var shown []string
	more := 0
	for _, e := range entries {
		s := show(e)
		if s == "" {
			continue
		}
		if len(shown) == most {
			more++
			continue
		}
		shown = append(shown, s)
	}
	switch {
	case len(shown) == 0:
		return "allows no " + noun
	case more > 0:
		return fmt.Sprintf("allows %s and %d more", strings.Join(shown, ", "), more)
	default:
		return "allows " + strings.Join(shown, ", ")
	}
}
