// Package serve assembles soll's HTTP front: the API (internal/server)
// behind authentication (internal/auth) and RBAC (internal/rbac), the login
// and logout endpoints, SSO, Git webhooks (internal/webhook) and the web
// UI (internal/ui). `soll run`
// mounts it in the controller's process, sharing the controller's cache;
// `soll server` runs it alone.
package serve

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/yaml"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/appstate"
	"soll.dev/internal/auth"
	"soll.dev/internal/controller"
	"soll.dev/internal/metrics"
	"soll.dev/internal/rbac"
	"soll.dev/internal/server"
	"soll.dev/internal/ui"
	"soll.dev/internal/webhook"
)

// webhookKeyPrefix starts the keys of the webhook shared secrets in the
// Secret sollv1.SecretName, which also holds the token signing key.
const webhookKeyPrefix = "webhook."

// OIDCClientSecretEnv names the environment variable from which `soll run`
// and `soll server` take the SSO client secret (Options.OIDCClientSecret).
// It lets a Deployment take the secret from a Secret of its own choosing
// (valueFrom.secretKeyRef) instead of soll-secret, which soll manages.
const OIDCClientSecretEnv = "SOLL_OIDC_CLIENT_SECRET"

// oidcClientSecretKey is the key of the SSO client secret in the Secret
// sollv1.SecretName.
const oidcClientSecretKey = "oidc.clientSecret"

// Options configure the front.
type Options struct {
	// Addr is the listen address, for example ":8080".
	Addr string
	// Namespace is soll's namespace.
	Namespace string
	// Version is reported by /api/v1/version.
	Version string
	// InsecureCookies drops the Secure flag of cookies, for plain-HTTP
	// local use only.
	InsecureCookies bool
	// TrustedProxies are the reverse proxies (addresses or CIDR ranges)
	// whose X-Forwarded-For header names the client: the client address
	// of a request from one of them, for login throttling and the logs,
	// is the last address of the header that is not a trusted proxy. The
	// header of any other peer is ignored. None by default.
	TrustedProxies []netip.Prefix
	// OIDCClientSecret, when not empty, is the SSO client secret, and
	// the key oidc.clientSecret of the Secret sollv1.SecretName is not
	// read.
	OIDCClientSecret string
	// BodyTimeout bounds the time a client may take to send a request
	// body, from the end of its headers; a client still sending when it
	// passes is cut off. Zero means server.DefaultRequestTimeout.
	BodyTimeout time.Duration
	// Log is the logger; nil means slog.Default().
	Log *slog.Logger
	// Ready, when set, is called with the bound address once the listener
	// is up (tests use ":0").
	Ready func(addr string)
}

// Add mounts the front on mgr: an HTTP listener started and stopped with
// it.
func Add(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	kc, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return err
	}
	return mgr.Add(everyReplica(func(ctx context.Context) error {
		h, err := newHandler(ctx, mgr, kc, opts)
		if err != nil {
			return err
		}
		return listen(ctx, h, opts)
	}))
}

// everyReplica is a runnable that runs whether or not its replica leads:
// the API server answers on every replica, beside the controller that
// runs on the leader alone.
type everyReplica manager.RunnableFunc

func (f everyReplica) Start(ctx context.Context) error { return f(ctx) }

// NeedLeaderElection implements manager.LeaderElectionRunnable.
func (everyReplica) NeedLeaderElection() bool { return false }

func newHandler(ctx context.Context, mgr ctrl.Manager, kc kubernetes.Interface, opts Options) (http.Handler, error) {
	mux, err := newMux(ctx, mgr, kc, opts)
	if err != nil {
		return nil, err
	}
	return withBodyDeadline(withClientAddress(mux, opts.TrustedProxies), cmp.Or(opts.BodyTimeout, server.DefaultRequestTimeout)), nil
}

