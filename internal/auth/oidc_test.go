package auth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"soll.dev/internal/testenv/oidcprovider"
)

// ssoEnv is a soll server with SSO against a test provider.
type ssoEnv struct {
	m        *Manager
	clk      *clock
	soll     *httptest.Server
	provider *oidcprovider.Provider
	oidc     *OIDC
}

func newSSOEnv(t *testing.T, mutate func(*OIDCConfig)) *ssoEnv {
	t.Helper()
	clk := &clock{t: time.Now()}
	m, err := New(context.Background(), Options{Client: newClient(t), Namespace: testNS, Now: clk.Now, InsecureCookies: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	e := &ssoEnv{m: m, clk: clk}
	mux := http.NewServeMux()
	e.soll = httptest.NewServer(mux)
	t.Cleanup(e.soll.Close)
	e.provider = oidcprovider.New(t, e.soll.URL+"/auth/callback")
	cfg := OIDCConfig{
		Issuer:       e.provider.URL,
		ClientID:     oidcprovider.ClientID,
		ClientSecret: oidcprovider.ClientSecret,
		RedirectURL:  e.soll.URL + "/auth/callback",
	}
	if mutate != nil {
		mutate(&cfg)
	}
	if e.oidc, err = m.NewOIDC(cfg); err != nil {
		t.Fatal(err)
	}
	mux.Handle("/auth/login", e.oidc.LoginHandler())
	mux.Handle("/auth/callback", e.oidc.CallbackHandler())
	return e
}

// login drives the browser side of the flow with a cookie jar, applying
// tamper to the callback URL, and returns the callback's response.
func (e *ssoEnv) login(t *testing.T, c *http.Client, returnURL string, tamper func(*url.URL)) *http.Response {
	resp, _ := e.loginBody(t, c, returnURL, tamper)
	return resp
}

// loginBody is login that also returns the callback's response body.
func (e *ssoEnv) loginBody(t *testing.T, c *http.Client, returnURL string, tamper func(*url.URL)) (*http.Response, string) {
	t.Helper()
	next := e.soll.URL + "/auth/login?return_url=" + url.QueryEscape(returnURL)
	for range 10 {
		u, err := url.Parse(next)
		if err != nil {
			t.Fatal(err)
		}
		isCallback := strings.HasPrefix(next, e.soll.URL+"/auth/callback")
		if isCallback && tamper != nil {
			tamper(u)
		}
		resp, err := c.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if isCallback {
			return resp, string(body)
		}
		if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("GET %s: status %d", u.Path, resp.StatusCode)
		}
		loc, err := resp.Location()
		if err != nil {
			t.Fatal(err)
		}
		next = loc.String()
	}
	t.Fatal("too many redirects")
	return nil, ""
}

func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *ssoEnv) sessionCookie(c *http.Client) string {
	u, _ := url.Parse(e.soll.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == SessionCookie {
			return ck.Value
		}
	}
	return ""
}

