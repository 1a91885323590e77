package auth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig configures single sign-on with an OpenID Connect provider.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; its discovery document must
	// name exactly this issuer.
	Issuer string
	// ClientID and ClientSecret are soll's client registration; ID tokens
	// must have ClientID in their audience.
	ClientID, ClientSecret string
	// RedirectURL is soll's callback, https://<soll>/auth/callback.
	RedirectURL string
	// Scopes are requested besides "openid"; default "profile", "email",
	// "groups".
	Scopes []string
	// GroupsClaim is the ID token claim listing the user's groups;
	// default "groups".
	GroupsClaim string
	// CAData is a PEM bundle trusted for the provider instead of the
	// system roots.
	CAData []byte
}

// flowCookie holds the state, nonce and PKCE verifier of a login in
// progress, encrypted and authenticated with a key derived from the server
// key, for flowTTL.
const (
	flowCookie = "soll.oidc"
	flowTTL    = 10 * time.Minute
)

// OIDC serves the SSO login: LoginHandler at /auth/login and
// CallbackHandler at /auth/callback.
type OIDC struct {
	// OnLogin, when set, is told of every callback: the subject of a
	// login that succeeded, or the reason one was refused (which never
	// holds a token). The audit log uses it.
	OnLogin func(r *http.Request, subject string, err error)

	m      *Manager
	cfg    OIDCConfig
	client *http.Client
	aead   cipher.AEAD

	mu       sync.Mutex
	provider *oidc.Provider
}

// NewOIDC returns the SSO handlers for cfg. The provider's discovery
// document is fetched at the first login, so soll starts while the
// provider is down.
func (m *Manager) NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "" {
		return nil, fmt.Errorf("oidc config: issuer, clientID and redirectURL are required")
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"profile", "email", "groups"}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if len(cfg.CAData) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.CAData) {
			return nil, fmt.Errorf("oidc config: caData holds no PEM certificate")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	mac := hmac.New(sha256.New, m.key)
	mac.Write([]byte("soll oidc flow cookie"))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &OIDC{m: m, cfg: cfg, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}, aead: aead}, nil
}

func (o *OIDC) ctx(ctx context.Context) context.Context { return oidc.ClientContext(ctx, o.client) }

// discover returns the provider, fetching its discovery document once it
// succeeds. The key set keeps using the context given here, so it must
// outlive the request.
func (o *OIDC) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	p, err := oidc.NewProvider(o.ctx(context.WithoutCancel(ctx)), o.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover OIDC provider %s: %w", o.cfg.Issuer, err)
	}
	o.provider = p
	return p, nil
}

func (o *OIDC) oauth2(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     o.cfg.ClientID,
		ClientSecret: o.cfg.ClientSecret,
		RedirectURL:  o.cfg.RedirectURL,
		Endpoint:     p.Endpoint(),
		Scopes:       append([]string{oidc.ScopeOpenID}, o.cfg.Scopes...),
	}
}

type flow struct {
	State     string    `json:"state"`
	Nonce     string    `json:"nonce"`
	Verifier  string    `json:"verifier"`
	ReturnURL string    `json:"returnURL"`
	Expires   time.Time `json:"expires"`
}

// LoginHandler starts a login: it remembers a fresh state, nonce and PKCE
// verifier in the soll.oidc cookie and redirects to the provider. The
// optional return_url query parameter says where the callback sends the
// user; see CheckReturnURL.
func (o *OIDC) LoginHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ret := r.URL.Query().Get("return_url")
		if ret == "" {
			ret = "/"
		}
		if err := CheckReturnURL(ret); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p, err := o.discover(r.Context())
		if err != nil {
			o.m.log.Error("SSO login failed", "err", err)
			http.Error(w, "the SSO provider is unavailable", http.StatusBadGateway)
			return
		}
		f := flow{
			State:     randomID(),
			Nonce:     randomID(),
			Verifier:  oauth2.GenerateVerifier(),
			ReturnURL: ret,
			Expires:   o.m.now().Add(flowTTL),
		}
		sealed, err := o.seal(f)
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		http.SetCookie(w, o.m.cookie(flowCookie, sealed, f.Expires))
		target := o.oauth2(p).AuthCodeURL(f.State, oauth2.S256ChallengeOption(f.Verifier), oidc.Nonce(f.Nonce))
		http.Redirect(w, r, target, http.StatusFound)
	})
}

// CallbackHandler finishes a login: it checks the state against the
// soll.oidc cookie, exchanges the code with the PKCE verifier, verifies the
// ID token (signature, issuer, audience, expiry, nonce) and issues a soll
// session. A browser gets it as the session cookie and is redirected to
// its return path; the CLI's local callback (return_url on localhost) gets
// it in the token query parameter.
func (o *OIDC) CallbackHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, err := o.callback(r)
		if o.OnLogin != nil {
			o.OnLogin(r, l.subject, err)
		}
		// The flow cookie is single-use whatever the outcome.
		clear := o.m.cookie(flowCookie, "", time.Time{})
		clear.MaxAge = -1
		http.SetCookie(w, clear)
		if err != nil {
			o.m.log.Info("SSO login refused", "err", err)
			http.Error(w, "SSO login failed: "+err.Error(), http.StatusUnauthorized)
			return
		}
		token, exp, f := l.token, l.exp, l.flow
		u, _ := url.Parse(f.ReturnURL)
		if isLoopback(u) {
			q := u.Query()
			q.Set("token", token)
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.String(), http.StatusFound)
			return
		}
		o.m.SetSessionCookie(w, token, exp)
		http.Redirect(w, r, f.ReturnURL, http.StatusFound)
	})
}

