package apiclient

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds every request but the event streams when
// Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// maxResponseBytes bounds the body of one answer: a list of thousands of
// apps fits, a misbehaving server cannot exhaust the client's memory.
const maxResponseBytes = 256 << 20

// Options configure a Client.
type Options struct {
	// Server is soll's base URL, for example https://soll.example.com; an
	// http:// URL talks plain HTTP. See ParseServer.
	Server string
	// Token is the session or API token sent as a bearer token; empty
	// sends none (enough for the version and for logging in).
	Token string
	// InsecureSkipTLSVerify accepts any certificate of the server: for
	// test servers with self-signed certificates only.
	InsecureSkipTLSVerify bool
	// Timeout bounds each request but the event streams, which stay open
	// until their context ends; zero means DefaultTimeout.
	Timeout time.Duration
	// UserAgent is sent with every request.
	UserAgent string
}

// Client talks to one soll server. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	token     string
	timeout   time.Duration
	userAgent string
	http      *http.Client
}

// New returns a client for opts.Server.
func New(opts Options) (*Client, error) {
	base, err := url.Parse(opts.Server)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("server URL %q: want https://HOST[:PORT] (or http:// for plain HTTP)", opts.Server)
	}
	base.Path = strings.TrimSuffix(base.Path, "/")
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: min(opts.Timeout, 10*time.Second), KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = min(opts.Timeout, 10*time.Second)
	tr.ResponseHeaderTimeout = opts.Timeout
	if opts.InsecureSkipTLSVerify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for by the user
	}
	return &Client{
		base:      base,
		token:     opts.Token,
		timeout:   opts.Timeout,
		userAgent: opts.UserAgent,
		// Redirects are not followed: an API answer is never a redirect,
		// and following one could send the token elsewhere.
		http: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}, nil
}

// ParseServer turns what a user typed for a server into a base URL:
// "soll.example.com" becomes https://soll.example.com (http:// with
// plaintext), an explicit http:// or https:// URL is kept, and a trailing
// slash is dropped. It refuses URLs with credentials, queries or fragments.
func ParseServer(s string, plaintext bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("the server address is empty: give soll's URL, for example https://soll.example.com")
	}
	if !strings.Contains(s, "://") {
		scheme := "https://"
		if plaintext {
			scheme = "http://"
		}
		s = scheme + s
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("server %q is not a URL: %w", s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("server %q: the scheme must be https:// (or http:// for plain HTTP), not %s://", s, u.Scheme)
	case u.Host == "":
		return "", fmt.Errorf("server %q has no host", s)
	case u.User != nil:
		return "", fmt.Errorf("server %q holds credentials: log in with soll login instead", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("server %q: remove the query and fragment", s)
	case plaintext && u.Scheme == "https":
		return "", fmt.Errorf("server %q is an https:// URL and --plaintext asks for plain HTTP: drop one of them", s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u.String(), nil
}

// Server returns the server's base URL.
func (c *Client) Server() string { return c.base.String() }

// URL returns the absolute URL of path (which starts with / and is
// escaped: names in it went through url.PathEscape) with query.
func (c *Client) URL(path string, query url.Values) string {
	u := *c.base
	u.RawPath = c.base.EscapedPath() + path
	u.Path = u.RawPath
	if p, err := url.PathUnescape(u.RawPath); err == nil {
		u.Path = p
	}
	u.RawQuery = query.Encode()
	return u.String()
}

// pathOf is base followed by name and sub, each escaped into one path
// segment.
func pathOf(base, name string, sub ...string) string {
	p := base + "/" + url.PathEscape(name)
	for _, s := range sub {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// request is one API call.
type request struct {
	method, path string
	query        url.Values
	body         any // JSON-encoded unless nil
	contentType  string
	// stream skips the request timeout: the caller's context ends it.
	stream bool
}

// send performs r and returns the response of a successful request (2xx);
// any other answer becomes an *Error, a failure to reach the server an
// *UnreachableError. The caller closes the body.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("encode the request to %s: %w", r.path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.URL(r.path, r.query), body)
	if err != nil {
		return nil, err
	}
	if r.body != nil {
		req.Header.Set("Content-Type", cmp.Or(r.contentType, "application/json"))
	}
	req.Header.Set("Accept", "application/json")
	if r.stream {
		req.Header.Set("Accept", "text/event-stream")
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, ctx.Err()
		}
		return nil, &UnreachableError{Server: c.Server(), Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, decodeError(c.Server(), r.method, r.path, resp)
	}
	return resp, nil
}

// do performs r and decodes the JSON answer into out (unless out is nil
// or the answer has no body).
func (c *Client) do(ctx context.Context, r request, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBytes)).Decode(out); err != nil {
		return fmt.Errorf("decode the answer of %s %s from %s: %w", r.method, r.path, c.Server(), err)
	}
	return nil
}

func (c *Client) get(ctx context.Context, path string, query url.Values, out any) error {
	return c.do(ctx, request{method: http.MethodGet, path: path, query: query}, out)
}

// call performs r and returns its JSON answer as a T.
func call[T any](ctx context.Context, c *Client, r request) (*T, error) {
	var out T
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// getAs is call for a GET of path.
func getAs[T any](ctx context.Context, c *Client, path string) (*T, error) {
	return call[T](ctx, c, request{method: http.MethodGet, path: path})
}
