package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Provider names, as in Push.Provider.
const (
	GitHub          = "github"
	GitLab          = "gitlab"
	BitbucketCloud  = "bitbucket-cloud"
	BitbucketServer = "bitbucket-server"
	Gitea           = "gitea"
	Forgejo         = "forgejo"
	Generic         = "generic"
)

// provider is what the Handler needs to know about one kind of sender.
type provider struct {
	name string
	// secrets returns the configured secrets; the provider is configured
	// when any is non-empty.
	secrets func(c *Config) []string
	// verify authenticates a request of a configured provider, or of an
	// unconfigured one when unsigned requests are allowed.
	verify func(c *Config, h http.Header, q url.Values, body []byte) error
	// isPush reports whether the event header names a push.
	isPush func(event string) bool
	// parse reads the pushes out of a push payload.
	parse func(body []byte) ([]Push, error)
}

func (p *provider) enabled(c *Config) bool {
	if c.AllowUnsigned {
		return true
	}
	for _, s := range p.secrets(c) {
		if s != "" {
			return true
		}
	}
	return false
}

// detect tells the sender by its headers. Gitea also sends X-GitHub-Event
// and Forgejo also sends X-Gitea-Event, so the more specific headers are
// looked at first. Bitbucket Cloud and Server share X-Event-Key; only Cloud
// sends X-Hook-UUID and X-Request-UUID. The headers are the sender's claim:
// the endpoint is only as strict as the weakest provider configured.
func detect(h http.Header) (*provider, string) {
	switch {
	case h.Get("X-Forgejo-Event") != "":
		return &forgejo, h.Get("X-Forgejo-Event")
	case h.Get("X-Gitea-Event") != "":
		return &gitea, h.Get("X-Gitea-Event")
	case h.Get("X-Gitlab-Event") != "":
		return &gitlab, h.Get("X-Gitlab-Event")
	case h.Get("X-Event-Key") != "" && (h.Get("X-Hook-UUID") != "" || h.Get("X-Request-UUID") != ""):
		return &bitbucketCloud, h.Get("X-Event-Key")
	case h.Get("X-Event-Key") != "":
		return &bitbucketServer, h.Get("X-Event-Key")
	case h.Get("X-GitHub-Event") != "":
		return &github, h.Get("X-GitHub-Event")
	}
	event := h.Get("X-Soll-Event")
	if event == "" {
		event = "push"
	}
	return &generic, event
}

var github = provider{
	name:    GitHub,
	secrets: func(c *Config) []string { return []string{c.GitHubSecret} },
	verify:  hmacVerifier(func(c *Config) string { return c.GitHubSecret }, "X-Hub-Signature-256", "sha256="),
	isPush:  is("push"),
	parse:   parseGitHubLike(GitHub),
}

var gitea = provider{
	name:    Gitea,
	secrets: func(c *Config) []string { return []string{c.GiteaSecret} },
	verify:  hmacVerifier(func(c *Config) string { return c.GiteaSecret }, "X-Gitea-Signature", ""),
	isPush:  is("push"),
	parse:   parseGitHubLike(Gitea),
}

var forgejo = provider{
	name:    Forgejo,
	secrets: func(c *Config) []string { return []string{c.GiteaSecret} },
	verify: func(c *Config, h http.Header, _ url.Values, body []byte) error {
		header := "X-Forgejo-Signature"
		if h.Get(header) == "" {
			header = "X-Gitea-Signature" // older Forgejo releases
		}
		return checkHMAC(c, c.GiteaSecret, header, "", h, body)
	},
	isPush: is("push"),
	parse:  parseGitHubLike(Forgejo),
}

var gitlab = provider{
	name:    GitLab,
	secrets: func(c *Config) []string { return []string{c.GitLabSecret} },
	verify: func(c *Config, h http.Header, _ url.Values, _ []byte) error {
		return checkToken(c, c.GitLabSecret, h.Get("X-Gitlab-Token"), "X-Gitlab-Token")
	},
	// System hooks carry pushes too; parseGitLab checks object_kind.
	isPush: is("Push Hook", "Tag Push Hook", "System Hook"),
	parse:  parseGitLab,
}

var bitbucketCloud = provider{
	name:    BitbucketCloud,
	secrets: func(c *Config) []string { return []string{c.BitbucketCloudToken, c.BitbucketCloudSecret} },
	verify: func(c *Config, h http.Header, q url.Values, body []byte) error {
		if c.BitbucketCloudSecret == "" && c.BitbucketCloudToken == "" {
			return checkToken(c, "", "", "")
		}
		if c.BitbucketCloudSecret != "" {
			if err := checkHMAC(c, c.BitbucketCloudSecret, "X-Hub-Signature", "sha256=", h, body); err != nil {
				return err
			}
		}
		if c.BitbucketCloudToken != "" {
			return checkToken(c, c.BitbucketCloudToken, q.Get("token"), `the "token" query parameter`)
		}
		return nil
	},
	isPush: is("repo:push"),
	parse:  parseBitbucketCloud,
}

var bitbucketServer = provider{
	name:    BitbucketServer,
	secrets: func(c *Config) []string { return []string{c.BitbucketServerSecret} },
	verify:  hmacVerifier(func(c *Config) string { return c.BitbucketServerSecret }, "X-Hub-Signature", "sha256="),
	isPush:  is("repo:refs_changed"),
	parse:   parseBitbucketServer,
}

var generic = provider{
	name:    Generic,
	secrets: func(c *Config) []string { return []string{c.GenericSecret} },
	verify:  hmacVerifier(func(c *Config) string { return c.GenericSecret }, "X-Soll-Signature", "sha256="),
	isPush:  is("push"),
	parse:   parseGeneric,
}

func is(events ...string) func(string) bool {
	return func(e string) bool {
		for _, want := range events {
			if e == want {
				return true
			}
		}
		return false
	}
}

// hmacVerifier checks header with checkHMAC and the secret picked from the
// Config.
func hmacVerifier(secret func(*Config) string, header, prefix string) func(*Config, http.Header, url.Values, []byte) error {
	return func(c *Config, h http.Header, _ url.Values, body []byte) error {
		return checkHMAC(c, secret(c), header, prefix, h, body)
	}
}

var errUnsignedRefused = errors.New("no secret is configured for this provider")

// checkHMAC verifies that header holds prefix followed by the hex
// HMAC-SHA256 of body keyed with secret. An empty secret accepts anything
// when unsigned requests are allowed.
func checkHMAC(c *Config, secret, header, prefix string, h http.Header, body []byte) error {
	if secret == "" {
		if c.AllowUnsigned {
			return nil
		}
		return errUnsignedRefused
	}
	got := h.Get(header)
	if got == "" {
		return fmt.Errorf("the request has no %s header", header)
	}
	sig, err := hex.DecodeString(strings.TrimPrefix(got, prefix))
	if err != nil || !strings.HasPrefix(got, prefix) {
		return fmt.Errorf("the %s header is not %shex", header, prefix)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return fmt.Errorf("the %s header does not match the body and the configured secret", header)
	}
	return nil
}

// checkToken compares a plain token with the secret in constant time,
// hashing both first so that not even the length leaks.
func checkToken(c *Config, secret, got, where string) error {
	if secret == "" {
		if c.AllowUnsigned {
			return nil
		}
		return errUnsignedRefused
	}
	if got == "" {
		return fmt.Errorf("the request has no token in %s", where)
	}
	want, have := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(got))
	if subtle.ConstantTimeCompare(want[:], have[:]) != 1 {
		return fmt.Errorf("the token in %s does not match the configured secret", where)
	}
	return nil
}
