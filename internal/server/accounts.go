package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"soll.dev/internal/apitypes"
	"soll.dev/internal/auth"
	"soll.dev/internal/rbac"
)

// Accounts manages local accounts, their API tokens, and Project role
// tokens; *auth.Manager is one.
type Accounts interface {
	ListAccounts(ctx context.Context) ([]auth.Account, error)
	GetAccount(ctx context.Context, name string) (auth.Account, error)
	CreateAccount(ctx context.Context, name string, capabilities ...string) error
	DeleteAccount(ctx context.Context, name string) error
	SetEnabled(ctx context.Context, name string, enabled bool) error
	SetCapabilities(ctx context.Context, name string, capabilities ...string) error
	SetPassword(ctx context.Context, name, password string) error
	// ChangePassword counts a wrong current password as a failed login of
	// the account from clientAddr and returns an *auth.ThrottledError
	// while either is throttled.
	ChangePassword(ctx context.Context, name, current, password, clientAddr string) error
	IssueToken(ctx context.Context, name string, expiresIn time.Duration, id string) (string, auth.TokenInfo, error)
	RevokeToken(ctx context.Context, name, id string) error
	IssueProjectToken(ctx context.Context, project, role string, expiresIn time.Duration, id string) (string, auth.TokenInfo, error)
	RevokeProjectToken(ctx context.Context, project, role, id string) error
}

func presentAccount(a auth.Account) apitypes.Account {
	out := apitypes.Account{Name: a.Name, Enabled: a.Enabled, Capabilities: nonNil(a.Capabilities), HasPassword: a.HasPassword, Tokens: []apitypes.TokenInfo{}}
	for _, t := range a.Tokens {
		out.Tokens = append(out.Tokens, apitypes.TokenInfo{ID: t.ID, IssuedAt: t.IssuedAt, ExpiresAt: t.ExpiresAt})
	}
	if !a.PasswordMtime.IsZero() {
		t := a.PasswordMtime.UTC()
		out.PasswordChangedAt = &t
	}
	return out
}

func presentToken(token string, info auth.TokenInfo) apitypes.Token {
	out := apitypes.Token{ID: info.ID, Token: token, IssuedAt: info.IssuedAt}
	if !info.ExpiresAt.IsZero() {
		out.ExpiresAt = &info.ExpiresAt
	}
	return out
}

// self reports whether p is the local account name itself: a session or
// API token of it, whose RBAC subject is the account, never a Project
// role or an SSO user, whatever their names.
func self(p *Principal, name string) bool { return slices.Contains(p.Subjects, rbac.Account(name)) }

func (s *Server) accounts() (Accounts, error) {
	if s.opts.Accounts == nil {
		return nil, newError(http.StatusNotImplemented, "NotImplemented", "this server was started without local accounts")
	}
	return s.opts.Accounts, nil
}

// accountError gives the errors of Accounts their HTTP meaning; field is
// blamed for invalid arguments.
func accountError(err error, field string) error {
	msg := func(sentinel error) string { return strings.TrimSuffix(err.Error(), ": "+sentinel.Error()) }
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrNotFound):
		return notFound("%s not found", msg(auth.ErrNotFound))
	case errors.Is(err, auth.ErrAlreadyExists):
		return newError(http.StatusConflict, "AlreadyExists", "%s already exists", msg(auth.ErrAlreadyExists))
	case errors.Is(err, auth.ErrInvalidCredentials):
		return invalid("currentPassword", "the current password is wrong")
	case errors.Is(err, auth.ErrInvalidArgument):
		return invalid(field, "%s", msg(auth.ErrInvalidArgument))
	}
	return err
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request, p *Principal) error {
	am, err := s.accounts()
	if err != nil {
		return err
	}
	all, err := am.ListAccounts(r.Context())
	if err != nil {
		return err
	}
	items := []apitypes.Account{}
	for _, a := range all {
		if self(p, a.Name) || s.opts.RBAC.Allowed(p, resAccounts, actGet, a.Name) {
			items = append(items, presentAccount(a))
		}
	}
	writeJSON(w, http.StatusOK, apitypes.List[apitypes.Account]{Items: items})
	return nil
}

