package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Issuer and audience of every token soll issues.
const (
	TokenIssuer   = "soll"
	TokenAudience = "soll"
)

// claims are the JWT claims of soll's tokens.
type claims struct {
	jwt.RegisteredClaims
	Kind   string   `json:"kind"`
	Groups []string `json:"groups,omitempty"`
	// IssuedAtMilli is iat in milliseconds: iat has seconds only, and a
	// session issued in the second of a password change, before it, must
	// be refused too.
	IssuedAtMilli int64 `json:"iat_ms,omitempty"`
}

// issuedAt is when the token was issued, to the millisecond when it says.
func (c *claims) issuedAt() time.Time {
	if c.IssuedAtMilli != 0 {
		return time.UnixMilli(c.IssuedAtMilli)
	}
	return c.IssuedAt.Time
}

// issue signs a token for subject with the given kind, id and lifetime
// (0: no expiry).
func (m *Manager) issue(subject, kind, id string, ttl time.Duration, groups []string) (string, time.Time, error) {
	now := m.now()
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    TokenIssuer,
			Audience:  jwt.ClaimStrings{TokenAudience},
			Subject:   subject,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ID:        id,
		},
		Kind:          kind,
		Groups:        groups,
		IssuedAtMilli: now.UnixMilli(),
	}
	var exp time.Time
	if ttl > 0 {
		exp = now.Add(ttl)
		c.ExpiresAt = jwt.NewNumericDate(exp)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(m.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, exp, nil
}

// parse verifies signature (HS256 only), issuer, audience and time claims.
func (m *Manager) parse(token string) (*claims, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return m.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(TokenIssuer),
		jwt.WithAudience(TokenAudience),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(m.now),
	)
	if err != nil {
		// jwt's messages name the failed check and never echo the token.
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if c.Subject == "" || c.ID == "" || c.IssuedAt == nil {
		return nil, fmt.Errorf("%w: missing sub, jti or iat claim", ErrInvalidToken)
	}
	return &c, nil
}

// Authenticate returns the Principal of a token soll issued, or an error
// wrapping ErrInvalidToken (or a storage error) when the token must not be
// accepted. Callers answer 401 on any error; there is no anonymous
// fallback for a presented token.
func (m *Manager) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: empty token", ErrInvalidToken)
	}
	c, err := m.parse(token)
	if err != nil {
		return nil, err
	}
	p := &Principal{Subject: c.Subject, TokenID: c.ID, Kind: c.Kind}
	if c.ExpiresAt != nil {
		p.ExpiresAt = c.ExpiresAt.Time
	}
	err = m.checkClaims(ctx, m.c, c, p)
	if errors.Is(err, ErrInvalidToken) && m.cached {
		// The cache may not have seen a change made a moment ago (a token
		// just issued, an account just enabled): a refusal is confirmed
		// with a read from the API server. Only tokens with a valid
		// signature get here.
		err = m.checkClaims(ctx, m.reader, c, p)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// checkClaims checks a parsed token against the state it depends on
// (revocations, the account, the project), read through r, and fills in
// p's kind-specific fields.
func (m *Manager) checkClaims(ctx context.Context, r client.Reader, c *claims, p *Principal) error {
	switch c.Kind {
	case KindSession, KindSSO:
		if c.ExpiresAt == nil {
			return fmt.Errorf("%w: session without expiry", ErrInvalidToken)
		}
		revoked, err := m.revoked.contains(ctx, c.ID, c.Kind, c.Subject, c.issuedAt())
		if err != nil {
			return err
		}
		if revoked {
			return fmt.Errorf("%w: session was logged out", ErrInvalidToken)
		}
		if c.Kind == KindSSO {
			p.Groups = c.Groups
			return nil
		}
		a, err := m.activeAccount(ctx, r, c.Subject)
		if err != nil {
			return err
		}
		if !a.can(CapabilityLogin) {
			return fmt.Errorf("%w: account %q may not log in", ErrInvalidToken, c.Subject)
		}
		if c.issuedAt().Before(a.passwordMtime) {
			return fmt.Errorf("%w: session issued before the last password change", ErrInvalidToken)
		}
	case KindAPIKey:
		a, err := m.activeAccount(ctx, r, c.Subject)
		if err != nil {
			return err
		}
		if !a.can(CapabilityAPIKey) {
			return fmt.Errorf("%w: account %q may not use API tokens", ErrInvalidToken, c.Subject)
		}
		if _, ok := a.token(c.ID); !ok {
			return fmt.Errorf("%w: API token %q of account %q was revoked", ErrInvalidToken, c.ID, c.Subject)
		}
	case KindProject:
		project, role, ok := parseProjectSubject(c.Subject)
		if !ok {
			return fmt.Errorf("%w: malformed project token subject", ErrInvalidToken)
		}
		if err := m.checkProjectToken(ctx, r, project, role, c.ID); err != nil {
			return err
		}
		p.Project, p.Role = project, role
	default:
		return fmt.Errorf("%w: unknown token kind %q", ErrInvalidToken, c.Kind)
	}
	return nil
}

// activeAccount returns an existing, enabled account or an ErrInvalidToken.
func (m *Manager) activeAccount(ctx context.Context, r client.Reader, name string) (*account, error) {
	a, err := m.getAccount(ctx, r, name)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: account %q does not exist", ErrInvalidToken, name)
	}
	if err != nil {
		return nil, err
	}
	if !a.enabled {
		return nil, fmt.Errorf("%w: account %q is disabled", ErrInvalidToken, name)
	}
	return a, nil
}

