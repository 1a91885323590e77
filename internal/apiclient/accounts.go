package apiclient

import (
	"context"
	"net/http"

	"soll.dev/internal/apitypes"
)

const accountsPath = "/api/v1/accounts"

func accountPath(name string, sub ...string) string { return pathOf(accountsPath, name, sub...) }

// ListAccounts lists the local accounts the caller may get (their own
// always).
func (c *Client) ListAccounts(ctx context.Context) ([]apitypes.Account, error) {
	return listItems[apitypes.Account](ctx, c, accountsPath)
}

// GetAccount reads a local account: never its password nor its tokens,
// only their ids and times.
func (c *Client) GetAccount(ctx context.Context, name string) (*apitypes.Account, error) {
	return getAs[apitypes.Account](ctx, c, accountPath(name))
}

// CreateAccount creates a local account.
func (c *Client) CreateAccount(ctx context.Context, req apitypes.AccountRequest) (*apitypes.Account, error) {
	return call[apitypes.Account](ctx, c, request{method: http.MethodPost, path: accountsPath, body: req})
}

// PatchAccount enables or disables an account or replaces its
// capabilities; nil fields of patch are left as they are.
func (c *Client) PatchAccount(ctx context.Context, name string, patch apitypes.AccountPatch) (*apitypes.Account, error) {
	return call[apitypes.Account](ctx, c, request{method: http.MethodPatch, path: accountPath(name), body: patch})
}

// DeleteAccount deletes a local account and its tokens.
func (c *Client) DeleteAccount(ctx context.Context, name string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: accountPath(name)}, nil)
}

// SetPassword changes an account's password: your own with
// change.CurrentPassword, another's with the update right. A wrong current
// password is a 400 *Error on field currentPassword; too many of them a
// 429 *Error whose RetryAfter says when to try again.
func (c *Client) SetPassword(ctx context.Context, name string, change apitypes.PasswordChange) error {
	return c.do(ctx, request{method: http.MethodPut, path: accountPath(name, "password"), body: change}, nil)
}

// CreateAccountToken issues an API token for an account with the apiKey
// capability; the answer is the only place the token appears.
func (c *Client) CreateAccountToken(ctx context.Context, name string, req apitypes.TokenRequest) (*apitypes.Token, error) {
	return call[apitypes.Token](ctx, c, request{method: http.MethodPost, path: accountPath(name, "tokens"), body: req})
}

// DeleteAccountToken revokes an account's API token.
func (c *Client) DeleteAccountToken(ctx context.Context, name, id string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: accountPath(name, "tokens", id)}, nil)
}