// readAccount returns account name if p may act on it: always for p's
// own account when own is true, else with the RBAC right action.
func (s *Server) readAccount(r *http.Request, p *Principal, action string, own bool) (Accounts, auth.Account, error) {
	name := r.PathValue("name")
	noteObject(r.Context(), name, "", "")
	am, err := s.accounts()
	if err != nil {
		return nil, auth.Account{}, err
	}
	if !own || !self(p, name) {
		if err := s.forbid(p, resAccounts, action, name); err != nil {
			return nil, auth.Account{}, err
		}
	}
	a, err := am.GetAccount(r.Context(), name)
	return am, a, accountError(err, "")
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request, p *Principal) error {
	_, a, err := s.readAccount(r, p, actGet, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, presentAccount(a))
	return nil
}

func (s *Server) createAccount(w http.ResponseWriter, r *http.Request, p *Principal) error {
	am, err := s.accounts()
	if err != nil {
		return err
	}
	var req apitypes.AccountRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	noteObject(r.Context(), req.Name, "", "")
	if req.Name == "" {
		return invalid("name", "name is required")
	}
	if err := s.forbid(p, resAccounts, actCreate, req.Name); err != nil {
		return err
	}
	if err := checkCapabilities(req.Capabilities); err != nil {
		return err
	}
	if req.Password != "" {
		if err := auth.CheckPasswordPolicy(req.Password); err != nil {
			return accountError(err, "password")
		}
	}
	ctx := r.Context()
	if err := am.CreateAccount(ctx, req.Name, normalCapabilities(req.Capabilities)...); err != nil {
		return accountError(err, "name")
	}
	if req.Password != "" {
		if err := am.SetPassword(ctx, req.Name, req.Password); err != nil {
			return accountError(err, "password")
		}
	}
	if req.Enabled != nil && !*req.Enabled {
		if err := am.SetEnabled(ctx, req.Name, false); err != nil {
			return err
		}
	}
	a, err := am.GetAccount(ctx, req.Name)
	if err != nil {
		return accountError(err, "")
	}
	writeJSON(w, http.StatusCreated, presentAccount(a))
	return nil
}

func checkCapabilities(caps []string) error {
	for i, c := range caps {
		if c != auth.CapabilityLogin && c != auth.CapabilityAPIKey {
			return invalid(fmt.Sprintf("capabilities[%d]", i), "capability %q is not %s or %s", c, auth.CapabilityLogin, auth.CapabilityAPIKey)
		}
	}
	return nil
}

// normalCapabilities sorts capabilities and drops repeats.
func normalCapabilities(caps []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(caps)))
}

// patchAccount enables or disables an account and replaces its
// capabilities; a disabled account's sessions and tokens are refused from
// then on, as are the sessions of an account without login and the API
// tokens of one without apiKey.
func (s *Server) patchAccount(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req apitypes.AccountPatch
	if err := decode(r, &req); err != nil {
		return err
	}
	am, a, err := s.readAccount(r, p, actUpdate, false)
	if err != nil {
		return err
	}
	var caps, changes []string
	if req.Enabled != nil {
		changes = append(changes, fmt.Sprintf("enabled: %t", *req.Enabled))
	}
	if req.Capabilities != nil {
		caps = normalCapabilities(*req.Capabilities)
		changes = append(changes, "capabilities: "+cmp.Or(strings.Join(caps, ","), "none"))
	}
	if len(changes) == 0 {
		return invalid("enabled", "give enabled (true or false), capabilities (a list of %s and %s), or both", auth.CapabilityLogin, auth.CapabilityAPIKey)
	}
	noteOf(r.Context()).detail = " (" + strings.Join(changes, ", ") + ")"
	if req.Capabilities != nil {
		if err := checkCapabilities(*req.Capabilities); err != nil {
			return err
		}
	}
	ctx := r.Context()
	if req.Capabilities != nil {
		if err := am.SetCapabilities(ctx, a.Name, caps...); err != nil {
			return accountError(err, "capabilities")
		}
		a.Capabilities = caps
	}
	if req.Enabled != nil {
		if err := am.SetEnabled(ctx, a.Name, *req.Enabled); err != nil {
			return accountError(err, "")
		}
		a.Enabled = *req.Enabled
	}
	writeJSON(w, http.StatusOK, presentAccount(a))
	return nil
}

