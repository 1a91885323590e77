package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"
)

// SessionCookie is the cookie carrying a session token for browsers.
const SessionCookie = "soll.token"

// CSRFHeader must be set to "1" on state-changing requests authenticated
// by the session cookie. A cross-site page cannot add a custom header to a
// request without a CORS preflight, which soll does not grant, so the
// header proves the request comes from soll's own UI or a non-browser
// client.
const CSRFHeader = "X-Soll-CSRF"

// TokenFromRequest returns the token of an "Authorization: Bearer" header
// or, failing that, of the session cookie, and whether it came from the
// cookie (and so needs CheckCSRF).
func TokenFromRequest(r *http.Request) (token string, fromCookie bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok), false
		}
		// Present but not a bearer token: leave it to Authenticate to
		// refuse, rather than falling back to the cookie.
		return h, false
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		return c.Value, true
	}
	return "", false
}

// CheckCSRF refuses a cookie-authenticated request with an unsafe method
// (anything but GET, HEAD, OPTIONS) that lacks "X-Soll-CSRF: 1".
func CheckCSRF(r *http.Request, fromCookie bool) error {
	if !fromCookie {
		return nil
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if r.Header.Get(CSRFHeader) != "1" {
		return ErrCSRF
	}
	return nil
}

// SetSessionCookie stores a session token in the soll.token cookie:
// HttpOnly, SameSite=Lax and Secure unless Options.InsecureCookies.
func (m *Manager) SetSessionCookie(w http.ResponseWriter, token string, exp time.Time) {
	http.SetCookie(w, m.cookie(SessionCookie, token, exp))
}

// ClearSessionCookie removes the session cookie.
func (m *Manager) ClearSessionCookie(w http.ResponseWriter) {
	c := m.cookie(SessionCookie, "", time.Time{})
	c.MaxAge = -1
	http.SetCookie(w, c)
}

func (m *Manager) cookie(name, value string, exp time.Time) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		Expires:  exp,
		HttpOnly: true,
		Secure:   !m.insecure,
		SameSite: http.SameSiteLaxMode,
	}
}

// FormToken is the CSRF token of the web UI's forms for binding, a value
// the form is tied to (the session token, or the nonce of a login form):
// an HMAC of it under the server's signing key, so that every replica
// computes the same token and a page of another site, which can neither
// read the binding (an HttpOnly cookie) nor the key, cannot forge it. The
// purpose separates the tokens of different uses of one binding.
func (m *Manager) FormToken(purpose, binding string) string {
	mac := hmac.New(sha256.New, m.key)
	mac.Write([]byte("soll form token\x00" + purpose + "\x00" + binding))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// CheckFormToken says whether token is FormToken(purpose, binding), in
// constant time; an empty binding never matches.
func (m *Manager) CheckFormToken(purpose, binding, token string) bool {
	if binding == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(m.FormToken(purpose, binding)), []byte(token))
}
