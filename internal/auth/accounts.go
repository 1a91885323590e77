package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Account capabilities.
const (
	// CapabilityLogin allows logging in with a password.
	CapabilityLogin = "login"
	// CapabilityAPIKey allows API tokens for the account.
	CapabilityAPIKey = "apiKey"
)

// MinPasswordLength is the password policy.
const MinPasswordLength = 8

var accountNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Account is a local account as returned to callers; it never carries the
// password hash.
type Account struct {
	Name          string
	Enabled       bool
	Capabilities  []string
	HasPassword   bool
	PasswordMtime time.Time
	Tokens        []TokenInfo
}

// TokenInfo records an API token issued for an account. The token itself
// is never stored.
type TokenInfo struct {
	ID        string    `json:"id"`
	IssuedAt  time.Time `json:"issuedAt"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// account is the stored form: keys accounts.<name>.<field> of the
// soll-accounts Secret.
type account struct {
	name          string
	hash          []byte
	passwordMtime time.Time
	enabled       bool
	capabilities  []string
	tokens        []TokenInfo
}

func (a *account) can(capability string) bool { return slices.Contains(a.capabilities, capability) }

func (a *account) public() Account {
	return Account{
		Name:          a.name,
		Enabled:       a.enabled,
		Capabilities:  slices.Clone(a.capabilities),
		HasPassword:   len(a.hash) > 0,
		PasswordMtime: a.passwordMtime,
		Tokens:        slices.Clone(a.tokens),
	}
}

func (a *account) token(id string) (TokenInfo, bool) {
	for _, t := range a.tokens {
		if subtle.ConstantTimeCompare([]byte(t.ID), []byte(id)) == 1 {
			return t, true
		}
	}
	return TokenInfo{}, false
}

const accountPrefix = "accounts."

func decodeAccounts(data map[string][]byte) (map[string]*account, error) {
	accts := map[string]*account{}
	get := func(name string) *account {
		a, ok := accts[name]
		if !ok {
			a = &account{name: name, enabled: true}
			accts[name] = a
		}
		return a
	}
	for k, v := range data {
		rest, ok := strings.CutPrefix(k, accountPrefix)
		if !ok {
			continue
		}
		dot := strings.LastIndexByte(rest, '.')
		if dot <= 0 {
			continue
		}
		a := get(rest[:dot])
		switch field := rest[dot+1:]; field {
		case "password":
			a.hash = v
		case "passwordMtime":
			t, err := time.Parse(time.RFC3339, string(v))
			if err != nil {
				return nil, fmt.Errorf("key %s: %w", k, err)
			}
			a.passwordMtime = t
		case "enabled":
			b, err := strconv.ParseBool(string(v))
			if err != nil {
				return nil, fmt.Errorf("key %s: %w", k, err)
			}
			a.enabled = b
		case "capabilities":
			for c := range strings.SplitSeq(string(v), ",") {
				if c = strings.TrimSpace(c); c != "" {
					a.capabilities = append(a.capabilities, c)
				}
			}
		case "tokens":
			if err := json.Unmarshal(v, &a.tokens); err != nil {
				return nil, fmt.Errorf("key %s: %w", k, err)
			}
		}
	}
	return accts, nil
}

func encodeAccounts(accts map[string]*account) (map[string][]byte, error) {
	data := map[string][]byte{}
	for name, a := range accts {
		p := accountPrefix + name + "."
		if len(a.hash) > 0 {
			data[p+"password"] = a.hash
			data[p+"passwordMtime"] = []byte(a.passwordMtime.UTC().Format(time.RFC3339Nano))
		}
		data[p+"enabled"] = []byte(strconv.FormatBool(a.enabled))
		data[p+"capabilities"] = []byte(strings.Join(a.capabilities, ","))
		if len(a.tokens) > 0 {
			b, err := json.Marshal(a.tokens)
			if err != nil {
				return nil, err
			}
			data[p+"tokens"] = b
		}
	}
	return data, nil
}

// readAccounts returns the stored accounts, read with r (the cache or
// the API server); a missing Secret is no accounts.
func (m *Manager) readAccounts(ctx context.Context, r client.Reader) (map[string]*account, error) {
	var s corev1.Secret
	err := r.Get(ctx, m.objKey(AccountsSecretName), &s)
	if apierrors.IsNotFound(err) {
		return map[string]*account{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get secret %s/%s: %w", m.ns, AccountsSecretName, err)
	}
	accts, err := decodeAccounts(s.Data)
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", m.ns, AccountsSecretName, err)
	}
	return accts, nil
}

func (m *Manager) getAccount(ctx context.Context, r client.Reader, name string) (*account, error) {
	accts, err := m.readAccounts(ctx, r)
	if err != nil {
		return nil, err
	}
	a, ok := accts[name]
	if !ok {
		return nil, fmt.Errorf("account %q: %w", name, ErrNotFound)
	}
	return a, nil
}

// updateAccounts applies change to the stored accounts, retrying on
// conflicting writes. change may run more than once.
func (m *Manager) updateAccounts(ctx context.Context, change func(map[string]*account) error) error {
	return m.updateSecret(ctx, AccountsSecretName, func(data map[string][]byte) (map[string][]byte, error) {
		accts, err := decodeAccounts(data)
		if err != nil {
			return nil, fmt.Errorf("secret %s/%s: %w", m.ns, AccountsSecretName, err)
		}
		if err := change(accts); err != nil {
			return nil, err
		}
		return encodeAccounts(accts)
	})
}

// updateAccount applies change to one existing account.
func (m *Manager) updateAccount(ctx context.Context, name string, change func(*account) error) error {
	return m.updateAccounts(ctx, func(accts map[string]*account) error {
		a, ok := accts[name]
		if !ok {
			return fmt.Errorf("account %q: %w", name, ErrNotFound)
		}
		return change(a)
	})
}

// ListAccounts returns the accounts sorted by name.
func (m *Manager) ListAccounts(ctx context.Context) ([]Account, error) {
	accts, err := m.readAccounts(ctx, m.reader)
	if err != nil {
		return nil, err
	}
	out := make([]Account, 0, len(accts))
	for _, a := range accts {
		out = append(out, a.public())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// GetAccount returns one account.
func (m *Manager) GetAccount(ctx context.Context, name string) (Account, error) {
	a, err := m.getAccount(ctx, m.reader, name)
	if err != nil {
		return Account{}, err
	}
	return a.public(), nil
}

// CreateAccount creates an enabled account with the given capabilities
// (CapabilityLogin, CapabilityAPIKey) and no password; set one with
// SetPassword.
func (m *Manager) CreateAccount(ctx context.Context, name string, capabilities ...string) error {
	if !accountNameRE.MatchString(name) || len(name) > 63 {
		return fmt.Errorf("account name %q: must be at most 63 lower-case letters, digits and '-': %w", name, ErrInvalidArgument)
	}
	if err := checkCapabilities(capabilities); err != nil {
		return err
	}
	return m.updateAccounts(ctx, func(accts map[string]*account) error {
		if _, ok := accts[name]; ok {
			return fmt.Errorf("account %q: %w", name, ErrAlreadyExists)
		}
		accts[name] = &account{name: name, enabled: true, capabilities: slices.Clone(capabilities)}
		return nil
	})
}

// DeleteAccount deletes an account and with it all its tokens. The admin
// account cannot be deleted; disable it instead.
func (m *Manager) DeleteAccount(ctx context.Context, name string) error {
	if name == AdminAccount {
		return fmt.Errorf("account %q cannot be deleted, disable it instead: %w", name, ErrInvalidArgument)
	}
	return m.updateAccounts(ctx, func(accts map[string]*account) error {
		if _, ok := accts[name]; !ok {
			return fmt.Errorf("account %q: %w", name, ErrNotFound)
		}
		delete(accts, name)
		return nil
	})
}

// SetEnabled enables or disables an account. A disabled account cannot
// log in and all its tokens are refused.
func (m *Manager) SetEnabled(ctx context.Context, name string, enabled bool) error {
	return m.updateAccount(ctx, name, func(a *account) error {
		a.enabled = enabled
		return nil
	})
}

// SetCapabilities replaces an account's capabilities. Without
// CapabilityAPIKey its API tokens are refused, without CapabilityLogin
// its sessions, from then on.
func (m *Manager) SetCapabilities(ctx context.Context, name string, capabilities ...string) error {
	if err := checkCapabilities(capabilities); err != nil {
		return err
	}
	return m.updateAccount(ctx, name, func(a *account) error {
		a.capabilities = slices.Clone(capabilities)
		return nil
	})
}

func checkCapabilities(capabilities []string) error {
	for _, c := range capabilities {
		if c != CapabilityLogin && c != CapabilityAPIKey {
			return fmt.Errorf("capability %q: must be %q or %q: %w", c, CapabilityLogin, CapabilityAPIKey, ErrInvalidArgument)
		}
	}
	return nil
}

// SetPassword sets an account's password without knowing the current one
// (an administrator's action). Sessions issued before it are revoked.
func (m *Manager) SetPassword(ctx context.Context, name, password string) error {
	if err := CheckPasswordPolicy(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), m.bcryptCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	return m.updateAccount(ctx, name, func(a *account) error {
		a.hash = hash
		a.passwordMtime = m.now().UTC().Truncate(time.Millisecond)
		return nil
	})
}

// ChangePassword changes an account's password after checking the current
// one. Sessions issued before the change are revoked; API tokens are not.
// A wrong current password is a failed login: it counts towards the
// throttling of the account and of clientAddr, and while either is
// throttled ChangePassword returns a *ThrottledError without checking the
// password.
func (m *Manager) ChangePassword(ctx context.Context, name, current, password, clientAddr string) error {
	release, err := m.throttle.attempt(name, clientAddr)
	if err != nil {
		return err
	}
	ok := false
	defer func() { release(ok) }()
	a, err := m.getAccount(ctx, m.reader, name)
	if err != nil {
		return err
	}
	if bcrypt.CompareHashAndPassword(a.hash, []byte(current)) != nil || len(a.hash) == 0 {
		m.log.Info("password change refused: wrong current password", "account", name, "client", clientAddr)
		return fmt.Errorf("account %q: current password: %w", name, ErrInvalidCredentials)
	}
	ok = true
	return m.SetPassword(ctx, name, password)
}

// CheckPasswordPolicy refuses a password SetPassword would refuse, so
// that callers can check one before they create anything.
func CheckPasswordPolicy(password string) error {
	if len([]rune(password)) < MinPasswordLength {
		return fmt.Errorf("password must have at least %d characters: %w", MinPasswordLength, ErrInvalidArgument)
	}
	if len(password) > 72 {
		// bcrypt ignores everything after 72 bytes.
		return fmt.Errorf("password must have at most 72 bytes: %w", ErrInvalidArgument)
	}
	return nil
}