func newMux(ctx context.Context, mgr ctrl.Manager, kc kubernetes.Interface, opts Options) (*http.ServeMux, error) {
	c := mgr.GetClient()
	am, err := auth.New(ctx, auth.Options{Client: c, APIReader: mgr.GetAPIReader(), Namespace: opts.Namespace, InsecureCookies: opts.InsecureCookies, Logger: opts.Log})
	if err != nil {
		return nil, fmt.Errorf("authentication: %w", err)
	}
	store := rbac.NewStore(c, opts.Namespace)
	if err := store.Load(ctx); err != nil {
		opts.Log.Error("RBAC policy", "error", err.Error())
	}
	changes, err := rbacChanges(ctx, mgr, opts.Namespace)
	if err != nil {
		return nil, err
	}
	go store.Run(ctx, 5*time.Second, changes, func(err error) { opts.Log.Error("RBAC policy", "error", err.Error()) })

	apiOpts := server.Options{
		Client: c, APIReader: mgr.GetAPIReader(), Informers: mgr.GetCache(),
		Namespace: opts.Namespace, Auth: authenticator{am}, RBAC: authorizer{store},
		Kube: kc, Version: opts.Version, Log: opts.Log, AuditLog: opts.Log.With("logger", "audit"),
		Recorder: mgr.GetEventRecorder("soll-server"), Accounts: am,
	}
	// The controller's manager renders with the controller's own caches
	// (soll run), or with a pipeline of its own (soll server).
	if m, ok := mgr.(manifestRenderer); ok {
		apiOpts.Manifests = m.RenderManifests
		apiOpts.Diffs = m.DiffManifests
		apiOpts.ClusterKube = m.ClusterKube
	}
	api, err := server.New(apiOpts)
	if err != nil {
		return nil, err
	}
	wh, err := webhookHandler(ctx, c, opts)
	if err != nil {
		return nil, err
	}
	// The API answers under /api and /auth; the web UI serves the rest
	// (its pages, and an HTML page for paths it does not know).
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("/auth/", api)
	sessions := &sessionHandler{m: am, api: api, log: opts.Log}
	mux.Handle("POST /api/v1/session", metrics.Handler("/api/v1/session", sessions))
	mux.Handle("DELETE /api/v1/session", metrics.Handler("/api/v1/session", sessions))
	mux.Handle(webhook.Path, metrics.Handler(webhook.Path, wh))
	cfg, err := oidcConfig(ctx, c, opts.Namespace, opts.OIDCClientSecret)
	if err != nil {
		return nil, err
	}
	if cfg != nil {
		o, err := am.NewOIDC(*cfg)
		if err != nil {
			return nil, fmt.Errorf("SSO: %w", err)
		}
		o.OnLogin = func(r *http.Request, subject string, err error) {
			if err != nil {
				api.AuditSession(r, true, "", "", http.StatusUnauthorized, "Unauthorized")
				return
			}
			api.AuditSession(r, true, ssoSubject(subject), "", http.StatusFound, "")
		}
		mux.Handle("/auth/login", metrics.Handler("/auth/login", o.LoginHandler()))
		mux.Handle("/auth/callback", metrics.Handler("/auth/callback", o.CallbackHandler()))
	}
	// The web UI calls the API through mux, the session endpoints
	// included, with the user's session.
	pages, err := ui.New(ui.Options{
		API: mux, RBAC: apiOpts.RBAC, Forms: am, SSO: cfg != nil, InsecureCookies: opts.InsecureCookies, Log: opts.Log,
		Authenticate: func(ctx context.Context, token string) (*server.Principal, error) {
			p, err := am.Authenticate(ctx, token)
			if err != nil {
				return nil, err
			}
			return apiPrincipal(p), nil
		},
	})
	if err != nil {
		return nil, err
	}
	pages.Register(mux)
	return mux, nil
}

