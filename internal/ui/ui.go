package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"

	"soll.dev/internal/metrics"
	"soll.dev/internal/server"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// FormTokens makes and checks the CSRF tokens of the forms (see
// auth.Manager.FormToken).
type FormTokens interface {
	FormToken(purpose, binding string) string
	CheckFormToken(purpose, binding, token string) bool
}

// Options configure the UI. API, Authenticate, RBAC and Forms are
// required.
type Options struct {
	// API serves the API and the session endpoints (POST and DELETE
	// /api/v1/session); the UI calls it in the process for every read and
	// change, with the user's session token.
	API http.Handler
	// Authenticate checks a session token, the value of the soll.token
	// cookie, and returns who it belongs to.
	Authenticate func(ctx context.Context, token string) (*server.Principal, error)
	// RBAC decides which actions the pages offer; the API decides again
	// when they are used.
	RBAC server.Authorizer
	// Forms makes and checks the forms' CSRF tokens.
	Forms FormTokens
	// SSO shows the single sign-on button on the login page (the OIDC
	// login is served at /auth/login).
	SSO bool
	// InsecureCookies drops the Secure flag of the UI's own cookie (the
	// login form's nonce), as it is dropped from the session cookie.
	InsecureCookies bool
	// Log receives errors of rendering; nil means slog.Default().
	Log *slog.Logger
}

// UI serves the web pages; Register mounts it on a mux.
type UI struct {
	opts  Options
	log   *slog.Logger
	pages map[string]*template.Template
	// assets are the static files by their served name, which carries a
	// hash of the content (soll.3f2a9c1e.css) so that browsers may cache
	// them for good; assetName maps a file's name to its served name.
	assets    map[string]asset
	assetName map[string]string
	// fragments are the parts of pages served alone (the resource tree).
	fragments *template.Template
}

type asset struct {
	body []byte
	typ  string
}

// Page names: each is templates/<name>.html with templates/layout.html.
const (
	pageLogin = "login"
	pageApps  = "apps"
	pageApp   = "app"
	pageError = "error"
	pageBulk  = "bulk"
	pageSync  = "sync"

	pageNewApp = "newapp"
	// pageResource is the resource panel (resource.go).
	pageResource = "resource"
)

// New parses the templates and hashes the static files.
func New(opts Options) (*UI, error) {
	if opts.API == nil || opts.Authenticate == nil || opts.RBAC == nil || opts.Forms == nil {
		return nil, errors.New("ui options: API, Authenticate, RBAC and Forms are required")
	}
	u := &UI{opts: opts, log: opts.Log, pages: map[string]*template.Template{}, assets: map[string]asset{}, assetName: map[string]string{}}
	if u.log == nil {
		u.log = slog.Default()
	}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := path.Base(p)
		ext := path.Ext(name)
		served := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:4]) + ext
		u.assets[served] = asset{body: b, typ: mime.TypeByExtension(ext)}
		u.assetName[name] = served
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ui static files: %w", err)
	}
	funcs := template.FuncMap{
		"asset": func(name string) (string, error) {
			s, ok := u.assetName[name]
			if !ok {
				return "", fmt.Errorf("no static file %s", name)
			}
			return "/static/" + s, nil
		},
	}
	for k, v := range viewFuncs {
		funcs[k] = v
	}
	for _, name := range append([]string{pageLogin, pageApps, pageApp, pageError, pageBulk, pageSync, pageNewApp, pageResource}, settingsPageNames...) {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/status.html", "templates/parts.html", "templates/tree.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("ui template %s: %w", name, err)
		}
		u.pages[name] = t
	}
	if u.fragments, err = parseFragments(funcs); err != nil {
		return nil, fmt.Errorf("ui template fragments: %w", err)
	}
	return u, nil
}

