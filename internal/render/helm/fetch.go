package helm

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v4/pkg/registry"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	"oras.land/oras-go/v2/registry/remote/auth"
	"sigs.k8s.io/yaml"

	"soll.dev/internal/render"
	"soll.dev/internal/render/manifest"
	"soll.dev/internal/source"
)

// The names of the repository limits, as used in render.LimitError.Limit.
const (
	LimitIndexBytes = "MaxIndexBytes"
	LimitChartBytes = "MaxChartBytes"
)

// Defaults of the Renderer's repository limits.
const (
	DefaultMaxIndexBytes = 16 << 20
	DefaultMaxChartBytes = 16 << 20
	DefaultFetchTimeout  = 30 * time.Second
	DefaultMaxCacheBytes = 256 << 20
)

// chart names one chart to fetch.
type chartSource struct {
	repoURL string // https:// repository or oci:// registry
	name    string
	version string // exact version, semver range or "" for the latest
	creds   source.Credentials
	// passCredentials sends creds to hosts other than the repository's.
	passCredentials bool
}

// fetcher downloads charts for one render. Its HTTP client is bound to the
// render's context and caps every response body.
type fetcher struct {
	ctx           context.Context
	maxIndexBytes int64
	maxChartBytes int64
	timeout       time.Duration
	cache         *chartCache
}

// fetch returns the archive of the chart src names and its version.
func (f *fetcher) fetch(src chartSource) ([]byte, string, error) {
	if src.name == "" {
		return nil, "", errors.New("chart name is empty")
	}
	u, err := parseRepoURL(src.repoURL, src.creds)
	if err != nil {
		return nil, "", err
	}
	if exact(src.version) {
		if data, ok := f.cache.get(cacheKey(src, src.version)); ok {
			return data, src.version, nil
		}
	}
	client, err := f.client(src.creds)
	if err != nil {
		return nil, "", err
	}
	if u.Scheme == "oci" {
		return f.fetchOCI(client, u, src)
	}
	return f.fetchHTTP(client, u, src)
}

// parseRepoURL parses the URL of a chart repository (http:// or https://)
// or registry (oci://); credentials are sent over https:// and oci:// only.
func parseRepoURL(repoURL string, creds source.Credentials) (*url.URL, error) {
	u, err := url.Parse(repoURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("repository URL is not a URL with a host: give https://host/path or oci://host/path")
	}
	switch u.Scheme {
	case "http":
		if !creds.IsZero() {
			return nil, errors.New("credentials are only sent over https://: change the repository URL")
		}
		return u, nil
	case "https", "oci":
		return u, nil
	}
	return nil, fmt.Errorf("repository URL scheme %q is not supported: use https:// or oci://", u.Scheme)
}

// exact reports whether version names one version rather than a range.
func exact(version string) bool {
	if version == "" {
		return false
	}
	_, err := semver.StrictNewVersion(strings.TrimPrefix(version, "v"))
	return err == nil
}

func (f *fetcher) fetchHTTP(client *http.Client, repoURL *url.URL, src chartSource) ([]byte, string, error) {
	index, err := f.index(client, repoURL, src.creds)
	if err != nil {
		return nil, "", err
	}
	cv, err := index.Get(src.name, src.version)
	if err != nil {
		if _, ok := index.Entries[src.name]; !ok {
			return nil, "", fmt.Errorf("repository has no chart %q", src.name)
		}
		return nil, "", fmt.Errorf("repository has no version of chart %q matching %q", src.name, src.version)
	}
	key := cacheKey(src, cv.Version)
	if data, ok := f.cache.get(key); ok {
		return data, cv.Version, nil
	}
	if len(cv.URLs) == 0 {
		return nil, "", fmt.Errorf("repository index lists no URL for %s %s", src.name, cv.Version)
	}
	// Relative chart URLs are relative to the repository directory, which
	// the repository URL names with or without a final slash (helm's own
	// resolution).
	resolved, err := repo.ResolveReferenceURL(repoURL.String(), cv.URLs[0])
	if err != nil {
		return nil, "", fmt.Errorf("repository index lists an invalid URL for %s %s", src.name, cv.Version)
	}
	chartURL, err := url.Parse(resolved)
	if err != nil {
		return nil, "", fmt.Errorf("repository index lists an invalid URL for %s %s", src.name, cv.Version)
	}
	sameHost := chartURL.Scheme == repoURL.Scheme && chartURL.Host == repoURL.Host
	data, err := f.get(client, chartURL, src.creds, sameHost || src.passCredentials, f.maxChartBytes, LimitChartBytes)
	if err != nil {
		return nil, "", fmt.Errorf("download chart %s %s: %w", src.name, cv.Version, err)
	}
	f.cache.put(key, data)
	return data, cv.Version, nil
}

