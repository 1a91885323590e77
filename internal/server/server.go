package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/metrics"
)

// Defaults of Options.
const (
	DefaultMaxBodyBytes      = 1 << 20
	DefaultRequestTimeout    = 30 * time.Second
	DefaultHeartbeatInterval = 15 * time.Second
	DefaultStreamRecheck     = time.Minute
)

// Options configure a Server.
type Options struct {
	// Client reads Applications and Projects from a cache and writes
	// through the API server (a manager's client).
	Client client.Client
	// APIReader reads from the API server directly; the server uses it
	// for the read of a read-modify-write, so that it acts on the latest
	// state rather than a cache that may lag.
	APIReader client.Reader
	// Informers is the cache behind Client; the event streams watch it.
	Informers cache.Informers
	// Namespace is soll's namespace, where Applications and Projects live.
	Namespace string
	// Auth finds the caller of each request; RBAC decides what they may do.
	Auth Authenticator
	RBAC Authorizer
	// Kube reads the resource tree and Events; nil makes those endpoints
	// answer 501.
	Kube kubernetes.Interface
	// ClusterKube returns a client of the registered cluster d names,
	// for the trees, Events and live objects of the apps deploying
	// there; nil serves those of the cluster soll runs in only.
	ClusterKube func(d sollv1.ApplicationDestination) (kubernetes.Interface, error)
	// Version is reported by /api/v1/version.
	Version string
	// Log receives the access log; nil means slog.Default().
	Log *slog.Logger
	// AuditLog receives one line per change, login and logout; nil means
	// Log with the attribute logger=audit.
	AuditLog *slog.Logger
	// AuditRetain is the number of audit entries kept in the ConfigMap
	// soll-audit; zero means DefaultAuditRetain.
	AuditRetain int
	// Recorder records the audit's Events on Applications and Projects;
	// nil records none.
	Recorder events.EventRecorder
	// Accounts manages local accounts and their tokens, and Project role
	// tokens; nil makes those endpoints answer 501.
	Accounts Accounts
	// Manifests renders an Application's desired objects; nil makes
	// GET .../manifests answer 501 and skips the kind check on writes.
	Manifests ManifestsFunc
	// Diffs compares an Application with the live objects; nil makes
	// GET .../diff list the differing resources without their diffs.
	Diffs DiffsFunc
	// Git resolves revisions for repository connection tests; nil means
	// a Git fetcher of the server's own with a temporary cache.
	Git Resolver
	// MaxBodyBytes bounds request bodies (413 beyond); zero means 1 MiB.
	MaxBodyBytes int64
	// RequestTimeout bounds every request but the event streams; zero
	// means 30 seconds.
	RequestTimeout time.Duration
	// HeartbeatInterval is the time between comments on an idle event
	// stream; zero means 15 seconds.
	HeartbeatInterval time.Duration
	// StreamRecheck is how often an event stream checks its caller's
	// credentials (expiry, logout, revocation, disabled account) and,
	// for a single app's stream, the right to get the app again; the
	// stream ends when they fail. Zero means one minute.
	StreamRecheck time.Duration
}

// Server is soll's HTTP API; it is an http.Handler.
type Server struct {
	opts     Options
	log      *slog.Logger
	auditLog *slog.Logger
	audits   *auditRing
	git      func() (Resolver, error)
	mux      *http.ServeMux
	routes   []route
	handler  http.Handler
	hub      *hub
	openapi  []byte
}

