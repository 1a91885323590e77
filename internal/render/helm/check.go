package helm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"

	"soll.dev/internal/source"
)

// Bounds of the registry catalog a check reads to find the charts under
// an oci:// URL.
const (
	catalogPageSize = 1000
	catalogMaxPages = 10
	// shownRepositories is how many repository names a check's answer
	// names.
	shownRepositories = 5
)

// CheckRepository tests creds against the chart repository repoURL, with
// the requests, limits and authentication of chart downloads, within
// timeout: an https:// (or http:// without credentials) repository must
// serve a valid index.yaml; an oci:// registry must accept the
// credentials, and, when it lists its repositories, hold some under the
// URL's path. It returns what it found, such as "Helm repository with 3
// charts". Errors say what to do and never hold a secret; one for a
// repository that is not there matches source.ErrRepositoryNotFound, one
// for refused credentials source.ErrAuthentication.
func CheckRepository(ctx context.Context, repoURL string, creds source.Credentials, timeout time.Duration) (string, error) {
	u, err := parseRepoURL(repoURL, creds)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	f := &fetcher{ctx: ctx, maxIndexBytes: DefaultMaxIndexBytes, maxChartBytes: DefaultMaxChartBytes, timeout: timeout}
	client, err := f.client(creds)
	if err != nil {
		return "", err
	}
	var found string
	if u.Scheme == "oci" {
		found, err = f.checkOCI(client, u, creds)
	} else {
		found, err = f.checkHTTP(client, u, creds)
	}
	if err != nil && ctx.Err() != nil {
		return "", fmt.Errorf("%s: no answer within %s: check that the host is reachable from soll", u.Redacted(), timeout)
	}
	return found, err
}

func (f *fetcher) checkHTTP(client *http.Client, u *url.URL, creds source.Credentials) (string, error) {
	index, err := f.index(client, u, creds)
	if errors.Is(err, source.ErrRepositoryNotFound) {
		return "", fmt.Errorf("no Helm repository at %s (%w): check the URL, which names the directory holding index.yaml", u.Redacted(), err)
	}
	if err != nil {
		return "", err
	}
	return "Helm repository with " + count(len(index.Entries), "chart"), nil
}

// checkOCI logs in to the registry as `helm registry login` does, then
// looks for repositories under the URL's path in the registry's catalog.
// Registries that list no catalog (most public ones) leave the path
// unchecked: the check says so.
func (f *fetcher) checkOCI(client *http.Client, u *url.URL, creds source.Credentials) (string, error) {
	reg, err := remote.NewRegistry(u.Host)
	if err != nil {
		return "", fmt.Errorf("registry host %q is not valid: give oci://host/path", u.Host)
	}
	authorizer := ociAuthorizer(client, u.Host, creds, false)
	reg.Client = authorizer
	// Registries with token services may want OAuth2 (POST) or the
	// distribution token protocol (GET): try both, like helm.
	authorizer.ForceAttemptOAuth2 = true
	if err = reg.Ping(f.ctx); err != nil {
		authorizer.ForceAttemptOAuth2 = false
		err = reg.Ping(f.ctx)
	}
	switch {
	case errors.Is(err, errdef.ErrNotFound):
		return "", &statusError{u.Host + " does not serve the OCI distribution API (GET /v2/ is 404 Not Found): check the URL", source.ErrRepositoryNotFound}
	case err != nil:
		return "", f.ociError(err, "log in to registry "+u.Host)
	}
	accepted := "OCI registry " + u.Host + " accepted the credentials"
	if creds.IsZero() {
		accepted = "OCI registry " + u.Host + " answered"
	}

	path := strings.Trim(u.Path, "/")
	var under []string
	itself := false
	reg.RepositoryListPageSize = catalogPageSize
	pages := 0
	err = reg.Repositories(f.ctx, "", func(repos []string) error {
		for _, r := range repos {
			switch {
			case path == "" || strings.HasPrefix(r, path+"/"):
				under = append(under, r)
			case r == path:
				itself = true
			}
		}
		if pages++; pages >= catalogMaxPages {
			return errEnough
		}
		return nil
	})
	complete := err == nil
	where := path + "/"
	if path == "" {
		where = "the registry's root"
	}
	switch {
	case len(under) > 0:
		// Registries need not list their catalog in order.
		slices.Sort(under)
		names := under[:min(len(under), shownRepositories)]
		for i, n := range names {
			names[i] = strings.TrimPrefix(n, path+"/")
		}
		if len(under) > len(names) {
			names = append(names, "...")
		}
		return fmt.Sprintf("%s; %s under %s: %s", accepted, count(len(under), "repository"), where, strings.Join(names, ", ")), nil
	case itself:
		parent := *u
		parent.Path = u.Path[:strings.LastIndex(strings.TrimSuffix(u.Path, "/"), "/")]
		chart := strings.TrimPrefix(path, strings.Trim(parent.Path, "/")+"/")
		return "", &statusError{fmt.Sprintf("%s is a chart, not the repository holding charts: give the URL %s and the chart name %s",
			u.Redacted(), parent.Redacted(), chart), source.ErrRepositoryNotFound}
	case complete:
		return "", &statusError{fmt.Sprintf("%s; but it holds no repository under %s that these credentials can see: check the URL, which names the namespace holding the charts (oci://host/charts for the chart oci://host/charts/app)",
			accepted, where), source.ErrRepositoryNotFound}
	}
	return accepted + "; it does not list its repositories to these credentials, so the path " + where + " is not checked", nil
}

// errEnough stops reading a catalog.
var errEnough = errors.New("enough pages")

// count says n things, in the singular for one.
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	if strings.HasSuffix(thing, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(thing, "y"))
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
