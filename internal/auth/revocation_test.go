package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"soll.dev/internal/testenv"
)

// clusterManager is a Manager on a fresh namespace of the shared cluster.
func clusterManager(t *testing.T, clk *clock, limit int) (*Manager, *testenv.Env, string) {
	t.Helper()
	env := testenv.Cluster(t)
	ns := env.Namespace(t)
	m, err := New(context.Background(), Options{Client: env.Client, Namespace: ns, Now: clk.Now, Logger: quiet, RevocationLimit: limit})
	if err != nil {
		t.Fatal(err)
	}
	return m, env, ns
}

// adminLogin logs admin in with the initial password of m's namespace.
func adminLogin(t *testing.T, m *Manager) string {
	t.Helper()
	var s corev1.Secret
	if err := m.c.Get(context.Background(), m.objKey(InitialAdminSecretName), &s); err != nil {
		t.Fatal(err)
	}
	tok, err := m.Login(context.Background(), AdminAccount, string(s.Data[InitialAdminPassword]), "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func revokedSecret(t *testing.T, env *testenv.Env, ns string) map[string][]byte {
	t.Helper()
	var s corev1.Secret
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: RevokedTokensName}, &s); err != nil {
		t.Fatal(err)
	}
	return s.Data
}

// TestRevocationListPruned: a logout drops the entries of the list whose
// tokens have expired, in the format of this version and the older one.
func TestRevocationListPruned(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Now()}
	m, env, ns := clusterManager(t, clk, 0)
	data := map[string][]byte{}
	for i := range 200 {
		exp := clk.Now().Add(-time.Duration(i+1) * time.Minute).UTC().Format(time.RFC3339)
		data[fmt.Sprint("old-", i)] = []byte(exp)
		data[fmt.Sprint("new-", i)] = []byte(exp + " 1700000000000 " + subjectKey(KindSession, "someone"))
	}
	live := clk.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	data["live"] = []byte(live)
	data[subjectPrefix+subjectKey(KindSSO, "gone")] = []byte(clk.Now().Add(-time.Second).UTC().Format(time.RFC3339) + " 1700000000000")
	if err := env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: RevokedTokensName, Namespace: ns}, Data: data}); err != nil {
		t.Fatal(err)
	}
	p := mustAuthenticate(t, m, adminLogin(t, m))
	if err := m.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	got := revokedSecret(t, env, ns)
	if len(got) != 2 || string(got["live"]) != live || got[p.TokenID] == nil {
		keys := make([]string, 0, len(got))
		for k := range got {
			keys = append(keys, k)
		}
		t.Errorf("revocation list after a logout has %d entries %v, want the live one and %s", len(got), keys, p.TokenID)
	}
	if _, err := m.Authenticate(ctx, adminLogin(t, m)); err != nil {
		t.Errorf("a new session after the logout: %v", err)
	}
}

// TestRevocationListBounded: a user who logs in and out over and over
// cannot grow the list past its limit, which would make every logout fail:
// their logouts are folded into one entry that revokes their sessions up
// to the last logout. Other users' logouts stay single entries.
func TestRevocationListBounded(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Now()}
	const limit = 4 << 10
	m, env, ns := clusterManager(t, clk, limit)
	if err := m.CreateAccount(ctx, "bob", CapabilityLogin); err != nil {
		t.Fatal(err)
	}
	if err := m.SetPassword(ctx, "bob", "bob's password"); err != nil {
		t.Fatal(err)
	}
	bobLogin := func() string {
		t.Helper()
		tok, err := m.Login(ctx, "bob", "bob's password", "10.0.0.2")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	bobOut, bobIn := bobLogin(), bobLogin()
	if err := m.Logout(ctx, mustAuthenticate(t, m, bobOut)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := range 200 {
		clk.Add(time.Millisecond)
		tok := adminLogin(t, m)
		if err := m.Logout(ctx, mustAuthenticate(t, m, tok)); err != nil {
			t.Fatalf("logout %d: %v", i, err)
		}
		out = append(out, tok)
	}
	if n := size(revokedSecret(t, env, ns)); n > limit {
		t.Errorf("the revocation list takes %d bytes, want at most %d", n, limit)
	}
	// A second replica reads the Secret afresh.
	m2, err := New(ctx, Options{Client: env.Client, Namespace: ns, Now: clk.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for _, mm := range []*Manager{m, m2} {
		for i, tok := range out {
			if _, err := mm.Authenticate(ctx, tok); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("logged-out session %d: %v", i, err)
			}
		}
		if _, err := mm.Authenticate(ctx, bobOut); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("bob's logged-out session: %v", err)
		}
		mustAuthenticate(t, mm, bobIn)
	}
	// A session opened after the last logout works.
	clk.Add(time.Millisecond)
	mustAuthenticate(t, m2, adminLogin(t, m))
}

// TestLogoutFailsSafe: a logout that cannot be recorded fails, and the
// session goes on working: the caller is not told it is logged out.
func TestLogoutFailsSafe(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Now()}
	m, _, _ := clusterManager(t, clk, 10)
	tok := adminLogin(t, m)
	if err := m.Logout(ctx, mustAuthenticate(t, m, tok)); !errors.Is(err, ErrRevocationFull) {
		t.Fatalf("logout with no room: %v, want ErrRevocationFull", err)
	}
	mustAuthenticate(t, m, tok)
}
