package project

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
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
// A URL with a dot segment is refused whatever the patterns (see
// CheckRepoURL).
func CheckRepo(p *sollv1.Project, field, repoURL string) error {
	return CheckRepoPatterns(p.Name, p.Spec.SourceRepos, field, repoURL)
}

// CheckRepoPatterns is CheckRepo with the name and the sourceRepos patterns
// of a Project, for callers that do not hold the Project (a renderer
// checking the repositories of chart dependencies).
func CheckRepoPatterns(project string, sourceRepos []string, field, repoURL string) error {
	if err := CheckRepoURL(field, repoURL); err != nil {
		return err
	}
	u := NormalizeRepoURL(repoURL)
	allowed := false
	for _, pattern := range sourceRepos {
		if denied, ok := strings.CutPrefix(pattern, "!"); ok {
			if glob.Match(NormalizeRepoURL(denied), u) {
				return fmt.Errorf("%s: %s is not permitted in project %s (spec.sourceRepos denies it with %q): use another repository or ask an admin to change the project",
					field, redactURL(repoURL), project, pattern)
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
		field, redactURL(repoURL), project, allows(sourceRepos, allowingRepo, "repository"))
}

// CheckRepoURL refuses a repository URL, which field names, whose path has
// a "." or ".." segment, in plain or percent-encoded form (%2e), a
// backslash (plain or %5c) or an encoded slash (%2f). Such a URL names another repository than it
// seems to: "https://git.example.com/team-a/../team-b/cfg" matches the
// pattern "https://git.example.com/team-a/*" but a server resolves it to
// team-b/cfg. No repository needs one, so they are refused rather than
// resolved.
func CheckRepoURL(field, repoURL string) error {
	_, p := splitRepoURL(NormalizeRepoURL(repoURL))
	bad := ""
	switch {
	case strings.Contains(p, `\`) || strings.Contains(strings.ToLower(p), "%5c"):
		bad = "a backslash"
	case strings.Contains(strings.ToLower(p), "%2f"):
		// "team-a/..%2fteam-b" has no ".." segment here, but a server
		// that decodes the slash sees one.
		bad = "an encoded slash (%2f)"
	case badEscape(repoURL):
		// "%2%65" is "%2e" once decoded: a server that decodes twice,
		// or leniently, sees a dot segment the checks never saw.
		bad = "a \"%\" that is not followed by two hex digits"
	default:
		for seg := range strings.FieldsFuncSeq(p, func(r rune) bool { return r == '/' || r == '?' || r == '#' }) {
			if seg == "." || seg == ".." {
				bad = fmt.Sprintf("the path segment %q", seg)
				break
			}
		}
	}
	if bad == "" {
		return nil
	}
	return fmt.Errorf("%s: %s has %s (plain or percent-encoded), which could name another repository than the URL seems to: write the repository's URL without \".\" or \"..\" segments, backslashes or encoded slashes",
		field, redactURL(repoURL), bad)
}

// badEscape reports whether s has a "%" that does not start a
// percent-encoded byte.
func badEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && (i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2])) {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// splitRepoURL splits a normalised URL into its scheme and authority (or
// the host of the scp-like form) and its path.
func splitRepoURL(u string) (authority, path string) {
	if scheme, rest, ok := strings.Cut(u, "://"); ok {
		a, p, _ := strings.Cut(rest, "/")
		return scheme + "://" + a, p
	}
	if a, p, ok := strings.Cut(u, ":"); ok && !strings.Contains(a, "/") {
		return a, p
	}
	return "", u
}

func allowingRepo(pattern string) string {
	if strings.HasPrefix(pattern, "!") {
		return ""
	}
	return pattern
}

// NormalizeRepoURL returns the form in which repository URLs and sourceRepos
// patterns are compared: scheme and host lower-cased, percent-encoded
// unreserved characters in the path decoded ("%61" is "a", "%2e" is ".",
// as RFC 3986 section 6.2.2.2 has it, so that an encoded name matches the
// patterns its plain form does), and any trailing "/" and ".git" removed;
// the path keeps its case. The scp-like form user@host:path has its host
// lower-cased too. It works on patterns as well as URLs because it never
// parses the URL. It does not resolve dot segments: CheckRepoURL refuses
// them.
func NormalizeRepoURL(repoURL string) string {
	u := strings.TrimSpace(repoURL)
	if scheme, rest, ok := strings.Cut(u, "://"); ok {
		authority, path, hasPath := strings.Cut(rest, "/")
		u = strings.ToLower(scheme) + "://" + lowerHost(authority)
		if hasPath {
			u += "/" + decodeAllUnreserved(path)
		}
	} else if authority, path, ok := strings.Cut(u, ":"); ok && !strings.Contains(authority, "/") {
		u = lowerHost(authority) + ":" + decodeAllUnreserved(path)
	}
	for {
		trimmed := strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(u, "/"), ".git"))
		if trimmed == u {
			return u
		}
		u = trimmed
	}
}

// decodeAllUnreserved decodes unreserved characters until none is left
// encoded: "%2%65" decodes to "%2e", which is "." once decoded again, and
// normalising must give the same answer however often it is applied.
func decodeAllUnreserved(s string) string {
	for {
		d := decodeUnreserved(s)
		if d == s {
			return s
		}
		s = d
	}
}

// decodeUnreserved decodes the percent-encoded unreserved characters of s
// (letters, digits, "-", ".", "_", "~"), which mean the same encoded or
// not; other escapes stay as they are.
func decodeUnreserved(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if c, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil && unreserved(byte(c)) {
				b.WriteByte(byte(c))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
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
