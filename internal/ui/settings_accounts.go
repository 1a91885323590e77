package ui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"soll.dev/internal/apitypes"
	"soll.dev/internal/rbac"
)

// accountsView is the accounts page: the accounts the user may see with
// their tokens, the token that was just created (shown this once), and
// the password form of the user's own account.
type accountsView struct {
	Current   string
	FormToken string
	Accounts  []accountRow
	// NewToken is the token just created; nil on any other answer.
	NewToken *newToken
	// Own says that the user is a local account, which has a password
	// to change.
	Own            bool
	PasswordFields map[string]*formField
	PasswordError  string
}

// newToken is a token as created: the only time it is in a page.
type newToken struct {
	Account, ID, Token, Expires string
}

// accountRow is an account with its token form and revoke buttons.
type accountRow struct {
	apitypes.Account
	Capabilities string
	Tokens       []tokenRow
	// TokenAction creates a token; TokenDenied says why the user may
	// not, NoAPIKey that the account cannot have tokens.
	TokenAction, TokenDenied string
	NoAPIKey                 bool
	// TokenID, TokenExpires and TokenError are the token form's values
	// and error, sent back when the API refused it.
	TokenID, TokenExpires, TokenError string
	// Key is the account's index, for the ids of its form's inputs.
	Key int
}

type tokenRow struct {
	ID, Issued, Expires, RevokeAction string
}

// passwordFields are the password form's inputs; the API names
// currentPassword and newPassword in its errors.
var passwordFields = []formField{
	{ID: "currentPassword", Label: "Current password", Help: "Your password now.", Secret: true, Autocomplete: "current-password", Required: true},
	{ID: "newPassword", Label: "New password", Help: "Your other sessions end when it changes; this one too: you log in again with the new one.", Secret: true, Autocomplete: "new-password", Required: true},
	{ID: "confirmPassword", Label: "New password again", Help: "To catch a typing error.", Secret: true, Autocomplete: "new-password", Required: true},
}

func (u *UI) accountsView(w http.ResponseWriter, r *http.Request, s *session) *accountsView {
	var list apitypes.List[apitypes.Account]
	if !u.getJSON(w, r, s, "/api/v1/accounts", "The accounts", &list) {
		return nil
	}
	v := &accountsView{Current: "/settings/accounts", FormToken: s.formToken, PasswordFields: map[string]*formField{}}
	for _, f := range passwordFields {
		v.PasswordFields[f.ID] = &f
	}
	for i, a := range list.Items {
		own := slices.Contains(s.p.Subjects, rbac.Account(a.Name))
		v.Own = v.Own || own
		base := "/settings/accounts/" + url.PathEscape(a.Name) + "/tokens"
		row := accountRow{Account: a, Capabilities: strings.Join(a.Capabilities, ", "), TokenAction: base, Key: i,
			NoAPIKey: !slices.Contains(a.Capabilities, "apiKey")}
		if !own && !u.opts.RBAC.Allowed(s.p, "accounts", "update", a.Name) {
			row.TokenDenied = "You (" + s.p.Subject + ") may not manage the tokens of " + a.Name + "."
		}
		for _, t := range a.Tokens {
			tr := tokenRow{ID: t.ID, Issued: t.IssuedAt.UTC().Format(timeLayout), Expires: "never", RevokeAction: base + "/" + url.PathEscape(t.ID) + "/revoke"}
			if !t.ExpiresAt.IsZero() {
				tr.Expires = t.ExpiresAt.UTC().Format(timeLayout)
			}
			row.Tokens = append(row.Tokens, tr)
		}
		v.Accounts = append(v.Accounts, row)
	}
	return v
}

// timeLayout is how the settings pages write times, as formatTime does.
const timeLayout = "2006-01-02 15:04:05Z"

func (u *UI) accountsPage(w http.ResponseWriter, r *http.Request) {
	s := u.requireSession(w, r)
	if s == nil {
		return
	}
	if v := u.accountsView(w, r, s); v != nil {
		u.renderSettings(w, s, http.StatusOK, pageAccounts, "Accounts and tokens", notices[r.URL.Query().Get("notice")], v)
	}
}

