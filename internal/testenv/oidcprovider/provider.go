package oidcprovider

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Registration of the one client.
const (
	ClientID     = "soll"
	ClientSecret = "client-secret"
)

// The one user: every login is this user's.
const (
	UserSubject = "user-1"
	UserEmail   = "alice@example.com"
)

// UserGroups are the user's groups, in the groups claim.
var UserGroups = []string{"team-a", "admins"}

// Provider is an OpenID provider for one client and one user.
type Provider struct {
	// URL is the provider's issuer and base URL.
	URL string

	srv      *httptest.Server
	storage  *providerStorage
	provider *op.Provider
}

// providerKey is the signing key of every provider of the process:
// generating a 2048-bit RSA key costs up to a second of CPU, and no test
// needs two providers with different keys.
var providerKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// New starts a provider whose client redirects to redirectURI (the
// relying party's callback) and stops it when the test ends.
func New(t testing.TB, redirectURI string) *Provider {
	t.Helper()
	key, err := providerKey()
	if err != nil {
		t.Fatal(err)
	}
	tp := &Provider{}
	st := &providerStorage{
		key:          key,
		clientID:     ClientID,
		clientSecret: ClientSecret,
		redirectURI:  redirectURI,
		requests:     map[string]*authRequest{},
		codes:        map[string]string{},
		idTokenTTL:   5 * time.Minute,
	}
	tp.storage = st
	var handler http.Handler
	tp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/login":
			tp.login(w, r)
		case r.URL.Path == "/oauth/token" && st.rewriter() != nil:
			tp.rewriteToken(w, r, handler)
		default:
			handler.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(tp.srv.Close)
	tp.URL = tp.srv.URL
	st.loginURL = tp.srv.URL + "/login?id="
	issuer := func(bool) (op.IssuerFromRequest, error) {
		return func(r *http.Request) string {
			// tokenIssuer, when set, is used only at the token endpoint,
			// so that discovery and redirects still work.
			if iss, _ := st.tokenIssuer.Load().(string); iss != "" && r.URL.Path == "/oauth/token" {
				return iss
			}
			return tp.URL
		}, nil
	}
	cfg := &op.Config{CodeMethodS256: true, SupportedScopes: []string{"openid", "profile", "email", "groups"}}
	if _, err := rand.Read(cfg.CryptoKey[:]); err != nil {
		t.Fatal(err)
	}
	tp.provider, err = op.NewProvider(cfg, st, issuer, op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	handler = tp.provider
	return tp
}

// SetNonce makes the provider put nonce(requested nonce) in ID tokens.
func (tp *Provider) SetNonce(nonce func(string) string) {
	tp.storage.mu.Lock()
	defer tp.storage.mu.Unlock()
	tp.storage.nonce = nonce
}

// SetRewrite makes the token endpoint change the ID token's claims with
// rewrite and sign it again with the provider's key: a well-signed token
// with wrong contents.
func (tp *Provider) SetRewrite(rewrite func(claims map[string]any)) {
	tp.storage.mu.Lock()
	defer tp.storage.mu.Unlock()
	tp.storage.rewrite = rewrite
}

// SetTokenIssuer makes the token endpoint issue tokens in the name of
// issuer while discovery still names URL.
func (tp *Provider) SetTokenIssuer(issuer string) { tp.storage.tokenIssuer.Store(issuer) }

// SetIDTokenTTL sets the lifetime of the ID tokens issued from now on.
func (tp *Provider) SetIDTokenTTL(d time.Duration) {
	tp.storage.mu.Lock()
	defer tp.storage.mu.Unlock()
	tp.storage.idTokenTTL = d
}

// login approves every authorization request for the one user.
func (tp *Provider) login(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if err := tp.storage.approve(id); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx := op.ContextWithIssuer(r.Context(), tp.URL)
	http.Redirect(w, r, op.AuthCallbackURL(tp.provider)(ctx, id), http.StatusFound)
}

// rewriteToken serves the token endpoint, then changes the claims of the
// ID token in the response with storage.rewrite and signs it again with
// the provider's key: a well-signed token with wrong contents.
func (tp *Provider) rewriteToken(w http.ResponseWriter, r *http.Request, h http.Handler) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusOK {
		http.Error(w, "token endpoint failed", http.StatusInternalServerError)
		return
	}
	raw, _ := body["id_token"].(string)
	parts := strings.Split(raw, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[min(1, len(parts)-1)])
	var claims map[string]any
	if err == nil {
		err = json.Unmarshal(payload, &claims)
	}
	if err != nil {
		http.Error(w, "malformed id_token", http.StatusInternalServerError)
		return
	}
	tp.storage.rewriter()(claims)
	signer, err := op.SignerFromKey(signingKey{tp.storage.key})
	if err == nil {
		payload, err = json.Marshal(claims)
	}
	var jws *jose.JSONWebSignature
	if err == nil {
		jws, err = signer.Sign(payload)
	}
	if err == nil {
		body["id_token"], err = jws.CompactSerialize()
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

type authRequest struct {
	id, clientID, redirectURI, state, nonce string
	scopes                                  []string
	responseType                            oidc.ResponseType
	challenge                               *oidc.CodeChallenge
	audience                                []string
	done                                    bool
	authTime                                time.Time
}

var _ op.AuthRequest = (*authRequest)(nil)

func (a *authRequest) GetID() string                         { return a.id }
func (a *authRequest) GetACR() string                        { return "" }
func (a *authRequest) GetAMR() []string                      { return []string{"pwd"} }
func (a *authRequest) GetAudience() []string                 { return a.audience }
func (a *authRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *authRequest) GetClientID() string                   { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.challenge }
func (a *authRequest) GetNonce() string                      { return a.nonce }
func (a *authRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.responseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return "" }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetState() string                      { return a.state }
func (a *authRequest) GetSubject() string                    { return UserSubject }
func (a *authRequest) Done() bool                            { return a.done }

type providerStorage struct {
	key                              *rsa.PrivateKey
	clientID, clientSecret, loginURL string
	redirectURI                      string

	// Knobs for negative tests.
	tokenIssuer atomic.Value // string: the issuer of issued tokens

	mu         sync.Mutex
	nonce      func(string) string  // rewrites the nonce put in ID tokens
	rewrite    func(map[string]any) // changes the ID token's claims
	idTokenTTL time.Duration
	requests   map[string]*authRequest
	codes      map[string]string
}

func (s *providerStorage) rewriter() func(map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rewrite
}

var _ op.Storage = (*providerStorage)(nil)

var errNotFound = errors.New("not found")

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *providerStorage) approve(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.requests[id]
	if !ok {
		return errNotFound
	}
	a.done, a.authTime = true, time.Now()
	return nil
}

func (s *providerStorage) CreateAuthRequest(_ context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &authRequest{
		id: randomID(), clientID: r.ClientID, redirectURI: r.RedirectURI, state: r.State,
		nonce: r.Nonce, scopes: r.Scopes, responseType: r.ResponseType, audience: []string{r.ClientID},
	}
	if s.nonce != nil {
		a.nonce = s.nonce(a.nonce)
	}
	if r.CodeChallenge != "" {
		a.challenge = &oidc.CodeChallenge{Challenge: r.CodeChallenge, Method: r.CodeChallengeMethod}
	}
	s.requests[a.id] = a
	return a, nil
}

func (s *providerStorage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.requests[id]; ok {
		return a, nil
	}
	return nil, errNotFound
}

func (s *providerStorage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	id, ok := s.codes[code]
	s.mu.Unlock()
	if !ok {
		return nil, errNotFound
	}
	return s.AuthRequestByID(ctx, id)
}

func (s *providerStorage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = id
	return nil
}

func (s *providerStorage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for code, rid := range s.codes {
		if rid == id {
			delete(s.codes, code)
		}
	}
	return nil
}

func (s *providerStorage) CreateAccessToken(context.Context, op.TokenRequest) (string, time.Time, error) {
	return randomID(), time.Now().Add(5 * time.Minute), nil
}

var errUnsupported = errors.New("not supported by the test provider")

func (s *providerStorage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errUnsupported
}

func (s *providerStorage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errUnsupported
}

func (s *providerStorage) TerminateSession(context.Context, string, string) error { return nil }

func (s *providerStorage) RevokeToken(context.Context, string, string, string) *oidc.Error {
	return nil
}

func (s *providerStorage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

type signingKey struct{ key *rsa.PrivateKey }

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return "k1" }

type publicKey struct{ key *rsa.PublicKey }

func (k publicKey) ID() string                         { return "k1" }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.key }

