package apiclient

import (
	"context"
	"net/http"
	"net/url"

	"soll.dev/internal/apitypes"
)

// Paths outside the API's route table, served by soll's front.
const (
	sessionPath  = "/api/v1/session"
	ssoLoginPath = "/auth/login"
)

// Login exchanges a local account's username and password for a session
// token. A wrong password is a 401 *Error, a throttled account a 429
// *Error whose RetryAfter says when to try again.
func (c *Client) Login(ctx context.Context, username, password string) (*apitypes.LoginResponse, error) {
	body := apitypes.LoginRequest{Username: username, Password: password}
	return call[apitypes.LoginResponse](ctx, c, request{method: http.MethodPost, path: sessionPath, body: body})
}

// Logout revokes the client's token on the server.
func (c *Client) Logout(ctx context.Context) error {
	return c.do(ctx, request{method: http.MethodDelete, path: sessionPath}, nil)
}

// Session says who the server takes the client's token for.
func (c *Client) Session(ctx context.Context) (*apitypes.Session, error) {
	return getAs[apitypes.Session](ctx, c, sessionPath)
}

// SSOLoginURL is where a browser starts a single sign-on that ends at
// returnURL (the CLI's loopback callback), which receives the session
// token in its token query parameter.
func (c *Client) SSOLoginURL(returnURL string) string {
	return c.URL(ssoLoginPath, url.Values{"return_url": {returnURL}})
}

// WithToken returns a copy of the client that sends token.
func (c *Client) WithToken(token string) *Client {
	cc := *c
	cc.token = token
	return &cc
}

// Version returns the server's version; it needs no token.
func (c *Client) Version(ctx context.Context) (*apitypes.VersionInfo, error) {
	return getAs[apitypes.VersionInfo](ctx, c, "/api/v1/version")
}

// Settings returns the server's non-secret settings.
func (c *Client) Settings(ctx context.Context) (*apitypes.Settings, error) {
	return getAs[apitypes.Settings](ctx, c, "/api/v1/settings")
}

func listItems[T any](ctx context.Context, c *Client, path string) ([]T, error) {
	out, err := getAs[apitypes.List[T]](ctx, c, path)
	if err != nil {
		return nil, err
	}
	return out.Items, nil
}