// Register mounts the pages on mux: / (to the applications), /login,
// /logout, /applications, /applications/new (the new-application form),
// /applications/bulk, /applications/{name} with its actions, its resource
// tree alone (/tree) and the resource panel (/resource), /settings and its
// pages, /static/, and a page for any other path. The API keeps /api/ and
// /auth/.
func (u *UI) Register(mux *http.ServeMux) {
	// Each page is counted in the API's request metrics under its route
	// template ("/applications/{name}"), as the API's own routes are.
	handle := func(pattern string, h http.HandlerFunc) {
		_, route, _ := strings.Cut(pattern, " ")
		mux.Handle(pattern, metrics.Handler(strings.TrimSuffix(route, "{$}"), secure(h)))
	}
	handle("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/applications", http.StatusFound)
	})
	handle("GET /login", u.loginPage)
	handle("POST /login", u.login)
	handle("POST /logout", u.logout)
	handle("GET /applications", u.appsPage)
	handle("POST /applications/bulk", u.bulkApps)
	handle("GET /applications/{name}", u.appPage)
	handle("GET /applications/{name}/sync", u.syncDialog)
	handle("GET /applications/new", u.newAppPage)
	handle("POST /applications/new", u.createApp)
	handle("GET /settings", u.settingsPage)
	handle("GET /settings/repositories", u.repositoriesPage)
	handle("POST /settings/repositories", u.addRepository)
	handle("POST /settings/repositories/{name}/remove", u.removeRepository)
	handle("GET /settings/accounts", u.accountsPage)
	handle("POST /settings/accounts/password", u.changePassword)
	handle("POST /settings/accounts/{name}/tokens", u.createToken)
	handle("POST /settings/accounts/{name}/tokens/{id}/revoke", u.revokeToken)
	handle("GET /settings/audit", u.auditPage)
	handle("GET /settings/user", u.userPage)
	handle("GET /settings/projects", u.projectsPage)
	handle("GET /settings/projects/{name}", u.projectPage)
	handle("POST /settings/projects/{name}/edit", u.editProject)
	handle("POST /applications/{name}/sync", u.syncApp)
	handle("POST /applications/{name}/terminate", u.terminateApp)
	handle("POST /applications/{name}/refresh", u.refreshApp)
	handle("POST /applications/{name}/rollback", u.rollbackApp)
	handle("POST /applications/{name}/unpin", u.unpinApp)
	handle("POST /applications/{name}/policy", u.policyApp)
	handle("POST /applications/{name}/delete", u.deleteApp)
	handle("GET /applications/{name}/tree", u.treeFragment)
	handle("GET /applications/{name}/resource", u.resourcePage)
	handle("GET /static/{file}", u.static)
	// Any other path outside the API: a page saying so, not the API's
	// JSON error.
	mux.Handle("/", metrics.Handler("/", secure(http.HandlerFunc(u.notFound))))
}

// notFound answers a path the UI does not serve: 404 with a page (with
// the user's header when a session is open).
func (u *UI) notFound(w http.ResponseWriter, r *http.Request) {
	s, _ := u.session(r)
	u.renderError(w, r, s, http.StatusNotFound, "Page not found", "There is no page at "+r.URL.Path+". The applications are at /applications.")
}

// contentSecurityPolicy allows the page's own script, style, images and
// event stream and nothing else: no inline script or style, no eval, no
// framing, no form posted elsewhere.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secure sets the security headers of every response of the UI.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

func (u *UI) static(w http.ResponseWriter, r *http.Request) {
	a, ok := u.assets[r.PathValue("file")]
	if !ok {
		u.renderError(w, r, nil, http.StatusNotFound, "Not found", "There is no such file; reload the page to get the current ones.")
		return
	}
	w.Header().Set("Content-Type", a.typ)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(a.body)
}

// crumb is one step of the breadcrumbs; the last has no link.
type crumb struct{ Label, Href string }

// layout is what every page's frame shows.
type layout struct {
	Title  string
	Crumbs []crumb
	// User is the logged-in user; empty on the login page.
	User string
	// LogoutToken is the CSRF token of the logout form (and of the
	// page's other forms).
	LogoutToken string
	// Stream is the event stream the page's script follows; empty for
	// none.
	Stream string
	// Notice is a message about the last action, already worded.
	Notice string
	Page   any
}

// render executes a page into a buffer first, so that a template error
// is an error page rather than half a page.
func (u *UI) render(w http.ResponseWriter, status int, page string, l layout) {
	var buf bytes.Buffer
	if err := u.pages[page].Execute(&buf, l); err != nil {
		u.log.Error("render page", "page", page, "error", err)
		status = http.StatusInternalServerError
		buf.Reset()
		l = layout{Title: "Error", User: l.User, LogoutToken: l.LogoutToken, Page: errorPage{Status: status, Title: "The page could not be shown", Message: "The server failed to render this page; its log has the details. Try again, or go back to the applications."}}
		if err := u.pages[pageError].Execute(&buf, l); err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type errorPage struct {
	Status         int
	Title, Message string
}

// renderError shows an error page; s is the session, nil when there is
// none.
func (u *UI) renderError(w http.ResponseWriter, r *http.Request, s *session, status int, title, msg string) {
	l := layout{Title: title, Page: errorPage{Status: status, Title: title, Message: msg}}
	if s != nil {
		l.User, l.LogoutToken = s.p.Subject, s.formToken
	}
	u.render(w, status, pageError, l)
}