// rbacChanges returns a channel that receives when the ConfigMap
// rbac.ConfigMapName or a Project in soll's namespace ns changes, as the
// manager's cache (which the RBAC Store reads through) sees it: the Store
// then applies the change at once. Changes that come faster than the Store
// loads them are merged into one.
func rbacChanges(ctx context.Context, mgr ctrl.Manager, ns string) (<-chan struct{}, error) {
	changes := make(chan struct{}, 1)
	notify := func(obj any) {
		if o, ok := obj.(client.Object); ok && o.GetNamespace() != ns {
			return
		}
		if cm, ok := obj.(*corev1.ConfigMap); ok && cm.Name != rbac.ConfigMapName {
			return
		}
		select {
		case changes <- struct{}{}:
		default:
		}
	}
	handler := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(_, obj any) { notify(obj) },
		// A deleted object may come as a tombstone: notify whatever it is.
		DeleteFunc: func(any) { notify(nil) },
	}
	for _, obj := range []client.Object{&corev1.ConfigMap{}, &sollv1.Project{}} {
		inf, err := mgr.GetCache().GetInformer(ctx, obj)
		if err != nil {
			return nil, fmt.Errorf("watch the RBAC policy: %w", err)
		}
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, fmt.Errorf("watch the RBAC policy: %w", err)
		}
	}
	return changes, nil
}

func listen(ctx context.Context, h http.Handler, opts Options) error {
	l, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.Addr, err)
	}
	// No ReadTimeout: it would end the event streams. Bodies have a
	// deadline of their own (withBodyDeadline).
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	if opts.Ready != nil {
		opts.Ready(l.Addr().String())
	}
	opts.Log.Info("serving the API", "addr", l.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	}
}

// authenticator adapts auth.Manager to the API's Authenticator.
type authenticator struct{ m *auth.Manager }

func (a authenticator) Authenticate(r *http.Request) (*server.Principal, error) {
	p, err := a.principal(r)
	if err != nil || p == nil {
		return nil, err
	}
	return apiPrincipal(p), nil
}

// manifestRenderer is the manager of controller.NewManager: it renders
// and compares Applications for the API, and reads the registered
// clusters.
type manifestRenderer interface {
	RenderManifests(ctx context.Context, app *sollv1.Application, revisions []string) (*appstate.Manifests, error)
	DiffManifests(ctx context.Context, app *sollv1.Application, revisions []string) (*appstate.Diffs, error)
	ClusterKube(d sollv1.ApplicationDestination) (kubernetes.Interface, error)
}

var _ manifestRenderer = (*controller.Manager)(nil)

// ssoSubject is the API's name of an SSO user: an SSO identity must not
// pass for a local account or a role, since the provider, not soll, chose
// the name.
func ssoSubject(sub string) string {
	if strings.Contains(sub, "@") {
		return sub
	}
	return "sso:" + sub
}

// apiPrincipal is p as the API sees it.
func apiPrincipal(p *auth.Principal) *server.Principal {
	out := &server.Principal{Subject: p.Subject, Groups: p.Groups, Project: p.Project, Role: p.Role, TokenID: p.TokenID, Subjects: p.Subjects()}
	if p.Kind == auth.KindSSO {
		out.Subject = ssoSubject(out.Subject)
	}
	return out
}

func (a authenticator) principal(r *http.Request) (*auth.Principal, error) {
	token, fromCookie := auth.TokenFromRequest(r)
	if token == "" {
		return nil, nil
	}
	if err := auth.CheckCSRF(r, fromCookie); err != nil {
		return nil, err
	}
	return a.m.Authenticate(r.Context(), token)
}

// authorizer adapts the RBAC store to the API's Authorizer.
type authorizer struct{ s *rbac.Store }

func (a authorizer) Allowed(p *server.Principal, resource, action, object string) bool {
	if p == nil {
		return false
	}
	return a.s.Allowed(p.Subjects, resource, action, object)
}

