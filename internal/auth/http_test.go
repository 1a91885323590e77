package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestTokenFromRequest(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if tok, _ := TokenFromRequest(r); tok != "" {
		t.Errorf("no credentials: %q", tok)
	}
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: "c"})
	if tok, fromCookie := TokenFromRequest(r); tok != "c" || !fromCookie {
		t.Errorf("cookie: %q, %v", tok, fromCookie)
	}
	r.Header.Set("Authorization", "Bearer h")
	if tok, fromCookie := TokenFromRequest(r); tok != "h" || fromCookie {
		t.Errorf("header wins: %q, %v", tok, fromCookie)
	}
	r.Header.Set("Authorization", "Basic xyz")
	if tok, _ := TokenFromRequest(r); tok == "" || tok == "c" {
		t.Errorf("a non-bearer header must not fall back to the cookie: %q", tok)
	}
}

func TestCheckCSRF(t *testing.T) {
	for _, tc := range []struct {
		method     string
		fromCookie bool
		header     string
		ok         bool
	}{
		{http.MethodGet, true, "", true},
		{http.MethodPost, false, "", true},
		{http.MethodPost, true, "", false},
		{http.MethodDelete, true, "0", false},
		{http.MethodPost, true, "1", true},
	} {
		r := httptest.NewRequest(tc.method, "/", nil)
		if tc.header != "" {
			r.Header.Set(CSRFHeader, tc.header)
		}
		if err := CheckCSRF(r, tc.fromCookie); (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrCSRF)) {
			t.Errorf("%s cookie=%v header=%q: %v", tc.method, tc.fromCookie, tc.header, err)
		}
	}
}

func TestSessionCookie(t *testing.T) {
	m := newManager(t, newClient(t), newClock())
	w := httptest.NewRecorder()
	m.SetSessionCookie(w, "tok", time.Now().Add(time.Hour))
	c := w.Result().Cookies()[0]
	if c.Name != SessionCookie || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("cookie = %+v", c)
	}
}

func TestFormToken(t *testing.T) {
	m := &Manager{key: []byte("key one")}
	other := &Manager{key: []byte("key two")}
	tok := m.FormToken("session", "s1")
	if !m.CheckFormToken("session", "s1", tok) {
		t.Fatal("the token of a binding is refused")
	}
	for _, c := range []struct{ name, purpose, binding, token string }{
		{"other binding", "session", "s2", tok},
		{"other purpose", "login", "s1", tok},
		{"empty binding", "session", "", m.FormToken("session", "")},
		{"empty token", "session", "s1", ""},
		{"other key", "session", "s1", other.FormToken("session", "s1")},
	} {
		if m.CheckFormToken(c.purpose, c.binding, c.token) {
			t.Errorf("%s: accepted", c.name)
		}
	}
}
