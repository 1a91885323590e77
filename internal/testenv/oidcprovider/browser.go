package oidcprovider

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"time"
)

// Browsed is what Browse saw.
type Browsed struct {
	// Forged is the status of the CLI's answer to a callback with a
	// forged state.
	Forged int
	// Status and Body are the last page of the login.
	Status int
	Body   string
}

// Browse plays a person's browser for `soll login --sso` at loginURL (the
// URL the CLI opens, whose return_url is the CLI's loopback callback):
// first it sends that callback a forged state and token, which the CLI
// must refuse, then it follows the login with a cookie jar through soll,
// the provider's approval and soll's callback back to the CLI.
func Browse(loginURL string) (Browsed, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return Browsed{}, err
	}
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	u, err := url.Parse(loginURL)
	if err != nil {
		return Browsed{}, err
	}
	ret, err := url.Parse(u.Query().Get("return_url"))
	if err != nil {
		return Browsed{}, fmt.Errorf("return_url of %s: %w", loginURL, err)
	}
	q := ret.Query()
	q.Set("state", "forged")
	q.Set("token", "a-token-from-elsewhere")
	ret.RawQuery = q.Encode()
	resp, err := c.Get(ret.String())
	if err != nil {
		return Browsed{}, err
	}
	resp.Body.Close()
	b := Browsed{Forged: resp.StatusCode}

	if resp, err = c.Get(loginURL); err != nil {
		return b, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	b.Status, b.Body = resp.StatusCode, string(body)
	return b, err
}
