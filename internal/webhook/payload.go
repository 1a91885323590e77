package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// Each provider's payload is decoded into the few fields soll reads; the
// rest is skipped. A field of the wrong JSON type is an unexpected payload.

type githubPayload struct {
	Ref        string `json:"ref"`
	After      string `json:"after"`
	Repository struct {
		CloneURL      string `json:"clone_url"`
		SSHURL        string `json:"ssh_url"`
		HTMLURL       string `json:"html_url"`
		DefaultBranch string `json:"default_branch"`
	} `json:"repository"`
}

// parseGitHubLike reads GitHub push payloads, which Gitea and Forgejo
// imitate.
func parseGitHubLike(name string) func([]byte) ([]Push, error) {
	return func(body []byte) ([]Push, error) {
		var pl githubPayload
		if err := json.Unmarshal(body, &pl); err != nil {
			return nil, fmt.Errorf("%s push payload: %w", name, err)
		}
		r := pl.Repository
		p, err := newPush(name, pl.Ref, pl.After, r.DefaultBranch, r.CloneURL, r.SSHURL, r.HTMLURL)
		if err != nil {
			return nil, fmt.Errorf("%s push payload: %w", name, err)
		}
		return []Push{p}, nil
	}
}

type gitlabProject struct {
	GitHTTPURL    string `json:"git_http_url"`
	GitSSHURL     string `json:"git_ssh_url"`
	WebURL        string `json:"web_url"`
	DefaultBranch string `json:"default_branch"`
}

type gitlabPayload struct {
	ObjectKind  string        `json:"object_kind"`
	Ref         string        `json:"ref"`
	After       string        `json:"after"`
	CheckoutSHA *string       `json:"checkout_sha"`
	Project     gitlabProject `json:"project"`
	// Repository is the older spelling of project, still sent.
	Repository struct {
		URL        string `json:"url"`
		Homepage   string `json:"homepage"`
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
	} `json:"repository"`
}

func parseGitLab(body []byte) ([]Push, error) {
	var pl gitlabPayload
	if err := json.Unmarshal(body, &pl); err != nil {
		return nil, fmt.Errorf("gitlab push payload: %w", err)
	}
	switch pl.ObjectKind {
	case "push", "tag_push":
	case "":
		return nil, errors.New(`gitlab push payload: no "object_kind"`)
	default:
		// A system hook for something else.
		return nil, nil
	}
	// For an annotated tag "after" is the tag object; checkout_sha is the
	// commit. checkout_sha is null when the ref was deleted.
	after := pl.After
	if pl.CheckoutSHA != nil {
		after = *pl.CheckoutSHA
	}
	pr, rp := pl.Project, pl.Repository
	p, err := newPush(GitLab, pl.Ref, after, pr.DefaultBranch,
		pr.GitHTTPURL, pr.GitSSHURL, pr.WebURL, rp.GitHTTPURL, rp.GitSSHURL, rp.Homepage, rp.URL)
	if err != nil {
		return nil, fmt.Errorf("gitlab push payload: %w", err)
	}
	return []Push{p}, nil
}

type bitbucketCloudRef struct {
	Type   string `json:"type"`
	Name   string `json:"name"`
	Target struct {
		Hash string `json:"hash"`
	} `json:"target"`
}

type bitbucketCloudPayload struct {
	Push struct {
		Changes []struct {
			// New is null when the ref was deleted, Old when it was created.
			New *bitbucketCloudRef `json:"new"`
			Old *bitbucketCloudRef `json:"old"`
		} `json:"changes"`
	} `json:"push"`
	Repository struct {
		FullName string `json:"full_name"`
		Links    struct {
			HTML struct {
				Href string `json:"href"`
			} `json:"html"`
		} `json:"links"`
		MainBranch *struct {
			Name string `json:"name"`
		} `json:"mainbranch"`
	} `json:"repository"`
}

