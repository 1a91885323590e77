package auth

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	soll "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
)

const testNS = "soll"

// clock is a settable clock for the Manager.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestMain(m *testing.M) {
	bcryptCost = bcrypt.MinCost
	os.Exit(testenv.Main(m))
}

var quiet = slog.New(slog.DiscardHandler)

func newClient(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := soll.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(s).WithStatusSubresource(&soll.Project{}).WithObjects(objs...).Build()
}

func newManager(t *testing.T, c client.Client, clk *clock) *Manager {
	t.Helper()
	m, err := New(context.Background(), Options{Client: c, Namespace: testNS, Now: clk.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func initialPassword(t *testing.T, c client.Client) string {
	t.Helper()
	var s corev1.Secret
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: testNS, Name: InitialAdminSecretName}, &s); err != nil {
		t.Fatal(err)
	}
	return string(s.Data[InitialAdminPassword])
}

func TestInitialAdminPasswordStableAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	c, clk := newClient(t), newClock()
	m1 := newManager(t, c, clk)
	p1 := initialPassword(t, c)
	if len(p1) < 16 {
		t.Fatalf("initial password has %d characters, want at least 16", len(p1))
	}
	var s1 corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: testNS, Name: soll.SecretName}, &s1); err != nil {
		t.Fatal(err)
	}
	if n := len(s1.Data[ServerSecretKey]); n < 32 {
		t.Fatalf("server key has %d bytes, want at least 32", n)
	}

	m2 := newManager(t, c, clk)
	if p2 := initialPassword(t, c); p2 != p1 {
		t.Fatal("initial password changed across restarts")
	}
	tok, err := m2.Login(ctx, AdminAccount, p1, "10.0.0.1")
	if err != nil {
		t.Fatalf("login with the initial password: %v", err)
	}
	// Both managers share the key: a token of one is valid for the other.
	p, err := m1.Authenticate(ctx, tok)
	if err != nil || p.Subject != AdminAccount || p.Kind != KindSession {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	if want := clk.Now().Add(24 * time.Hour); !p.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v", p.ExpiresAt, want)
	}
	accts, err := m2.ListAccounts(ctx)
	if err != nil || len(accts) != 1 || accts[0].Name != AdminAccount || !accts[0].HasPassword {
		t.Fatalf("ListAccounts = %+v, %v", accts, err)
	}
}

func TestAccountsAndPasswords(t *testing.T) {
	ctx := context.Background()
	c, clk := newClient(t), newClock()
	m := newManager(t, c, clk)
	if err := m.CreateAccount(ctx, "ci", CapabilityAPIKey, CapabilityLogin); err != nil {
		t.Fatal(err)
	}
	if err := m.CreateAccount(ctx, "ci"); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("duplicate CreateAccount: %v", err)
	}
	if err := m.CreateAccount(ctx, "Bad Name"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("bad name: %v", err)
	}
	if err := m.SetPassword(ctx, "ci", "short"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("short password: %v", err)
	}
	if _, err := m.Login(ctx, "ci", "", "a"); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("login without password set: %v", err)
	}
	if err := m.SetPassword(ctx, "ci", "long enough"); err != nil {
		t.Fatal(err)
	}
	if err := m.ChangePassword(ctx, "ci", "wrong one", "new password", "a"); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("change with wrong current password: %v", err)
	}
	if err := m.ChangePassword(ctx, "ci", "long enough", "new password", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Login(ctx, "ci", "new password", "a"); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
	if err := m.DeleteAccount(ctx, AdminAccount); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("delete admin: %v", err)
	}
	if err := m.DeleteAccount(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.GetAccount(ctx, "ci"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted account: %v", err)
	}
}

// TestSetCapabilities: taking a capability away refuses what it allowed
// from then on, sessions and API tokens alike; giving it back restores
// them.
func TestSetCapabilities(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, newClient(t), newClock())
	tok := apiToken(t, m, "ci")
	if err := m.SetCapabilities(ctx, "ci", CapabilityLogin, "root"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("unknown capability: %v", err)
	}
	if err := m.SetCapabilities(ctx, "nobody", CapabilityLogin); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
	if err := m.SetCapabilities(ctx, "ci", CapabilityLogin); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Authenticate(ctx, tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("API token without apiKey: %v", err)
	}
	if err := m.SetPassword(ctx, "ci", "long enough"); err != nil {
		t.Fatal(err)
	}
	session, err := m.Login(ctx, "ci", "long enough", "a")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetCapabilities(ctx, "ci", CapabilityAPIKey); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Authenticate(ctx, session); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("session without login: %v", err)
	}
	mustAuthenticate(t, m, tok)
	if a, err := m.GetAccount(ctx, "ci"); err != nil || !slices.Equal(a.Capabilities, []string{CapabilityAPIKey}) {
		t.Errorf("account: %+v, %v", a, err)
	}
}