func TestSSOLogin(t *testing.T) {
	e := newSSOEnv(t, nil)
	c := browser(t)
	resp := e.login(t, c, "/applications?x=1", nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/applications?x=1" {
		t.Fatalf("callback: status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	tok := e.sessionCookie(c)
	if tok == "" {
		t.Fatal("no session cookie after the callback")
	}
	p := mustAuthenticate(t, e.m, tok)
	if p.Kind != KindSSO || p.Subject != oidcprovider.UserEmail || !slices.Equal(p.Groups, oidcprovider.UserGroups) {
		t.Errorf("principal = %+v", p)
	}
	// Logging out revokes the SSO session.
	if err := e.m.Logout(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Authenticate(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("logged-out SSO session: %v", err)
	}
}

// TestSSORewrittenToken checks that the token rewriting of the negative
// tests yields an acceptable token when it changes nothing, so that those
// tests fail for the reason they name.
func TestSSORewrittenToken(t *testing.T) {
	e := newSSOEnv(t, nil)
	e.provider.SetRewrite(func(map[string]any) {})
	c := browser(t)
	if resp := e.login(t, c, "/", nil); resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: status %d", resp.StatusCode)
	}
	mustAuthenticate(t, e.m, e.sessionCookie(c))
}

func TestSSOLoginForCLI(t *testing.T) {
	e := newSSOEnv(t, nil)
	c := browser(t)
	resp := e.login(t, c, "http://localhost:8085/callback", nil)
	loc, err := resp.Location()
	if err != nil || loc.Host != "localhost:8085" || loc.Path != "/callback" {
		t.Fatalf("callback: status %d, location %v, %v", resp.StatusCode, loc, err)
	}
	p := mustAuthenticate(t, e.m, loc.Query().Get("token"))
	if p.Subject != oidcprovider.UserEmail {
		t.Errorf("principal = %+v", p)
	}
}

func TestSSORefuses(t *testing.T) {
	cases := []struct {
		name   string
		config func(*OIDCConfig)
		setup  func(e *ssoEnv)
		tamper func(*url.URL)
		want   string // in the refusal
	}{
		{name: "tampered state", want: "state does not match", tamper: func(u *url.URL) {
			q := u.Query()
			q.Set("state", q.Get("state")+"x")
			u.RawQuery = q.Encode()
		}},
		{name: "missing state", want: "state does not match", tamper: func(u *url.URL) {
			q := u.Query()
			q.Del("state")
			u.RawQuery = q.Encode()
		}},
		{name: "tampered code", want: "exchange code", tamper: func(u *url.URL) {
			q := u.Query()
			q.Set("code", "forged")
			u.RawQuery = q.Encode()
		}},
		{name: "ID token for another nonce", want: "nonce does not match", setup: func(e *ssoEnv) {
			e.provider.SetNonce(func(string) string { return "another-nonce" })
		}},
		{name: "ID token without nonce", want: "nonce does not match", setup: func(e *ssoEnv) {
			e.provider.SetNonce(func(string) string { return "" })
		}},
		{name: "ID token for another client", want: "audience", setup: func(e *ssoEnv) {
			e.provider.SetRewrite(func(c map[string]any) {
				c["aud"], c["azp"], c["client_id"] = []string{"another-client"}, "another-client", "another-client"
			})
		}},
		{name: "ID token with a rewritten nonce", want: "nonce does not match", setup: func(e *ssoEnv) {
			e.provider.SetRewrite(func(c map[string]any) { c["nonce"] = "replayed" })
		}},
		{name: "ID token from another issuer", want: "different provider", setup: func(e *ssoEnv) {
			e.provider.SetTokenIssuer("https://evil.example.com")
		}},
		{name: "expired ID token", want: "expired", setup: func(e *ssoEnv) {
			e.provider.SetIDTokenTTL(time.Minute)
			// soll's clock runs ahead of the provider's; the flow cookie
			// (10 minutes) is still valid.
			e.clk.Add(2 * time.Minute)
		}},
		{name: "flow cookie expired", want: "cookie", setup: func(e *ssoEnv) {
			e.clk.Add(-flowTTL - time.Minute)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newSSOEnv(t, tc.config)
			if tc.setup != nil {
				tc.setup(e)
			}
			c := browser(t)
			resp, body := e.loginBody(t, c, "/", tc.tamper)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, tc.want) {
				t.Errorf("callback: status %d, %q; want 401 with %q", resp.StatusCode, body, tc.want)
			}
			if tok := e.sessionCookie(c); tok != "" {
				t.Error("a session cookie was set")
			}
		})
	}
}

func TestSSOReplayedCallback(t *testing.T) {
	e := newSSOEnv(t, nil)
	c := browser(t)
	var callback string
	resp := e.login(t, c, "/", func(u *url.URL) { callback = u.String() })
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("first callback: status %d", resp.StatusCode)
	}
	resp, err := c.Get(callback)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("replayed callback: status %d, want 401", resp.StatusCode)
	}
}

func TestSSOWrongIssuerConfigured(t *testing.T) {
	e := newSSOEnv(t, func(c *OIDCConfig) { c.Issuer = strings.Replace(c.Issuer, "127.0.0.1", "localhost", 1) })
	resp, err := browser(t).Get(e.soll.URL + "/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("login with a mismatched issuer: status %d, want 502", resp.StatusCode)
	}
}

func TestCheckReturnURL(t *testing.T) {
	for _, ok := range []string{"/", "/applications/a?x=1", "http://localhost:8085/cb", "http://127.0.0.1:9000/", "http://[::1]:1/"} {
		if err := CheckReturnURL(ok); err != nil {
			t.Errorf("CheckReturnURL(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"//evil.example", "/\\evil.example", "https://evil.example/", "http://localhost/", "http://localhost.evil.example:80/", "https://localhost:8085/", "javascript:alert(1)", "http://user@localhost:1/", "applications"} {
		if err := CheckReturnURL(bad); err == nil {
			t.Errorf("CheckReturnURL(%q) accepted", bad)
		}
	}
}

// TestSSOUnverifiedEmail: the email claim names the user only when the
// provider says it verified it; otherwise the user is their sub claim, so
// that an address typed into a profile at the provider cannot pass for
// the person who owns it (in soll's subject and so in RBAC policies).
func TestSSOUnverifiedEmail(t *testing.T) {
	cases := []struct {
		name    string
		rewrite func(map[string]any)
		want    string
	}{
		{"verified", func(c map[string]any) { c["email_verified"] = true }, oidcprovider.UserEmail},
		{"verified as a string", func(c map[string]any) { c["email_verified"] = "true" }, oidcprovider.UserEmail},
		{"unverified", func(c map[string]any) { c["email_verified"] = false }, oidcprovider.UserSubject},
		{"unverified as a string", func(c map[string]any) { c["email_verified"] = "false" }, oidcprovider.UserSubject},
		{"verification not said", func(c map[string]any) { delete(c, "email_verified") }, oidcprovider.UserSubject},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newSSOEnv(t, nil)
			e.provider.SetRewrite(func(c map[string]any) {
				if c["email"] != oidcprovider.UserEmail {
					t.Errorf("the provider's ID token has email %v, want %s", c["email"], oidcprovider.UserEmail)
				}
				tc.rewrite(c)
			})
			c := browser(t)
			if resp := e.login(t, c, "/", nil); resp.StatusCode != http.StatusFound {
				t.Fatalf("callback: status %d", resp.StatusCode)
			}
			p := mustAuthenticate(t, e.m, e.sessionCookie(c))
			if p.Subject != tc.want {
				t.Errorf("subject %q, want %q", p.Subject, tc.want)
			}
		})
	}
}