// New returns the API server for opts.
func New(opts Options) (*Server, error) {
	switch {
	case opts.Client == nil, opts.APIReader == nil, opts.Informers == nil:
		return nil, errors.New("server options: Client, APIReader and Informers are required")
	case opts.Namespace == "":
		return nil, errors.New("server options: Namespace is required")
	case opts.Auth == nil || opts.RBAC == nil:
		return nil, errors.New("server options: Auth and RBAC are required")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if opts.StreamRecheck <= 0 {
		opts.StreamRecheck = DefaultStreamRecheck
	}
	if opts.AuditRetain <= 0 {
		opts.AuditRetain = DefaultAuditRetain
	}
	s := &Server{opts: opts, log: opts.Log, auditLog: opts.AuditLog, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.auditLog == nil {
		s.auditLog = s.log.With("logger", "audit")
	}
	s.audits = &auditRing{c: opts.Client, reader: opts.APIReader, ns: opts.Namespace, retain: opts.AuditRetain, log: s.auditLog}
	s.git = gitResolver(opts.Git, s.log)
	s.hub = newHub(opts.Informers, opts.RBAC, s.log)
	s.routes = s.routeTable()
	doc, err := openAPI(s.routes, opts.Version)
	if err != nil {
		return nil, fmt.Errorf("build the OpenAPI description: %w", err)
	}
	s.openapi = doc
	for _, rt := range s.routes {
		if rt.handler != nil {
			s.mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
		}
	}
	s.mux.HandleFunc("/", s.noRoute)
	s.handler = s.recoverPanics(s.accessLog(s.mux))
	return s, nil
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// handlerFunc is the signature of the endpoints: p is nil on public
// routes only; a returned error becomes the JSON error response.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p *Principal) error

// wrap applies the per-route middleware: body limit, timeout,
// authentication and, on routes that change something, the audit log.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.audit != nil {
			rec := metrics.NewRecorder(w)
			w = rec
			r = r.WithContext(withAuditNote(r.Context(), &auditNote{object: r.PathValue("name")}))
			var p *Principal
			code, status := "", 0
			defer func() {
				if status == 0 { // the handler panicked
					status, code = http.StatusInternalServerError, "Internal"
				}
				s.audit(r, rt.audit, p, subjectOf(p), status, code)
			}()
			p, code = s.serve(rt, w, r)
			status = rec.Status
			return
		}
		s.serve(rt, w, r)
	})
}

// serve runs rt's handler and writes its error; it returns the caller,
// nil when unknown, and the error code it answered.
func (s *Server) serve(rt route, w http.ResponseWriter, r *http.Request) (*Principal, string) {
	if r.ContentLength > s.opts.MaxBodyBytes {
		e := newError(http.StatusRequestEntityTooLarge, "TooLarge", "the request body is larger than %d bytes", s.opts.MaxBodyBytes)
		writeError(w, e)
		return nil, e.Code
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	if !rt.stream {
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	var p *Principal
	if !rt.public {
		var err error
		p, err = s.opts.Auth.Authenticate(r)
		if err != nil {
			s.log.Info("authentication failed", "method", r.Method, "path", r.URL.Path, "error", err)
			writeError(w, newError(http.StatusUnauthorized, "Unauthorized", "invalid credentials: log in again or use a valid API token"))
			return nil, "Unauthorized"
		}
		if p == nil {
			writeError(w, newError(http.StatusUnauthorized, "Unauthorized", "authentication required: send an Authorization: Bearer <token> header"))
			return nil, "Unauthorized"
		}
		setSubject(r, p.Subject)
	}
	if err := rt.handler(w, r, p); err != nil {
		e, internal := asError(err)
		if internal {
			s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		}
		writeError(w, e)
		return p, e.Code
	}
	return p, ""
}

func subjectOf(p *Principal) string {
	if p == nil {
		return "(unauthenticated)"
	}
	return p.Subject
}

// noRoute answers requests no route matches: 405 when the path exists
// with other methods, 404 otherwise.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		for _, m := range allow {
			w.Header().Add("Allow", m)
		}
		writeError(w, newError(http.StatusMethodNotAllowed, "MethodNotAllowed", "%s is not allowed on %s", r.Method, r.URL.Path))
		return
	}
	writeError(w, notFound("no API endpoint %s %s; the list is at /api/openapi.json", r.Method, r.URL.Path))
}

// forbid checks p's right to action on resource object.
func (s *Server) forbid(p *Principal, resource, action, object string) error {
	if s.opts.RBAC.Allowed(p, resource, action, object) {
		return nil
	}
	return newError(http.StatusForbidden, "Forbidden", "permission denied: %s may not %s %s %s", p.Subject, action, resource, object)
}