func parseBitbucketCloud(body []byte) ([]Push, error) {
	var pl bitbucketCloudPayload
	if err := json.Unmarshal(body, &pl); err != nil {
		return nil, fmt.Errorf("bitbucket cloud push payload: %w", err)
	}
	changes := pl.Push.Changes
	if len(changes) > maxChanges {
		return nil, fmt.Errorf("bitbucket cloud push payload: %d ref changes, more than the %d soll accepts in one request", len(changes), maxChanges)
	}
	repo := pl.Repository
	urls := bitbucketCloudURLs(repo.Links.HTML.Href, repo.FullName)
	var defaultBranch string
	if repo.MainBranch != nil {
		defaultBranch = repo.MainBranch.Name
	}
	var out []Push
	for _, ch := range changes {
		ref, after := ch.New, ""
		if ref != nil {
			after = ref.Target.Hash
		} else if ref = ch.Old; ref == nil {
			continue
		}
		var full string
		switch ref.Type {
		case "branch":
			full = "refs/heads/" + ref.Name
		case "tag":
			full = "refs/tags/" + ref.Name
		default:
			continue // Mercurial bookmarks and named branches of old
		}
		p, err := newPush(BitbucketCloud, full, after, defaultBranch, urls...)
		if err != nil {
			return nil, fmt.Errorf("bitbucket cloud push payload: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// bitbucketCloudURLs derives the clone URLs, which Bitbucket Cloud's push
// payload does not name, from the web URL and the full name: the HTTPS
// clone URL is the web URL, the SSH one git@host:full_name.git.
func bitbucketCloudURLs(webURL, fullName string) []string {
	u, err := url.Parse(webURL)
	if err != nil || u.Host == "" {
		return nil
	}
	if fullName == "" {
		fullName = strings.Trim(u.Path, "/")
	}
	if fullName == "" {
		return []string{webURL}
	}
	return []string{webURL, "https://" + u.Host + "/" + fullName + ".git", "git@" + u.Hostname() + ":" + fullName + ".git"}
}

type bitbucketServerPayload struct {
	Repository struct {
		Links struct {
			Clone []struct {
				Href string `json:"href"`
			} `json:"clone"`
			Self []struct {
				Href string `json:"href"`
			} `json:"self"`
		} `json:"links"`
	} `json:"repository"`
	Changes []struct {
		Ref struct {
			ID string `json:"id"`
		} `json:"ref"`
		RefID  string `json:"refId"`
		ToHash string `json:"toHash"`
	} `json:"changes"`
}

func parseBitbucketServer(body []byte) ([]Push, error) {
	var pl bitbucketServerPayload
	if err := json.Unmarshal(body, &pl); err != nil {
		return nil, fmt.Errorf("bitbucket server push payload: %w", err)
	}
	if len(pl.Changes) > maxChanges {
		return nil, fmt.Errorf("bitbucket server push payload: %d ref changes, more than the %d soll accepts in one request", len(pl.Changes), maxChanges)
	}
	var urls []string
	for _, l := range pl.Repository.Links.Clone {
		urls = append(urls, l.Href)
	}
	for _, l := range pl.Repository.Links.Self {
		urls = append(urls, l.Href)
	}
	var out []Push
	for _, ch := range pl.Changes {
		ref := ch.Ref.ID
		if ref == "" {
			ref = ch.RefID
		}
		// Bitbucket Server does not say which branch is the default.
		p, err := newPush(BitbucketServer, ref, ch.ToHash, "", urls...)
		if err != nil {
			return nil, fmt.Errorf("bitbucket server push payload: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// genericPayload is the generic form documented in the package comment.
type genericPayload struct {
	Repository    string `json:"repository"`
	Ref           string `json:"ref"`
	After         string `json:"after"`
	DefaultBranch string `json:"defaultBranch"`
}

func parseGeneric(body []byte) ([]Push, error) {
	var pl genericPayload
	if err := json.Unmarshal(body, &pl); err != nil {
		return nil, fmt.Errorf("generic push payload: %w", err)
	}
	ref := pl.Ref
	if ref != "" && !strings.HasPrefix(ref, "refs/") {
		ref = "refs/heads/" + ref // a bare name is a branch
	}
	p, err := newPush(Generic, ref, pl.After, pl.DefaultBranch, pl.Repository)
	if err != nil {
		return nil, fmt.Errorf("generic push payload: %w", err)
	}
	return []Push{p}, nil
}

// newPush builds a Push from the fields every payload has, keeping the
// non-empty URLs once each. A payload without a ref or a repository URL is
// not a push soll can use.
func newPush(provider, ref, after, defaultBranch string, urls ...string) (Push, error) {
	if ref == "" {
		return Push{}, errors.New(`it names no ref`)
	}
	// A ref Git itself would refuse (control characters, spaces, "..")
	// cannot be what was pushed; matching it after trimming could trigger
	// the wrong apps.
	if err := plumbing.ReferenceName(ref).Validate(); err != nil {
		return Push{}, fmt.Errorf("ref %q is not a valid Git ref name: check the payload's ref", ref)
	}
	p := Push{Provider: provider, Ref: ref, After: after, DefaultBranch: defaultBranch}
	seen := map[string]bool{}
	for _, u := range urls {
		u = strings.TrimSpace(u)
		if u != "" && !seen[u] {
			seen[u] = true
			p.RepoURLs = append(p.RepoURLs, u)
		}
	}
	if len(p.RepoURLs) == 0 {
		return Push{}, errors.New("it names no repository URL")
	}
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		p.Branch = b
	} else if t, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		p.Tag = t
	}
	if strings.Trim(after, "0") == "" {
		p.After = "" // the all-zero SHA of a deleted ref
	}
	return p, nil
}
