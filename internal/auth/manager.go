package auth

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
)

// Names of the Secrets the Manager keeps in soll's namespace.
const (
	ServerSecretKey        = "server.secretkey"
	InitialAdminSecretName = "soll-initial-admin-secret"
	InitialAdminPassword   = "password"
	AccountsSecretName     = "soll-accounts"
	RevokedTokensName      = "soll-revoked-tokens"

	// AdminAccount always exists; it can be disabled but not deleted.
	AdminAccount = "admin"
)

// bcryptCost is the cost of password hashes; tests lower it to keep the
// race detector's runs short.
var bcryptCost = bcrypt.DefaultCost

// Options configure a Manager. Only Client and Namespace are required.
type Options struct {
	// Client reads and writes Secrets and Projects in Namespace. A cached
	// client is fine: tokens are checked against what it returns.
	Client client.Client
	// APIReader, when set, reads what the Manager is about to change
	// (read-modify-write), and the accounts it returns to administrators
	// and checks passwords against on a change, from the API server
	// directly rather than from a cache that may lag behind the last
	// write; nil means Client.
	APIReader client.Reader
	// Namespace is soll's namespace.
	Namespace string
	// SessionDuration is the lifetime of session tokens; 24h by default.
	SessionDuration time.Duration
	// Throttle configures login rate limiting; see ThrottlePolicy.
	Throttle ThrottlePolicy
	// InsecureCookies drops the Secure attribute of cookies, for plain
	// HTTP development setups only.
	InsecureCookies bool
	// RevocationRefresh is how often the revocation list is re-read, so
	// that logouts on other replicas take effect; 30s by default.
	RevocationRefresh time.Duration
	// RevocationLimit bounds the size of the revocation list (the
	// soll-revoked-tokens Secret) in bytes; DefaultRevocationLimit by
	// default. Past it, the list is compacted (see Logout in the user
	// docs), and a logout that still does not fit fails.
	RevocationLimit int
	// Now is the clock, time.Now by default; tests inject their own.
	Now func() time.Time
	// Logger receives events without secrets; slog.Default() by default.
	Logger *slog.Logger
}

// Manager authenticates users and manages accounts and tokens. Create it
// with New; it is safe for concurrent use.
type Manager struct {
	c      client.Client
	reader client.Reader
	// cached is whether c reads a cache that reader reads around.
	cached     bool
	ns         string
	sessionTTL time.Duration
	insecure   bool
	now        func() time.Time
	log        *slog.Logger
	key        []byte
	bcryptCost int

	throttle *throttle
	revoked  *revocationList

	dummyOnce sync.Once
	dummyHash []byte
}

// New loads or creates the signing key and the admin account's initial
// password, and returns a ready Manager.
func New(ctx context.Context, opts Options) (*Manager, error) {
	if opts.Client == nil || opts.Namespace == "" {
		return nil, fmt.Errorf("auth: Options.Client and Options.Namespace are required")
	}
	m := &Manager{
		c:          opts.Client,
		reader:     opts.APIReader,
		ns:         opts.Namespace,
		sessionTTL: opts.SessionDuration,
		insecure:   opts.InsecureCookies,
		now:        opts.Now,
		log:        opts.Logger,
		bcryptCost: bcryptCost,
	}
	m.cached = m.reader != nil
	if m.reader == nil {
		m.reader = m.c
	}
	if m.sessionTTL <= 0 {
		m.sessionTTL = 24 * time.Hour
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	m.throttle = newThrottle(opts.Throttle, m.now)
	refresh := opts.RevocationRefresh
	if refresh <= 0 {
		refresh = 30 * time.Second
	}
	m.revoked = &revocationList{m: m, refresh: refresh, limit: cmp.Or(opts.RevocationLimit, DefaultRevocationLimit)}

	key, err := m.loadOrCreateKey(ctx)
	if err != nil {
		return nil, err
	}
	m.key = key
	if err := m.ensureAdmin(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// loadOrCreateKey returns server.secretkey, creating the Secret or the key
// when missing. Concurrent replicas converge on the first key written.
func (m *Manager) loadOrCreateKey(ctx context.Context) ([]byte, error) {
	for range 5 {
		var s corev1.Secret
		err := m.c.Get(ctx, m.objKey(sollv1.SecretName), &s)
		switch {
		case apierrors.IsNotFound(err):
			s = corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: sollv1.SecretName, Namespace: m.ns},
				Data:       map[string][]byte{ServerSecretKey: randomBytes(32)},
			}
			err = m.c.Create(ctx, &s)
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("create secret %s/%s: %w", m.ns, sollv1.SecretName, err)
			}
			m.log.Info("created server signing key", "secret", sollv1.SecretName)
			return s.Data[ServerSecretKey], nil
		case err != nil:
			return nil, fmt.Errorf("get secret %s/%s: %w", m.ns, sollv1.SecretName, err)
		}
		if k := s.Data[ServerSecretKey]; len(k) >= 32 {
			return k, nil
		}
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		s.Data[ServerSecretKey] = randomBytes(32)
		err = m.c.Update(ctx, &s)
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("update secret %s/%s: %w", m.ns, sollv1.SecretName, err)
		}
		return s.Data[ServerSecretKey], nil
	}
	return nil, fmt.Errorf("secret %s/%s: key %s keeps changing, giving up", m.ns, sollv1.SecretName, ServerSecretKey)
}