func (s *Server) deleteAccount(w http.ResponseWriter, r *http.Request, p *Principal) error {
	am, a, err := s.readAccount(r, p, actDelete, false)
	if err != nil {
		return err
	}
	if err := am.DeleteAccount(r.Context(), a.Name); err != nil {
		return accountError(err, "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setPassword changes your own password, given the current one, or,
// with the update right, another account's without it. Either way the
// account's sessions issued before are refused from then on.
func (s *Server) setPassword(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req apitypes.PasswordChange
	if err := decode(r, &req); err != nil {
		return err
	}
	name := r.PathValue("name")
	am, a, err := s.readAccount(r, p, actUpdate, true)
	if err != nil {
		return err
	}
	if err := auth.CheckPasswordPolicy(req.NewPassword); err != nil {
		return accountError(err, "newPassword")
	}
	if self(p, name) {
		if req.CurrentPassword == "" {
			return invalid("currentPassword", "currentPassword is required to change your own password")
		}
		err = am.ChangePassword(r.Context(), a.Name, req.CurrentPassword, req.NewPassword, clientHost(r))
		var throttled *auth.ThrottledError
		if errors.As(err, &throttled) {
			// As the login answers: the client learns when to try
			// again, not whether the password was right.
			w.Header().Set("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Seconds())+1))
			return newError(http.StatusTooManyRequests, "Throttled",
				"too many wrong passwords for account %s: retry in %s", a.Name, throttled.RetryAfter.Round(time.Second))
		}
	} else {
		err = am.SetPassword(r.Context(), a.Name, req.NewPassword)
	}
	if err != nil {
		return accountError(err, "newPassword")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// clientHost is the address of the request's client, as the login
// throttles it.
func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// createAccountToken issues an API token: for your own account, or with
// the update right for another; either way only for an account with the
// apiKey capability.
func (s *Server) createAccountToken(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req apitypes.TokenRequest
	if err := decodeOptional(r, &req); err != nil {
		return err
	}
	am, a, err := s.readAccount(r, p, actUpdate, true)
	if err != nil {
		return err
	}
	if !slices.Contains(a.Capabilities, auth.CapabilityAPIKey) {
		return invalid("", "account %s does not have the %s capability, which API tokens need", a.Name, auth.CapabilityAPIKey)
	}
	token, info, err := am.IssueToken(r.Context(), a.Name, time.Duration(req.ExpiresIn), req.ID)
	if err != nil {
		return accountError(err, "id")
	}
	noteOf(r.Context()).detail = " (token " + info.ID + ")"
	writeJSON(w, http.StatusCreated, presentToken(token, info))
	return nil
}

// deleteAccountToken revokes an API token of your own account, or with
// the update right of another.
func (s *Server) deleteAccountToken(w http.ResponseWriter, r *http.Request, p *Principal) error {
	am, a, err := s.readAccount(r, p, actUpdate, true)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	noteOf(r.Context()).detail = " (token " + id + ")"
	if err := am.RevokeToken(r.Context(), a.Name, id); err != nil {
		return accountError(err, "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// createProjectToken issues an API token for a role of a Project; it
// needs the update right on the Project.
func (s *Server) createProjectToken(w http.ResponseWriter, r *http.Request, p *Principal) error {
	var req apitypes.TokenRequest
	if err := decodeOptional(r, &req); err != nil {
		return err
	}
	am, proj, role, err := s.readProjectRole(r, p)
	if err != nil {
		return err
	}
	token, info, err := am.IssueProjectToken(r.Context(), proj, role, time.Duration(req.ExpiresIn), req.ID)
	if err != nil {
		return accountError(err, "id")
	}
	noteOf(r.Context()).detail = fmt.Sprintf(" (role %s, token %s)", role, info.ID)
	writeJSON(w, http.StatusCreated, presentToken(token, info))
	return nil
}

func (s *Server) deleteProjectToken(w http.ResponseWriter, r *http.Request, p *Principal) error {
	am, proj, role, err := s.readProjectRole(r, p)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	noteOf(r.Context()).detail = fmt.Sprintf(" (role %s, token %s)", role, id)
	if err := am.RevokeProjectToken(r.Context(), proj, role, id); err != nil {
		return accountError(err, "")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// readProjectRole checks p's right to update the Project of a role token
// request.
func (s *Server) readProjectRole(r *http.Request, p *Principal) (Accounts, string, string, error) {
	am, err := s.accounts()
	if err != nil {
		return nil, "", "", err
	}
	proj, err := s.readProject(r, p, actUpdate, r.PathValue("name"))
	if err != nil {
		return nil, "", "", err
	}
	return am, proj.Name, r.PathValue("role"), nil
}