// sessionHandler logs in (POST /api/v1/session with a JSON body
// {"username", "password"}; the token comes back in the body and as the
// session cookie) and out (DELETE, revoking the presented token). Both
// go to the API's audit log, failures too.
//
// A login must say Content-Type: application/json: a cross-site form can
// post text/plain without a preflight, which would log a victim's browser
// in as the attacker (login CSRF); a JSON content type needs a preflight,
// which soll does not grant.
type sessionHandler struct {
	m   *auth.Manager
	api *server.Server
	log *slog.Logger
}

func (s *sessionHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodDelete {
		s.logout(w, r)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", `a login must be sent with "Content-Type: application/json"`)
		return
	}
	var body apitypes.LoginRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxLoginBody))
	if err := dec.Decode(&body); err != nil || body.Username == "" {
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "TooLarge", fmt.Sprintf("a login body must be at most %d bytes", maxLoginBody))
			return
		}
		writeError(w, http.StatusBadRequest, "Invalid", `send {"username": ..., "password": ...}`)
		return
	}
	if len(body.Username) > auth.MaxUsernameLength {
		writeError(w, http.StatusBadRequest, "Invalid", fmt.Sprintf("username: at most %d bytes", auth.MaxUsernameLength))
		return
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	token, err := s.m.Login(r.Context(), body.Username, body.Password, host)
	var throttled *auth.ThrottledError
	switch {
	case errors.Is(err, auth.ErrInvalidArgument):
		writeError(w, http.StatusBadRequest, "Invalid", err.Error())
		return
	case errors.As(err, &throttled):
		s.api.AuditSession(r, true, body.Username, "", http.StatusTooManyRequests, "Throttled")
		w.Header().Set("Retry-After", fmt.Sprint(int(throttled.RetryAfter.Seconds())+1))
		writeError(w, http.StatusTooManyRequests, "Throttled", err.Error())
		return
	case errors.Is(err, auth.ErrInvalidCredentials):
		s.api.AuditSession(r, true, body.Username, "", http.StatusUnauthorized, "Unauthorized")
		writeError(w, http.StatusUnauthorized, "Unauthorized", err.Error())
		return
	case err != nil:
		s.api.AuditSession(r, true, body.Username, "", http.StatusInternalServerError, "Internal")
		writeError(w, http.StatusInternalServerError, "Internal", "login failed")
		return
	}
	p, err := s.m.Authenticate(r.Context(), token)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "Internal", "login failed")
		return
	}
	s.api.AuditSession(r, true, p.Subject, p.TokenID, http.StatusOK, "")
	s.m.SetSessionCookie(w, token, p.ExpiresAt)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(apitypes.LoginResponse{Token: token, Subject: p.Subject, ExpiresAt: p.ExpiresAt})
}

func (s *sessionHandler) logout(w http.ResponseWriter, r *http.Request) {
	p, err := authenticator{s.m}.principal(r)
	if err != nil || p == nil {
		s.api.AuditSession(r, false, "", "", http.StatusUnauthorized, "Unauthorized")
		writeError(w, http.StatusUnauthorized, "Unauthorized", "log in first: no valid session")
		return
	}
	user := apiPrincipal(p).Subject
	if err := s.m.Logout(r.Context(), p); err != nil {
		// The session could not be revoked and still works: say so,
		// rather than let the client believe it is logged out.
		s.api.AuditSession(r, false, user, p.TokenID, http.StatusServiceUnavailable, "Unavailable")
		msg := "logout failed: the session could not be revoked and is still valid; try again later"
		if errors.Is(err, auth.ErrRevocationFull) {
			msg = "logout failed: the revocation list is full, so the session is still valid until it expires; an administrator can see the server log"
		}
		s.log.Error("logout failed", "subject", user, "error", err.Error())
		w.Header().Set("Retry-After", "10")
		writeError(w, http.StatusServiceUnavailable, "Unavailable", msg)
		return
	}
	s.api.AuditSession(r, false, user, p.TokenID, http.StatusNoContent, "")
	s.m.ClearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

// maxLoginBody bounds a login's body: a name of MaxUsernameLength bytes
// and a password, JSON-escaped, fit with room to spare.
const maxLoginBody = 8 << 10

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apitypes.Error{Code: code, Message: msg})
}