// ensureAdmin creates the admin account if it is missing and, when it has
// no password yet, gives it the password in soll-initial-admin-secret
// (creating that Secret with a random password first).
func (m *Manager) ensureAdmin(ctx context.Context) error {
	accts, err := m.readAccounts(ctx, m.reader)
	if err != nil {
		return err
	}
	if a, ok := accts[AdminAccount]; ok && len(a.hash) > 0 {
		return nil
	}
	password, err := m.initialPassword(ctx)
	if err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), m.bcryptCost)
	if err != nil {
		return fmt.Errorf("hash initial admin password: %w", err)
	}
	return m.updateAccounts(ctx, func(accts map[string]*account) error {
		a, ok := accts[AdminAccount]
		if !ok {
			a = &account{name: AdminAccount, enabled: true, capabilities: []string{CapabilityLogin}}
			accts[AdminAccount] = a
		}
		if len(a.hash) == 0 {
			a.hash = hash
			a.passwordMtime = m.now().UTC().Truncate(time.Millisecond)
		}
		return nil
	})
}

// initialPassword reads soll-initial-admin-secret, creating it if missing.
func (m *Manager) initialPassword(ctx context.Context) (string, error) {
	var s corev1.Secret
	err := m.c.Get(ctx, m.objKey(InitialAdminSecretName), &s)
	if err == nil && len(s.Data[InitialAdminPassword]) > 0 {
		return string(s.Data[InitialAdminPassword]), nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("get secret %s/%s: %w", m.ns, InitialAdminSecretName, err)
	}
	password := base64.RawURLEncoding.EncodeToString(randomBytes(18))
	if apierrors.IsNotFound(err) {
		s = corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: InitialAdminSecretName, Namespace: m.ns},
			Data:       map[string][]byte{InitialAdminPassword: []byte(password)},
		}
		err = m.c.Create(ctx, &s)
	} else {
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		s.Data[InitialAdminPassword] = []byte(password)
		err = m.c.Update(ctx, &s)
	}
	if apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err) {
		// Another replica was faster; use its password.
		return m.initialPassword(ctx)
	}
	if err != nil {
		return "", fmt.Errorf("write secret %s/%s: %w", m.ns, InitialAdminSecretName, err)
	}
	m.log.Info("created initial admin password", "secret", InitialAdminSecretName)
	return password, nil
}

// updateSecret replaces the data of the named Secret with what change
// returns for its current data, creating the Secret if missing and
// retrying on conflicting writes; change may run more than once.
func (m *Manager) updateSecret(ctx context.Context, name string, change func(map[string][]byte) (map[string][]byte, error)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var s corev1.Secret
		err := m.reader.Get(ctx, m.objKey(name), &s)
		create := apierrors.IsNotFound(err)
		if err != nil && !create {
			return fmt.Errorf("get secret %s/%s: %w", m.ns, name, err)
		}
		if s.Data, err = change(s.Data); err != nil {
			return err
		}
		if create {
			s.ObjectMeta = metav1.ObjectMeta{Name: name, Namespace: m.ns}
			err = m.c.Create(ctx, &s)
			if apierrors.IsAlreadyExists(err) {
				// A conflict makes the retry re-read the Secret.
				return apierrors.NewConflict(corev1.Resource("secrets"), name, err)
			}
		} else {
			err = m.c.Update(ctx, &s)
		}
		if err != nil && !apierrors.IsConflict(err) {
			return fmt.Errorf("write secret %s/%s: %w", m.ns, name, err)
		}
		return err
	})
}

func (m *Manager) objKey(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: m.ns, Name: name}
}

// dummy is a bcrypt hash compared against for unknown accounts, so that
// their failed logins take as long as those of existing accounts.
func (m *Manager) dummy() []byte {
	m.dummyOnce.Do(func() {
		m.dummyHash, _ = bcrypt.GenerateFromPassword(randomBytes(16), m.bcryptCost)
	})
	return m.dummyHash
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return b
}

func randomID() string { return base64.RawURLEncoding.EncodeToString(randomBytes(16)) }
