package git

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// endpoint is a parsed repository URL in the forms this package needs.
type endpoint struct {
	// key identifies the repository in caches; see NormalizeURL.
	key string
	// display names the repository in errors and logs: the URL as given,
	// without HTTP user information (a user name may itself be a token).
	display string
	// transport is the URL handed to go-git. HTTP user information is
	// removed and passed as explicit auth instead, so go-git's own errors
	// cannot echo it.
	transport string
	scheme    string // http, https, ssh or git
	// hostPort is host:port for SSH host key checks.
	hostPort string
	// urlUser and urlPassword come from HTTP user information.
	urlUser, urlPassword string
	// sshUser is the SSH login, "git" unless the URL names one.
	sshUser string
}

// scpLike matches Git's scp-like syntax, [user@]host:path, which has no
// scheme and whose host part has no slash.
var scpLike = regexp.MustCompile(`^(?:([^@/:]+)@)?([^@/:]+):(.*)$`)

var defaultPorts = map[string]string{"http": "80", "https": "443", "ssh": "22", "git": "9418"}

// NormalizeURL returns the cache identity of a repository URL: the scheme
// and the lower-cased host (without the scheme's default port and without
// user information), followed by the path with its case kept and any
// trailing "/" and ".git" removed. The scp-like form git@host:org/repo
// normalises like ssh://host/org/repo. Stats are keyed by this form.
func NormalizeURL(repoURL string) (string, error) {
	ep, err := parseEndpoint(repoURL)
	if err != nil {
		return "", err
	}
	return ep.key, nil
}

func parseEndpoint(raw string) (endpoint, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return endpoint{}, fmt.Errorf("empty repository URL")
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return endpoint{}, fmt.Errorf("repository URL contains a control character")
	}
	if !strings.Contains(raw, "://") {
		return parseSCP(raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the URL, which may hold a password.
		return endpoint{}, fmt.Errorf("invalid repository URL %s", redactURL(raw))
	}
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case "http", "https", "ssh", "git":
	case "file":
		return endpoint{}, fmt.Errorf("repository URL %s: local file repositories are not supported", redactURL(raw))
	default:
		return endpoint{}, fmt.Errorf("repository URL %s: unsupported scheme %q (use https, http, ssh or git)", redactURL(raw), u.Scheme)
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return endpoint{}, fmt.Errorf("repository URL %s has no host", redactURL(raw))
	}
	port := u.Port()
	if port == defaultPorts[scheme] {
		port = ""
	}
	hostPort := host
	if port != "" {
		hostPort = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		hostPort = "[" + host + "]"
	}
	ep := endpoint{
		scheme: scheme,
		key:    scheme + "://" + hostPort + normalizePath(u.Path),
	}
	clean := *u
	clean.Fragment, clean.RawFragment = "", ""
	// git tolerates a trailing slash; go-git would append "/info/refs"
	// to it and ask for "repo//info/refs".
	clean.Path = strings.TrimRight(clean.Path, "/")
	clean.RawPath = ""
	switch scheme {
	case "http", "https":
		if u.User != nil {
			ep.urlUser = u.User.Username()
			ep.urlPassword, _ = u.User.Password()
		}
		clean.User = nil
		ep.display = clean.String()
		ep.transport = ep.display
	case "ssh":
		ep.sshUser = "git"
		if u.User != nil {
			if _, ok := u.User.Password(); ok {
				return endpoint{}, fmt.Errorf("repository URL %s: ssh URLs must not contain a password; use an SSH private key", redactURL(raw))
			}
			if name := u.User.Username(); name != "" {
				ep.sshUser = name
			}
		}
		p := u.Port()
		if p == "" {
			p = "22"
		}
		ep.hostPort = net.JoinHostPort(host, p)
		ep.display = clean.String()
		ep.transport = ep.display
	case "git":
		clean.User = nil
		ep.display = clean.String()
		ep.transport = ep.display
	}
	return ep, nil
}

// parseSCP parses [user@]host:path, handing go-git the URL unchanged: its
// path is relative to the login's home on plain SSH servers, which the
// ssh:// form cannot express.
func parseSCP(raw string) (endpoint, error) {
	m := scpLike.FindStringSubmatch(raw)
	if m == nil || m[3] == "" {
		return endpoint{}, fmt.Errorf("repository URL %q is neither a URL with a scheme nor of the form user@host:path", raw)
	}
	user, host, path := m[1], strings.ToLower(m[2]), m[3]
	if user == "" {
		user = "git"
	}
	return endpoint{
		key:       "ssh://" + host + normalizePath("/"+strings.TrimPrefix(path, "/")),
		display:   raw,
		transport: raw,
		scheme:    "ssh",
		hostPort:  net.JoinHostPort(host, "22"),
		sshUser:   user,
	}, nil
}

func normalizePath(p string) string {
	for {
		trimmed := strings.TrimSuffix(strings.TrimSuffix(p, "/"), ".git")
		if trimmed == p {
			break
		}
		p = trimmed
	}
	if p != "" && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// redactURL returns raw without user information, for error messages
// about URLs that did not parse into an endpoint.
func redactURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	authority, path, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		authority = authority[i+1:]
	}
	if path != "" || strings.HasSuffix(rest, "/") {
		return scheme + "://" + authority + "/" + path
	}
	return scheme + "://" + authority
}