// errSSO wraps every refusal of a callback.
var errSSO = errors.New("sso")

// ssoLogin is a callback's outcome.
type ssoLogin struct {
	token, subject string
	exp            time.Time
	flow           *flow
}

func (o *OIDC) callback(r *http.Request) (ssoLogin, error) {
	c, err := r.Cookie(flowCookie)
	if err != nil {
		return ssoLogin{}, fmt.Errorf("%w: no login in progress (missing %s cookie)", errSSO, flowCookie)
	}
	f, err := o.open(c.Value)
	if err != nil {
		return ssoLogin{}, err
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return ssoLogin{}, fmt.Errorf("%w: the provider answered %q", errSSO, e)
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 {
		return ssoLogin{}, fmt.Errorf("%w: state does not match the login in progress", errSSO)
	}
	p, err := o.discover(r.Context())
	if err != nil {
		return ssoLogin{}, err
	}
	ctx := o.ctx(r.Context())
	tok, err := o.oauth2(p).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return ssoLogin{}, fmt.Errorf("%w: exchange code: %w", errSSO, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return ssoLogin{}, fmt.Errorf("%w: token response has no id_token", errSSO)
	}
	idt, err := p.VerifierContext(ctx, &oidc.Config{ClientID: o.cfg.ClientID, Now: o.m.now}).Verify(ctx, raw)
	if err != nil {
		return ssoLogin{}, fmt.Errorf("%w: verify ID token: %w", errSSO, err)
	}
	if idt.Nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return ssoLogin{}, fmt.Errorf("%w: ID token nonce does not match the login in progress", errSSO)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return ssoLogin{}, fmt.Errorf("%w: ID token claims: %w", errSSO, err)
	}
	subject := ssoIdentity(idt.Subject, claims)
	groups := stringList(claims[o.cfg.GroupsClaim])
	token, exp, err := o.m.issue(subject, KindSSO, randomID(), o.m.sessionTTL, groups)
	if err != nil {
		return ssoLogin{}, err
	}
	o.m.log.Info("SSO login succeeded", "subject", subject, "groups", len(groups))
	return ssoLogin{token: token, subject: subject, exp: exp, flow: f}, nil
}

// ssoIdentity is the soll subject of an SSO user: the email claim when
// the provider vouches for it (email_verified is true), the sub claim
// otherwise. An unverified email is whatever the user typed into their
// profile at the provider, possibly someone else's address, so it must
// not name them in soll nor in RBAC policies. Some providers send
// email_verified as the string "true"; that counts as true too.
func ssoIdentity(sub string, claims map[string]any) string {
	email, _ := claims["email"].(string)
	if email == "" {
		return sub
	}
	switch v := claims["email_verified"].(type) {
	case bool:
		if v {
			return email
		}
	case string:
		if strings.EqualFold(v, "true") {
			return email
		}
	}
	return sub
}

// stringList reads a groups claim: a list of strings or a single string.
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func (o *OIDC) seal(f flow) (string, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	nonce := randomBytes(o.aead.NonceSize())
	return base64.RawURLEncoding.EncodeToString(o.aead.Seal(nonce, nonce, b, []byte(flowCookie))), nil
}

func (o *OIDC) open(v string) (*flow, error) {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) < o.aead.NonceSize() {
		return nil, fmt.Errorf("%w: malformed %s cookie", errSSO, flowCookie)
	}
	n := o.aead.NonceSize()
	plain, err := o.aead.Open(nil, b[:n], b[n:], []byte(flowCookie))
	if err != nil {
		return nil, fmt.Errorf("%w: %s cookie was not issued by this server", errSSO, flowCookie)
	}
	var f flow
	if err := json.Unmarshal(plain, &f); err != nil {
		return nil, fmt.Errorf("%w: malformed %s cookie", errSSO, flowCookie)
	}
	if !o.m.now().Before(f.Expires) {
		return nil, fmt.Errorf("%w: the login took too long, start again", errSSO)
	}
	return &f, nil
}

// CheckReturnURL accepts where a login may send the user afterwards: a
// path on soll itself ("/applications?x=y", not "//host" nor "/\host"), or
// the CLI's local callback, http://localhost:<port>/... (also 127.0.0.1
// and [::1]). Anything else could hand the session to another site.
func CheckReturnURL(s string) error {
	if strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") && !strings.HasPrefix(s, "/\\") {
		u, err := url.Parse(s)
		if err == nil && u.Scheme == "" && u.Host == "" && !strings.ContainsAny(s, "\r\n\t") {
			return nil
		}
	}
	u, err := url.Parse(s)
	if err == nil && isLoopback(u) {
		return nil
	}
	return fmt.Errorf("return_url %q: must be a path on this server or http://localhost:<port>/...: %w", s, ErrInvalidArgument)
}

func isLoopback(u *url.URL) bool {
	if u == nil || u.Scheme != "http" || u.User != nil || u.Port() == "" {
		return false
	}
	switch u.Hostname() {
	case "localhost":
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}
