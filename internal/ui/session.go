package ui

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"soll.dev/internal/apitypes"
	"soll.dev/internal/auth"
	"soll.dev/internal/server"
)

// Purposes of the form tokens: a form of a logged-in page is tied to the
// session, the login form to a nonce cookie (there is no session yet,
// and a login posted from another site would log the victim in as the
// attacker).
const (
	purposeSession = "ui-session"
	purposeLogin   = "ui-login"
)

// loginCookie holds the login form's nonce.
const loginCookie = "soll.login"

// maxFormBytes bounds the body of a form.
const maxFormBytes = 16 << 10

// session is the logged-in user of a request.
type session struct {
	p     *server.Principal
	token string
	// formToken is the CSRF token of the forms of this session.
	formToken string
}

// errNoSession is the error of a request without a session cookie.
var errNoSession = errors.New("no session")

func (u *UI) session(r *http.Request) (*session, error) {
	c, err := r.Cookie(auth.SessionCookie)
	if err != nil || c.Value == "" {
		return nil, errNoSession
	}
	p, err := u.opts.Authenticate(r.Context(), c.Value)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errNoSession
	}
	return &session{p: p, token: c.Value, formToken: u.opts.Forms.FormToken(purposeSession, c.Value)}, nil
}

// requireSession returns the request's session, or sends the browser to
// the login page (which brings it back here) and returns nil.
func (u *UI) requireSession(w http.ResponseWriter, r *http.Request) *session {
	s, err := u.session(r)
	if err == nil {
		return s
	}
	q := url.Values{"return": {r.URL.RequestURI()}}
	if !errors.Is(err, errNoSession) {
		q.Set("notice", noticeExpired)
	}
	http.Redirect(w, r, "/login?"+q.Encode(), http.StatusSeeOther)
	return nil
}

// checkForm parses a posted form of a logged-in page and checks its
// token; on failure it answers and returns nil.
func (u *UI) checkForm(w http.ResponseWriter, r *http.Request) *session {
	return u.checkFormOf(w, r, maxFormBytes)
}

// checkFormOf is checkForm for a form of up to limit bytes.
func (u *UI) checkFormOf(w http.ResponseWriter, r *http.Request, limit int64) *session {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		u.fail(w, r, nil, http.StatusBadRequest, "Bad request", "The form could not be read: "+err.Error())
		return nil
	}
	s, err := u.session(r)
	if err != nil {
		u.fail(w, r, nil, http.StatusUnauthorized, "Not logged in", "Your session has ended: log in again, then repeat the action.")
		return nil
	}
	if !u.opts.Forms.CheckFormToken(purposeSession, s.token, r.PostForm.Get("csrf")) {
		u.fail(w, r, s, http.StatusForbidden, "Form refused", "The form did not carry this session's security token (it may come from another site, or from before a new login). Reload the page and try again.")
		return nil
	}
	return s
}

// wantsJSON says whether the page's script sent the form: it asks for
// JSON and gets the outcome as JSON instead of a page.
func wantsJSON(r *http.Request) bool { return r.Header.Get("Accept") == "application/json" }

// fail answers a failed form: JSON for the script, an error page
// otherwise.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, s *session, status int, title, msg string) {
	if wantsJSON(r) {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	u.renderError(w, r, s, status, title, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Notices: the messages a redirect may ask a page to show, by key, so that
// a link cannot make a page say what it likes.
const (
	noticeExpired   = "expired"
	noticeLoggedOut = "logged-out"
	noticeSync      = "sync"
	noticeDryRun    = "dry-run"
	noticeTerminate = "terminate"
	noticeRefresh   = "refresh"
	noticeRollback  = "rollback"
	noticeUnpin     = "unpin"
	noticePolicy    = "policy"
	noticeUnchanged = "unchanged"
	noticeDeleted   = "deleted"
	// noticeDeletedOrphan: deleted, its objects left in place.
	noticeDeletedOrphan = "deleted-orphan"
)

var notices = map[string]string{
	noticeExpired:       "Your session has ended: log in again.",
	noticeLoggedOut:     "You are logged out.",
	noticeSync:          "Sync requested: the status below follows it.",
	noticeDryRun:        "Dry run requested: the operation below shows what a sync would do; nothing is changed.",
	noticeTerminate:     "Termination requested: the operation stops after the step it is in.",
	noticeRefresh:       "Refresh requested: the app is being compared with Git again.",
	noticeRollback:      "Rollback requested: the app will be pinned to that entry's revisions until you unpin it.",
	noticeUnpin:         "Unpinned: the app follows its target revision again.",
	noticePolicy:        "Sync policy saved.",
	noticeUnchanged:     "Nothing changed: the form had the values the application already has.",
	noticeDeleted:       "Application deleted; soll deletes its objects before it goes.",
	noticeDeletedOrphan: "Application deleted; its objects were left in the cluster.",
}

// localPath returns s when it is a path on this server, and /applications
// otherwise: the login only ever sends the browser back to soll (no open
// redirect), and never back to the login or logout.
func localPath(s string) string {
	const home = "/applications"
	if s == "" || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\r\n\t") {
		return home
	}
	v, err := url.Parse(s)
	if err != nil || v.Scheme != "" || v.Host != "" || v.User != nil {
		return home
	}
	if v.Path == "/login" || v.Path == "/logout" {
		return home
	}
	return s
}

type loginView struct {
	Return, FormToken, Username, Error string
	SSO                                bool
	SSOHref                            string
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	ret := localPath(r.URL.Query().Get("return"))
	if _, err := u.session(r); err == nil {
		http.Redirect(w, r, ret, http.StatusSeeOther)
		return
	}
	u.renderLogin(w, r, http.StatusOK, loginView{Return: ret}, notices[r.URL.Query().Get("notice")])
}

// renderLogin shows the login form with a fresh nonce unless the browser
// has one: two login tabs share it.
func (u *UI) renderLogin(w http.ResponseWriter, r *http.Request, status int, v loginView, notice string) {
	nonce := ""
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) >= 16 {
		nonce = c.Value
	} else {
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		nonce = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: nonce, Path: "/login", MaxAge: 3600,
			HttpOnly: true, Secure: !u.opts.InsecureCookies, SameSite: http.SameSiteStrictMode})
	}
	v.FormToken = u.opts.Forms.FormToken(purposeLogin, nonce)
	v.SSO = u.opts.SSO
	v.SSOHref = "/auth/login?" + url.Values{"return_url": {v.Return}}.Encode()
	u.render(w, status, pageLogin, layout{Title: "Log in", Notice: notice, Page: v})
}