// index fetches and parses the index.yaml of the repository at repoURL,
// within the index size limit, without the entries that have no metadata.
func (f *fetcher) index(client *http.Client, repoURL *url.URL, creds source.Credentials) (*repo.IndexFile, error) {
	raw, err := f.get(client, repoURL.JoinPath("index.yaml"), creds, true, f.maxIndexBytes, LimitIndexBytes)
	if err != nil {
		return nil, fmt.Errorf("fetch repository index: %w", err)
	}
	var index repo.IndexFile
	if err := yaml.UnmarshalStrict(raw, &index); err != nil {
		return nil, fmt.Errorf("repository index.yaml is not a valid index: %s", manifest.Sanitize(err.Error()))
	}
	for name, versions := range index.Entries {
		kept := versions[:0]
		for _, v := range versions {
			if v != nil && v.Metadata != nil {
				kept = append(kept, v)
			}
		}
		index.Entries[name] = kept
	}
	index.SortEntries()
	return &index, nil
}

// get fetches u, sending the credentials when withCreds, and reads at most
// maxBytes of the body.
func (f *fetcher) get(client *http.Client, u *url.URL, creds source.Credentials, withCreds bool, maxBytes int64, limit string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(f.ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	authSent := false
	if withCreds {
		switch {
		case creds.BearerToken != "":
			req.Header.Set("Authorization", "Bearer "+creds.BearerToken)
			authSent = true
		case creds.Username != "" || creds.Password != "":
			req.SetBasicAuth(creds.Username, creds.Password)
			authSent = true
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, f.requestError(ctx, u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		if authSent {
			return nil, &statusError{fmt.Sprintf("GET %s: %s: the repository refused the credentials; check the repository secret", u.Redacted(), resp.Status), source.ErrAuthentication}
		}
		return nil, &statusError{fmt.Sprintf("GET %s: %s: the repository needs credentials; add a repository secret", u.Redacted(), resp.Status), source.ErrAuthentication}
	case resp.StatusCode == http.StatusNotFound:
		return nil, &statusError{fmt.Sprintf("GET %s: %s", u.Redacted(), resp.Status), source.ErrRepositoryNotFound}
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s: %s", u.Redacted(), resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if le := (*render.LimitError)(nil); errors.As(err, &le) || int64(len(data)) > maxBytes {
		return nil, &render.LimitError{Limit: limit, Max: maxBytes, Actual: int64(len(data))}
	}
	if err != nil {
		return nil, f.requestError(ctx, u, err)
	}
	return data, nil
}

// statusError is a refusal of a repository request; errors.Is matches its
// kind, a source.Err* sentinel.
type statusError struct {
	msg  string
	kind error
}

func (e *statusError) Error() string { return e.msg }
func (e *statusError) Unwrap() error { return e.kind }

// requestError tells a timeout from other failures of a request.
func (f *fetcher) requestError(ctx context.Context, u *url.URL, err error) error {
	if f.ctx.Err() != nil {
		return context.Cause(f.ctx)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("GET %s: no answer within %s", u.Redacted(), f.timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("GET %s: %w", u.Redacted(), err)
}

func (f *fetcher) fetchOCI(client *http.Client, u *url.URL, src chartSource) ([]byte, string, error) {
	ref := u.Host + strings.TrimSuffix(u.Path, "/") + "/" + src.name
	rc, err := registry.NewClient(
		registry.ClientOptHTTPClient(client),
		registry.ClientOptAuthorizer(*ociAuthorizer(client, u.Host, src.creds, src.passCredentials)),
		// Never read the controller's own registry logins.
		registry.ClientOptCredentialsFile("/nonexistent/soll/registry-config.json"),
	)
	if err != nil {
		return nil, "", fmt.Errorf("registry client: %w", err)
	}
	version := src.version
	if !exact(version) {
		tags, err := rc.Tags(ref)
		if err != nil {
			return nil, "", f.ociError(err, "list tags of "+ref)
		}
		if version, err = registry.GetTagMatchingVersionOrConstraint(tags, version); err != nil {
			return nil, "", fmt.Errorf("registry has no version of chart %q matching %q", src.name, src.version)
		}
	}
	version = strings.TrimPrefix(version, "v")
	key := cacheKey(src, version)
	if data, ok := f.cache.get(key); ok {
		return data, version, nil
	}
	res, err := rc.Pull(ref+":"+strings.ReplaceAll(version, "+", "_"), registry.PullOptWithChart(true))
	if err != nil {
		return nil, "", f.ociError(err, "pull "+ref+":"+version)
	}
	if res.Chart == nil || int64(len(res.Chart.Data)) > f.maxChartBytes {
		return nil, "", &render.LimitError{Limit: LimitChartBytes, Max: f.maxChartBytes}
	}
	f.cache.put(key, res.Chart.Data)
	return res.Chart.Data, version, nil
}

// ociAuthorizer authenticates requests to the registry host with creds.
// Token services may live on other hosts: they get the credentials only
// with passCredentials, the registry always.
func ociAuthorizer(client *http.Client, host string, creds source.Credentials, passCredentials bool) *auth.Client {
	cred := auth.EmptyCredential
	switch {
	case creds.BearerToken != "":
		cred = auth.Credential{AccessToken: creds.BearerToken}
	case creds.Username != "" || creds.Password != "":
		cred = auth.Credential{Username: creds.Username, Password: creds.Password}
	}
	return &auth.Client{
		Client: client,
		Credential: func(_ context.Context, hostport string) (auth.Credential, error) {
			if hostport == host || passCredentials {
				return cred, nil
			}
			return auth.EmptyCredential, nil
		},
	}
}

// ociError turns the registry client's errors into ours: the render's
// timeout and the response cap as LimitErrors, the rest without the bodies
// registries echo.
func (f *fetcher) ociError(err error, what string) error {
	if f.ctx.Err() != nil {
		return context.Cause(f.ctx)
	}
	var le *render.LimitError
	if errors.As(err, &le) {
		return le
	}
	msg := manifest.Sanitize(err.Error())
	if errors.Is(err, auth.ErrBasicCredentialNotFound) || strings.Contains(msg, "missing username or password") {
		return &statusError{what + ": the registry needs a username and password; check the repository secret", source.ErrAuthentication}
	}
	if strings.Contains(msg, "401") || strings.Contains(msg, "403") || strings.Contains(strings.ToLower(msg), "unauthorized") {
		return &statusError{fmt.Sprintf("%s: the registry refused the request (check the repository secret): %s", what, msg), source.ErrAuthentication}
	}
	return fmt.Errorf("%s: %s", what, msg)
}

// client returns an HTTP client for creds' TLS settings whose requests end
// with the render and whose response bodies are capped.
func (f *fetcher) client(creds source.Credentials) (*http.Client, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(creds.CACert) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(creds.CACert) {
			return nil, errors.New("the repository's CA certificate is not valid PEM")
		}
		cfg.RootCAs = pool
	}
	if len(creds.TLSClientCert) > 0 || len(creds.TLSClientKey) > 0 {
		cert, err := tls.X509KeyPair(creds.TLSClientCert, creds.TLSClientKey)
		if err != nil {
			return nil, errors.New("the repository's TLS client certificate and key do not form a valid PEM pair")
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = cfg
	return &http.Client{Transport: &boundTransport{
		ctx:  f.ctx,
		base: base,
		max:  max(f.maxIndexBytes, f.maxChartBytes),
	}}, nil
}

// boundTransport ends every request when the render's context ends (helm's
// registry client uses context.Background) and caps response bodies.
type boundTransport struct {
	ctx  context.Context
	base http.RoundTripper
	max  int64
}

func (t *boundTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	stop := context.AfterFunc(t.ctx, cancel)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	resp.Body = &cappedBody{body: resp.Body, left: t.max, max: t.max, done: func() { stop(); cancel() }}
	return resp, nil
}

// cappedBody fails with a LimitError once more than max bytes were read.
type cappedBody struct {
	body      io.ReadCloser
	left, max int64
	done      func()
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, &render.LimitError{Limit: LimitChartBytes, Max: b.max}
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.body.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, &render.LimitError{Limit: LimitChartBytes, Max: b.max}
	}
	return n, err
}

func (b *cappedBody) Close() error {
	err := b.body.Close()
	b.done()
	return err
}

// chartCache keeps downloaded chart archives in memory. A chart version is
// immutable, so entries never go stale; the key includes a digest of the
// credentials, so a private chart is only served again to a render that
// could download it itself. When the cache exceeds its size it starts over.
type chartCache struct {
	max int64

	mu   sync.Mutex
	m    map[string][]byte
	size int64
}

func (c *chartCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	data, ok := c.m[key]
	return data, ok
}

func (c *chartCache) put(key string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || c.size+int64(len(data)) > c.max {
		c.m = map[string][]byte{}
		c.size = 0
	}
	if int64(len(data)) > c.max {
		return
	}
	c.m[key] = data
	c.size += int64(len(data))
}

// cacheKey identifies a chart version as downloaded with src's credentials.
func cacheKey(src chartSource, version string) string {
	h := sha256.New()
	for _, s := range []string{
		src.repoURL, src.name, strings.TrimPrefix(version, "v"),
		src.creds.Username, src.creds.Password, src.creds.BearerToken,
		string(src.creds.TLSClientCert), string(src.creds.TLSClientKey), string(src.creds.CACert),
	} {
		fmt.Fprintf(h, "%d:%s\n", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil))
}