// createToken issues an API token for the account of the path and shows
// it in the answer: the only time it is shown. The answer is not a
// redirect, so the token is in no URL and no history entry (the page is
// Cache-Control: no-store).
func (u *UI) createToken(w http.ResponseWriter, r *http.Request) {
	s := u.checkForm(w, r)
	if s == nil {
		return
	}
	name := r.PathValue("name")
	id, expires := strings.TrimSpace(r.PostForm.Get("id")), strings.TrimSpace(r.PostForm.Get("expiresIn"))
	req := map[string]string{}
	if id != "" {
		req["id"] = id
	}
	if expires != "" {
		req["expiresIn"] = expires
	}
	body, _ := json.Marshal(req)
	res := u.call(r, s.token, http.MethodPost, "/api/v1/accounts/"+url.PathEscape(name)+"/tokens", body)
	var tok apitypes.Token
	if res.status == http.StatusCreated && res.decode(&tok) != nil {
		res.status = http.StatusInternalServerError
	}
	v := u.accountsView(w, r, s)
	if v == nil {
		return
	}
	if res.status == http.StatusCreated {
		v.NewToken = &newToken{Account: name, ID: tok.ID, Token: tok.Token, Expires: "never"}
		if tok.ExpiresAt != nil {
			v.NewToken.Expires = tok.ExpiresAt.UTC().Format(timeLayout)
		}
		u.renderSettings(w, s, http.StatusCreated, pageAccounts, "Accounts and tokens", "", v)
		return
	}
	i := slices.IndexFunc(v.Accounts, func(a accountRow) bool { return a.Name == name })
	if i < 0 {
		u.renderError(w, r, s, res.status, "The token was not created", res.apiError().Message)
		return
	}
	row := &v.Accounts[i]
	row.TokenID, row.TokenExpires, row.TokenError = id, expires, res.apiError().Message
	u.renderSettings(w, s, res.status, pageAccounts, "Accounts and tokens", "", v)
}

// revokeToken revokes an API token of the account of the path.
func (u *UI) revokeToken(w http.ResponseWriter, r *http.Request) {
	s := u.checkForm(w, r)
	if s == nil {
		return
	}
	target := "/api/v1/accounts/" + url.PathEscape(r.PathValue("name")) + "/tokens/" + url.PathEscape(r.PathValue("id"))
	res := u.call(r, s.token, http.MethodDelete, target, nil)
	if res.status != http.StatusNoContent {
		u.fail(w, r, s, res.status, "The token was not revoked", res.apiError().Message)
		return
	}
	http.Redirect(w, r, "/settings/accounts?notice="+noticeTokenRevoked, http.StatusSeeOther)
}

// changePassword changes the user's own password with the current one;
// the API then refuses the sessions issued before, this one included,
// so the browser goes to the login page.
func (u *UI) changePassword(w http.ResponseWriter, r *http.Request) {
	s := u.checkForm(w, r)
	if s == nil {
		return
	}
	v := u.accountsView(w, r, s)
	if v == nil {
		return
	}
	form := r.PostForm
	change := apitypes.PasswordChange{CurrentPassword: form.Get("currentPassword"), NewPassword: form.Get("newPassword")}
	status := http.StatusBadRequest
	switch {
	case !v.Own:
		v.PasswordError = "You (" + s.p.Subject + ") are not logged in with a local account: your password is kept by your single sign-on provider."
	case change.NewPassword != form.Get("confirmPassword"):
		v.PasswordFields["confirmPassword"].Error = "The two new passwords differ: type the same twice."
	default:
		body, _ := json.Marshal(change)
		res := u.call(r, s.token, http.MethodPut, "/api/v1/accounts/"+url.PathEscape(s.p.Subject)+"/password", body)
		if res.status == http.StatusNoContent {
			for _, c := range res.header.Values("Set-Cookie") {
				w.Header().Add("Set-Cookie", c)
			}
			http.Redirect(w, r, "/login?notice="+noticePasswordChanged, http.StatusSeeOther)
			return
		}
		e := res.apiError()
		if f, ok := v.PasswordFields[e.Field]; ok {
			f.Error = e.Message
		} else {
			v.PasswordError = e.Message
		}
		if res.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", res.header.Get("Retry-After"))
		}
		status = res.status
	}
	u.renderSettings(w, s, status, pageAccounts, "Accounts and tokens", "", v)
}

const (
	noticeTokenRevoked    = "token-revoked"
	noticePasswordChanged = "password-changed"
)

func init() {
	notices[noticeTokenRevoked] = "Token revoked: requests with it are refused from now on."
	notices[noticePasswordChanged] = "Password changed: log in with the new one."
}