// login checks the form's token and logs in through the API's session
// endpoint, which throttles failed logins and writes the audit log; its
// session cookie is passed on to the browser.
func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		u.renderError(w, r, nil, http.StatusBadRequest, "Bad request", "The login form could not be read: "+err.Error())
		return
	}
	v := loginView{Return: localPath(r.PostForm.Get("return")), Username: r.PostForm.Get("username")}
	c, err := r.Cookie(loginCookie)
	if err != nil || !u.opts.Forms.CheckFormToken(purposeLogin, c.Value, r.PostForm.Get("csrf")) {
		u.renderLogin(w, r, http.StatusForbidden, v, "The login form had expired or did not come from this site: enter your password again.")
		return
	}
	if v.Username == "" {
		v.Error = "Enter your username."
		u.renderLogin(w, r, http.StatusBadRequest, v, "")
		return
	}
	body, _ := json.Marshal(apitypes.LoginRequest{Username: v.Username, Password: r.PostForm.Get("password")})
	res := u.call(r, "", http.MethodPost, "/api/v1/session", body)
	switch res.status {
	case http.StatusOK:
		for _, c := range res.header.Values("Set-Cookie") {
			w.Header().Add("Set-Cookie", c)
		}
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: "/login", MaxAge: -1, HttpOnly: true, Secure: !u.opts.InsecureCookies, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, v.Return, http.StatusSeeOther)
		return
	case http.StatusUnauthorized:
		v.Error = "Wrong username or password."
	case http.StatusTooManyRequests:
		secs, _ := strconv.Atoi(res.header.Get("Retry-After"))
		v.Error = fmt.Sprintf("Too many failed logins: try again in %d seconds.", max(secs, 1))
		w.Header().Set("Retry-After", res.header.Get("Retry-After"))
	case http.StatusBadRequest:
		v.Error = res.apiError().Message
	default:
		v.Error = "The login failed on the server; try again later."
	}
	u.renderLogin(w, r, res.status, v, "")
}

// logout revokes the session through the API's session endpoint.
func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	s := u.checkForm(w, r)
	if s == nil {
		return
	}
	res := u.call(r, s.token, http.MethodDelete, "/api/v1/session", nil)
	if res.status != http.StatusNoContent {
		u.renderError(w, r, s, res.status, "Logout failed", res.apiError().Message)
		return
	}
	for _, c := range res.header.Values("Set-Cookie") {
		w.Header().Add("Set-Cookie", c)
	}
	http.Redirect(w, r, "/login?notice="+noticeLoggedOut, http.StatusSeeOther)
}

// apiResponse is the answer of an in-process API call.
type apiResponse struct {
	status int
	header http.Header
	body   bytes.Buffer
}

func (a *apiResponse) Header() http.Header { return a.header }

func (a *apiResponse) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a.body.Write(b)
}

func (a *apiResponse) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
	}
}

// decode reads a successful answer into v.
func (a *apiResponse) decode(v any) error {
	return json.Unmarshal(a.body.Bytes(), v)
}

// apiError is the API's error answer; one that is not JSON becomes a
// message with the status.
func (a *apiResponse) apiError() apitypes.Error {
	var e apitypes.Error
	if err := json.Unmarshal(a.body.Bytes(), &e); err != nil || e.Message == "" {
		e.Message = fmt.Sprintf("the API answered %d %s", a.status, http.StatusText(a.status))
	}
	return e
}

// call serves an API request in the process, as the user of token ("":
// anonymous), from the client address of r.
func (u *UI) call(r *http.Request, token, method, target string, body []byte) *apiResponse {
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(r.Context(), method, target, rd)
	res := &apiResponse{header: http.Header{}}
	if err != nil {
		res.status = http.StatusInternalServerError
		_ = json.NewEncoder(&res.body).Encode(apitypes.Error{Code: "Internal", Message: "the request could not be made: " + err.Error()})
		return res
	}
	req.RemoteAddr = r.RemoteAddr
	req.Header.Set("User-Agent", r.UserAgent())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	u.opts.API.ServeHTTP(res, req)
	if res.status == 0 {
		res.status = http.StatusOK
	}
	return res
}