// Login checks a local account's password and returns a session token.
// Failed logins are throttled per account and per client address (see
// ThrottlePolicy); while throttled, Login returns a *ThrottledError without
// checking the password.
func (m *Manager) Login(ctx context.Context, username, password, clientAddr string) (string, error) {
	release, err := m.throttle.attempt(username, clientAddr)
	if err != nil {
		return "", err
	}
	ok := false
	defer func() { release(ok) }()

	// A consistent read: an account created or enabled a moment ago can
	// log in at once. Logins are rare next to token checks.
	a, err := m.getAccount(ctx, m.reader, username)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", err
	}
	hash := m.dummy()
	if a != nil && len(a.hash) > 0 {
		hash = a.hash
	}
	// Compare even for unknown accounts so that timing does not tell
	// which accounts exist.
	match := bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
	if !match || a == nil || !a.enabled || !a.can(CapabilityLogin) {
		m.log.Info("login failed", "account", username, "client", clientAddr)
		return "", ErrInvalidCredentials
	}
	token, _, err := m.issue(username, KindSession, randomID(), m.sessionTTL, nil)
	if err != nil {
		return "", err
	}
	ok = true
	m.log.Info("login succeeded", "account", username, "client", clientAddr)
	return token, nil
}

// SessionDuration is the lifetime of session tokens.
func (m *Manager) SessionDuration() time.Duration { return m.sessionTTL }

// Logout revokes a session (local or SSO) until its expiry. API and
// Project tokens are revoked with RevokeToken and RevokeProjectToken. An
// error means the session was not revoked and still works (it wraps
// ErrRevocationFull when the revocation list has no room left).
func (m *Manager) Logout(ctx context.Context, p *Principal) error {
	if p == nil || (p.Kind != KindSession && p.Kind != KindSSO) {
		return fmt.Errorf("logout: not a session: %w", ErrInvalidArgument)
	}
	exp := p.ExpiresAt
	if exp.IsZero() {
		exp = m.now().Add(m.sessionTTL)
	}
	return m.revoked.add(ctx, p.TokenID, p.Kind, p.Subject, exp)
}

// GenerateToken issues an API token for an account with the apiKey
// capability and records its id on the account; expiresIn 0 means no
// expiry, an empty id a random one.
func (m *Manager) GenerateToken(ctx context.Context, name string, expiresIn time.Duration, id string) (string, error) {
	token, _, err := m.IssueToken(ctx, name, expiresIn, id)
	return token, err
}

// IssueToken is GenerateToken that also returns the record kept on the
// account (id, issue and expiry time), for callers that report them.
func (m *Manager) IssueToken(ctx context.Context, name string, expiresIn time.Duration, id string) (string, TokenInfo, error) {
	if id == "" {
		id = randomID()
	}
	if err := checkTokenID(id); err != nil {
		return "", TokenInfo{}, err
	}
	token, exp, err := m.issue(name, KindAPIKey, id, expiresIn, nil)
	if err != nil {
		return "", TokenInfo{}, err
	}
	info := TokenInfo{ID: id, IssuedAt: m.now().UTC().Truncate(time.Second), ExpiresAt: exp.UTC().Truncate(time.Second)}
	err = m.updateAccount(ctx, name, func(a *account) error {
		if !a.can(CapabilityAPIKey) {
			return fmt.Errorf("account %q lacks the %s capability: %w", name, CapabilityAPIKey, ErrInvalidArgument)
		}
		if _, ok := a.token(id); ok {
			return fmt.Errorf("account %q already has a token with id %q: %w", name, id, ErrAlreadyExists)
		}
		a.tokens = append(a.tokens, info)
		return nil
	})
	if err != nil {
		return "", TokenInfo{}, err
	}
	return token, info, nil
}

// RevokeToken removes an API token from an account; it is refused from
// then on.
func (m *Manager) RevokeToken(ctx context.Context, name, id string) error {
	return m.updateAccount(ctx, name, func(a *account) error {
		for i, t := range a.tokens {
			if t.ID == id {
				a.tokens = append(a.tokens[:i], a.tokens[i+1:]...)
				return nil
			}
		}
		return fmt.Errorf("token %q of account %q: %w", id, name, ErrNotFound)
	})
}

func checkTokenID(id string) error {
	if len(id) > 128 || strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return fmt.Errorf("token id must be at most 128 printable ASCII characters: %w", ErrInvalidArgument)
	}
	return nil
}