func (s *providerStorage) SigningKey(context.Context) (op.SigningKey, error) {
	return signingKey{s.key}, nil
}

func (s *providerStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *providerStorage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{&s.key.PublicKey}}, nil
}

func (s *providerStorage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != s.clientID {
		return nil, errNotFound
	}
	return &providerClient{s: s}, nil
}

func (s *providerStorage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	if id != s.clientID || secret != s.clientSecret {
		return errors.New("wrong client credentials")
	}
	return nil
}

func (s *providerStorage) SetUserinfoFromScopes(_ context.Context, ui *oidc.UserInfo, userID, _ string, scopes []string) error {
	ui.Subject = userID
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeEmail:
			ui.Email, ui.EmailVerified = UserEmail, true
		case oidc.ScopeProfile:
			ui.Name = "Alice"
		case "groups":
			ui.AppendClaims("groups", UserGroups)
		}
	}
	return nil
}

func (s *providerStorage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, _, subject, _ string) error {
	return s.SetUserinfoFromScopes(ctx, ui, subject, s.clientID, []string{oidc.ScopeEmail, oidc.ScopeProfile, "groups"})
}

func (s *providerStorage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errUnsupported
}

func (s *providerStorage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *providerStorage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errUnsupported
}

func (s *providerStorage) ValidateJWTProfileScopes(_ context.Context, _ string, scopes []string) ([]string, error) {
	return scopes, nil
}

func (s *providerStorage) Health(context.Context) error { return nil }

type providerClient struct{ s *providerStorage }

var _ op.Client = (*providerClient)(nil)

func (c *providerClient) GetID() string                       { return c.s.clientID }
func (c *providerClient) RedirectURIs() []string              { return []string{c.s.redirectURI} }
func (c *providerClient) PostLogoutRedirectURIs() []string    { return nil }
func (c *providerClient) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *providerClient) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *providerClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *providerClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode}
}
func (c *providerClient) LoginURL(id string) string           { return c.s.loginURL + id }
func (c *providerClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *providerClient) IDTokenLifetime() time.Duration {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.idTokenTTL
}
func (c *providerClient) DevMode() bool                        { return true }
func (c *providerClient) IsScopeAllowed(string) bool           { return true }
func (c *providerClient) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *providerClient) ClockSkew() time.Duration             { return 0 }
func (c *providerClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *providerClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
