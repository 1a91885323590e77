package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	soll "soll.dev/api/v1alpha1"
)

// forge signs claims like a session of admin, changed by mutate.
func forge(t *testing.T, m *Manager, method jwt.SigningMethod, key any, mutate func(*claims)) string {
	t.Helper()
	now := m.now()
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: TokenIssuer, Audience: jwt.ClaimStrings{TokenAudience}, Subject: AdminAccount,
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), ID: "forged",
		},
		Kind: KindSession,
	}
	if mutate != nil {
		mutate(&c)
	}
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testProject(roleTokens ...soll.JWTToken) *soll.Project {
	return &soll.Project{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a", Namespace: testNS},
		Spec: soll.ProjectSpec{Roles: []soll.ProjectRole{
			{Name: "deployer", JWTTokens: roleTokens},
			{Name: "viewer"},
		}},
	}
}

// TestAuthenticateRefuses is the security table: every case presents a
// token that must be refused with an error wrapping ErrInvalidToken.
func TestAuthenticateRefuses(t *testing.T) {
	ctx := context.Background()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	past := metav1.NewTime(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	cases := []struct {
		name  string
		token func(t *testing.T, m *Manager, clk *clock) string
	}{
		{"garbage", func(*testing.T, *Manager, *clock) string { return "not-a-jwt" }},
		{"empty", func(*testing.T, *Manager, *clock) string { return "" }},
		{"forged signature", func(t *testing.T, m *Manager, _ *clock) string {
			return forge(t, m, jwt.SigningMethodHS256, []byte("another key of 32 bytes or more!!"), nil)
		}},
		{"alg none", func(t *testing.T, m *Manager, _ *clock) string {
			return forge(t, m, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil)
		}},
		{"RS256", func(t *testing.T, m *Manager, _ *clock) string {
			return forge(t, m, jwt.SigningMethodRS256, rsaKey, nil)
		}},
		{"HS512 with the server key", func(t *testing.T, m *Manager, _ *clock) string {
			return forge(t, m, jwt.SigningMethodHS512, m.key, nil)
		}},
		{"expired", func(t *testing.T, m *Manager, clk *clock) string {
			tok := login(t, m)
			clk.Add(24*time.Hour + time.Second)
			return tok
		}},
		{"not yet valid", func(t *testing.T, m *Manager, _ *clock) string {
			return forge(t, m, jwt.SigningMethodHS256, m.key, func(c *claims) {
				c.NotBefore = jwt.NewNumericDate(m.now().Add(time.Hour))
			})
		}},
		{"issued in the future", func(t *testing.T, m *Manager, _ *clock) string {
			return forge(t, m, jwt.SigningMethodHS256, m.key, func(c *claims) {
				c.IssuedAt = jwt.NewNumericDate(m.now().Add(time.Hour))
			})
		}},
		{"wrong audience", func(t *testing.T, m *Manager, _ *clock) string {
			return forge(t, m, jwt.SigningMethodHS256, m.key, func(c *claims) { c.Audience = jwt.ClaimStrings{"other"} })
		}},
		{"wrong issuer", func(t *testing.T, m *Manager, _ *clock) string {
			return forge(t, m, jwt.SigningMethodHS256, m.key, func(c *claims) { c.Issuer = "other" })
		}},
		{"session without expiry", func(t *testing.T, m *Manager, _ *clock) string {
			return forge(t, m, jwt.SigningMethodHS256, m.key, func(c *claims) { c.ExpiresAt = nil })
		}},
		{"unknown kind", func(t *testing.T, m *Manager, _ *clock) string {
			return forge(t, m, jwt.SigningMethodHS256, m.key, func(c *claims) { c.Kind = "root" })
		}},
		{"unknown account", func(t *testing.T, m *Manager, _ *clock) string {
			return forge(t, m, jwt.SigningMethodHS256, m.key, func(c *claims) { c.Subject = "nobody" })
		}},
		{"logged out", func(t *testing.T, m *Manager, _ *clock) string {
			tok := login(t, m)
			p := mustAuthenticate(t, m, tok)
			if err := m.Logout(ctx, p); err != nil {
				t.Fatal(err)
			}
			return tok
		}},
		{"session older than a password change", sessionBeforePasswordChange(time.Second)},
		{"session older than a password change in the same second", sessionBeforePasswordChange(time.Millisecond)},
		{"API token removed from the account", func(t *testing.T, m *Manager, _ *clock) string {
			tok := apiToken(t, m, "ci")
			if err := m.RevokeToken(ctx, "ci", "t1"); err != nil {
				t.Fatal(err)
			}
			return tok
		}},
		{"API token of an account that lost the capability", func(t *testing.T, m *Manager, _ *clock) string {
			tok := apiToken(t, m, "ci")
			err := m.updateAccount(ctx, "ci", func(a *account) error { a.capabilities = nil; return nil })
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}},
		{"API token of a disabled account", func(t *testing.T, m *Manager, _ *clock) string {
			tok := apiToken(t, m, "ci")
			if err := m.SetEnabled(ctx, "ci", false); err != nil {
				t.Fatal(err)
			}
			return tok
		}},
		{"session of a disabled account", func(t *testing.T, m *Manager, _ *clock) string {
			tok := login(t, m)
			if err := m.SetEnabled(ctx, AdminAccount, false); err != nil {
				t.Fatal(err)
			}
			return tok
		}},
		{"API token of a deleted account", func(t *testing.T, m *Manager, _ *clock) string {
			tok := apiToken(t, m, "ci")
			if err := m.DeleteAccount(ctx, "ci"); err != nil {
				t.Fatal(err)
			}
			return tok
		}},
		{"project token not listed", func(t *testing.T, m *Manager, _ *clock) string {
			return projectToken(t, m, "deployer", "unlisted", 0)
		}},
		{"project token listed for another role", func(t *testing.T, m *Manager, _ *clock) string {
			return projectToken(t, m, "viewer", "in-spec", 0)
		}},
		{"project token revoked from status", func(t *testing.T, m *Manager, _ *clock) string {
			tok, err := m.GenerateProjectToken(ctx, "team-a", "deployer", 0)
			if err != nil {
				t.Fatal(err)
			}
			p := mustAuthenticate(t, m, tok)
			if err := m.RevokeProjectToken(ctx, "team-a", "deployer", p.TokenID); err != nil {
				t.Fatal(err)
			}
			return tok
		}},
		{"project token expired in spec", func(t *testing.T, m *Manager, _ *clock) string {
			return projectToken(t, m, "deployer", "expired", 0)
		}},
		{"project token past its exp claim", func(t *testing.T, m *Manager, clk *clock) string {
			tok, err := m.GenerateProjectToken(ctx, "team-a", "deployer", time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			mustAuthenticate(t, m, tok)
			clk.Add(time.Hour)
			return tok
		}},
		{"project token of another project", func(t *testing.T, m *Manager, _ *clock) string {
			return forge(t, m, jwt.SigningMethodHS256, m.key, func(c *claims) {
				c.Kind, c.Subject, c.ID = KindProject, ProjectSubject("team-b", "deployer"), "in-spec"
			})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			c := newClient(t, testProject(
				soll.JWTToken{ID: "in-spec", IssuedAt: past},
				soll.JWTToken{ID: "expired", IssuedAt: past, ExpiresAt: &past},
			))
			m := newManager(t, c, clk)
			tok := tc.token(t, m, clk)
			p, err := m.Authenticate(ctx, tok)
			if err == nil {
				t.Fatalf("Authenticate accepted the token: %+v", p)
			}
			if p != nil {
				t.Errorf("Authenticate returned a principal with its error: %+v", p)
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("error %v does not wrap ErrInvalidToken", err)
			}
			if tok != "" && len(tok) > 20 && strings.Contains(err.Error(), tok) {
				t.Errorf("error message contains the token")
			}
		})
	}
}

func TestAuthenticateAccepts(t *testing.T) {
	ctx := context.Background()
	past := metav1.NewTime(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	future := metav1.NewTime(time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC))
	clk := newClock()
	c := newClient(t, testProject(soll.JWTToken{ID: "in-spec", IssuedAt: past, ExpiresAt: &future}))
	m := newManager(t, c, clk)

	p := mustAuthenticate(t, m, apiToken(t, m, "ci"))
	if p.Kind != KindAPIKey || p.Subject != "ci" || p.TokenID != "t1" || !p.ExpiresAt.IsZero() {
		t.Errorf("API token principal = %+v", p)
	}

	p = mustAuthenticate(t, m, projectToken(t, m, "deployer", "in-spec", 0))
	if p.Kind != KindProject || p.Project != "team-a" || p.Role != "deployer" || p.Subject != "proj:team-a:deployer" {
		t.Errorf("spec project token principal = %+v", p)
	}

	tok, err := m.GenerateProjectToken(ctx, "team-a", "deployer", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p = mustAuthenticate(t, m, tok)
	if p.Kind != KindProject || p.Role != "deployer" || !p.ExpiresAt.Equal(clk.Now().Add(time.Hour)) {
		t.Errorf("status project token principal = %+v", p)
	}
	var proj soll.Project
	if err := c.Get(ctx, m.objKey("team-a"), &proj); err != nil {
		t.Fatal(err)
	}
	if got := proj.Status.JWTTokensByRole; len(got) != 1 || got[0].Role != "deployer" || len(got[0].Tokens) != 1 || got[0].Tokens[0].ID != p.TokenID {
		t.Errorf("status.jwtTokensByRole = %+v", got)
	}
	if _, err := m.GenerateProjectToken(ctx, "team-a", "nope", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("token for a missing role: %v", err)
	}

	// Logging out one session leaves the others alone.
	s1, s2 := login(t, m), login(t, m)
	if err := m.Logout(ctx, mustAuthenticate(t, m, s1)); err != nil {
		t.Fatal(err)
	}
	mustAuthenticate(t, m, s2)
	// A second Manager (another replica) sees the logout.
	m2 := newManager(t, c, clk)
	if _, err := m2.Authenticate(ctx, s1); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("other replica accepted a logged-out session: %v", err)
	}
	// Expired revocations are cleaned up on the next logout.
	clk.Add(25 * time.Hour)
	if err := m.Logout(ctx, mustAuthenticate(t, m, login(t, m))); err != nil {
		t.Fatal(err)
	}
	ids, err := m.revoked.read(ctx)
	if err != nil || len(ids.tokens) != 1 {
		t.Errorf("revocation list after cleanup = %v, %v; want one entry", ids, err)
	}
}

func login(t *testing.T, m *Manager) string {
	t.Helper()
	tok, err := m.Login(context.Background(), AdminAccount, initialPassword(t, m.c), "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// sessionBeforePasswordChange returns a session of admin issued d before
// a change of admin's password, after which admin logs in again.
func sessionBeforePasswordChange(d time.Duration) func(t *testing.T, m *Manager, clk *clock) string {
	return func(t *testing.T, m *Manager, clk *clock) string {
		ctx := context.Background()
		tok := login(t, m)
		mustAuthenticate(t, m, tok)
		clk.Add(d)
		if err := m.ChangePassword(ctx, AdminAccount, initialPassword(t, m.c), "a new password", "10.0.0.2"); err != nil {
			t.Fatal(err)
		}
		after, err := m.Login(ctx, AdminAccount, "a new password", "10.0.0.2")
		if err != nil {
			t.Fatalf("login after the change: %v", err)
		}
		mustAuthenticate(t, m, after)
		return tok
	}
}

func mustAuthenticate(t *testing.T, m *Manager, tok string) *Principal {
	t.Helper()
	p, err := m.Authenticate(context.Background(), tok)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return p
}

// apiToken creates account name with the apiKey capability and returns
// its token "t1", checked to be valid.
func apiToken(t *testing.T, m *Manager, name string) string {
	t.Helper()
	ctx := context.Background()
	if err := m.CreateAccount(ctx, name, CapabilityAPIKey); err != nil {
		t.Fatal(err)
	}
	tok, err := m.GenerateToken(ctx, name, 0, "t1")
	if err != nil {
		t.Fatal(err)
	}
	mustAuthenticate(t, m, tok)
	return tok
}

// projectToken signs a project token with a chosen id, as if issued
// earlier or by another installation sharing the key.
func projectToken(t *testing.T, m *Manager, role, id string, ttl time.Duration) string {
	t.Helper()
	tok, _, err := m.issue(ProjectSubject("team-a", role), KindProject, id, ttl, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// staleReads is a client whose reads come from a snapshot taken before the
// writes, as an informer cache that has not caught up yet; writes go
// through.
type staleReads struct {
	client.Client
	snapshot client.Reader
}

func (s staleReads) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	return s.snapshot.Get(ctx, key, obj, opts...)
}

func (s staleReads) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return s.snapshot.List(ctx, list, opts...)
}

// TestAuthenticateConfirmsRefusalsWithTheAPIServer: a token issued, or an
// account created, a moment ago is accepted although the cache has not
// seen it yet; a revoked token is still refused.
func TestAuthenticateConfirmsRefusalsWithTheAPIServer(t *testing.T) {
	ctx := context.Background()
	c, clk := newClient(t), newClock()
	newManager(t, c, clk) // creates the key and the admin account
	snapshot := newClient(t)
	var secrets corev1.SecretList
	if err := c.List(ctx, &secrets); err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		s.ResourceVersion = ""
		if err := snapshot.Create(ctx, &s); err != nil {
			t.Fatal(err)
		}
	}
	m, err := New(ctx, Options{Client: staleReads{Client: c, snapshot: snapshot}, APIReader: c, Namespace: testNS, Now: clk.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CreateAccount(ctx, "ci", CapabilityAPIKey); err != nil {
		t.Fatal(err)
	}
	token, err := m.GenerateToken(ctx, "ci", time.Hour, "build")
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Authenticate(ctx, token)
	if err != nil || p.Subject != "ci" || p.Kind != KindAPIKey {
		t.Fatalf("a token issued before the cache caught up: Authenticate = %+v, %v", p, err)
	}
	if err := m.RevokeToken(ctx, "ci", "build"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Authenticate(ctx, token); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("a revoked token: Authenticate error = %v, want ErrInvalidToken", err)
	}

	if err := m.CreateAccount(ctx, "alice", CapabilityLogin); err != nil {
		t.Fatal(err)
	}
	if err := m.SetPassword(ctx, "alice", "alice's password"); err != nil {
		t.Fatal(err)
	}
	session, err := m.Login(ctx, "alice", "alice's password", "10.0.0.2")
	if err != nil {
		t.Fatalf("login to an account the cache has not seen: %v", err)
	}
	if p, err := m.Authenticate(ctx, session); err != nil || p.Subject != "alice" {
		t.Fatalf("its session: Authenticate = %+v, %v", p, err)
	}
}