// webhookHandler serves Git webhooks with the shared secrets of
// soll-secret ("webhook.github.secret", "webhook.gitlab.secret",
// "webhook.bitbucket.secret", "webhook.bitbucketserver.secret",
// "webhook.gitea.secret" (Gitea and Forgejo), "webhook.generic.secret",
// "webhook.bitbucket.token" for the ?token= form, and
// "webhook.allowUnsigned": "true" to accept providers without a secret).
// The Secret is read for every request from the manager's cache, so a
// rotated secret takes effect without a restart.
func webhookHandler(ctx context.Context, c client.Client, opts Options) (http.Handler, error) {
	// Read once now: a cluster that refuses it fails at start, not at
	// the first push.
	if _, err := webhookConfig(ctx, c, opts.Namespace); err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg, err := webhookConfig(r.Context(), c, opts.Namespace)
		if err != nil {
			opts.Log.Error("webhook", "error", err.Error())
			writeError(w, http.StatusServiceUnavailable, "Unavailable", "the webhook secrets cannot be read; try again later")
			return
		}
		// The refresh requests make the controller list the repository's
		// refs anew, once per push for all its apps (see the controller's
		// refreshCoalescer).
		h := &webhook.Handler{Config: cfg, Log: opts.Log, OnPush: func(ctx context.Context, p webhook.Push) (int, error) {
			return webhook.RefreshApps(ctx, c, opts.Namespace, p)
		}}
		h.ServeHTTP(w, r)
	}), nil
}

// webhookConfig reads the webhook secrets; without the Secret, every
// provider is off (unless allowed unsigned, which needs the Secret too).
func webhookConfig(ctx context.Context, c client.Client, ns string) (webhook.Config, error) {
	var s corev1.Secret
	err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: sollv1.SecretName}, &s)
	if err != nil && !apierrors.IsNotFound(err) {
		return webhook.Config{}, fmt.Errorf("read Secret %s/%s: %w", ns, sollv1.SecretName, err)
	}
	get := func(k string) string { return strings.TrimSpace(string(s.Data[webhookKeyPrefix+k])) }
	return webhook.Config{
		GitHubSecret:          get("github.secret"),
		GitLabSecret:          get("gitlab.secret"),
		BitbucketCloudSecret:  get("bitbucket.secret"),
		BitbucketServerSecret: get("bitbucketserver.secret"),
		GiteaSecret:           get("gitea.secret"),
		GenericSecret:         get("generic.secret"),
		BitbucketCloudToken:   get("bitbucket.token"),
		AllowUnsigned:         get("allowUnsigned") == "true",
	}, nil
}

// oidcConfig reads the SSO settings; nil when SSO is not configured. The
// client secret is clientSecret when it is not empty, else the key
// oidcClientSecretKey of the Secret sollv1.SecretName.
func oidcConfig(ctx context.Context, c client.Client, ns, clientSecret string) (*auth.OIDCConfig, error) {
	var cm corev1.ConfigMap
	err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: sollv1.SettingsConfigMap}, &cm)
	if apierrors.IsNotFound(err) || (err == nil && cm.Data[sollv1.OIDCConfigKey] == "") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ConfigMap %s/%s: %w", ns, sollv1.SettingsConfigMap, err)
	}
	var cfg auth.OIDCConfig
	if err := yaml.UnmarshalStrict([]byte(cm.Data[sollv1.OIDCConfigKey]), &cfg); err != nil {
		return nil, fmt.Errorf("ConfigMap %s/%s key %s: %w", ns, sollv1.SettingsConfigMap, sollv1.OIDCConfigKey, err)
	}
	if clientSecret != "" {
		cfg.ClientSecret = clientSecret
		return &cfg, nil
	}
	var s corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: sollv1.SecretName}, &s); err == nil {
		cfg.ClientSecret = string(s.Data[oidcClientSecretKey])
	}
	return &cfg, nil
}
