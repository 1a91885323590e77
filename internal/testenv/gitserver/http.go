package gitserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"soll.dev/internal/devenv/githttp"
)

// HTTPOptions configures NewHTTP.
type HTTPOptions struct {
	// Username and Password enable HTTP basic auth when either is set.
	Username string
	Password string
	// TLS serves HTTPS with a certificate from a fresh in-process CA.
	TLS bool
	// Repos is the root to serve; nil creates a new one.
	Repos *Repos
}

// HTTPServer is a smart HTTP Git server backed by git http-backend.
type HTTPServer struct {
	*Repos
	// URL is the base URL, http(s)://127.0.0.1:PORT, without a trailing slash.
	URL string
	// CACertPEM and CAPool describe the CA that signed the server certificate;
	// both are nil without TLS.
	CACertPEM []byte
	CAPool    *x509.CertPool

	mu       sync.Mutex
	srv      *httptest.Server // nil while closed
	tls      *tls.Config
	logs     *testLog
	username string
	password string
	auth     bool
	backend  *githttp.Handler
	// requests counts the requests received; authorizations are the
	// Authorization headers of every one, in order.
	requests       int
	authorizations []string
}

// NewHTTP starts an HTTP Git server on a loopback port; it is shut down when
// the test ends.
func NewHTTP(tb testing.TB, opts HTTPOptions) *HTTPServer {
	tb.Helper()
	repos := opts.Repos
	if repos == nil {
		repos = NewRepos(tb)
	}
	logs := &testLog{tb: tb}
	backend, err := githttp.NewHandler(repos.root, githttp.Options{
		Env:    gitEnv(repos.home),
		Dir:    repos.scratch,
		Stderr: logs,
		Logger: log.New(logs, "cgi: ", 0),
	})
	if err != nil {
		tb.Fatalf("gitserver: %v", err)
	}
	s := &HTTPServer{
		Repos:    repos,
		username: opts.Username,
		password: opts.Password,
		auth:     opts.Username != "" || opts.Password != "",
		backend:  backend,
	}
	s.logs = logs
	if opts.TLS {
		ca, err := newTestCA()
		if err != nil {
			tb.Fatalf("gitserver: %v", err)
		}
		s.CACertPEM = ca.certPEM
		s.CAPool = ca.pool
		s.tls = &tls.Config{Certificates: []tls.Certificate{ca.serverCert}, MinVersion: tls.VersionTLS12}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("gitserver: %v", err)
	}
	s.serve(l)
	s.URL = s.srv.URL
	tb.Cleanup(func() {
		// Close waits for in-flight requests, so no http-backend process
		// outlives the test or touches the repos while they are removed.
		s.Close()
		logs.stop()
	})
	return s
}

// serve starts serving on l; s.mu must be held or s not shared yet.
func (s *HTTPServer) serve(l net.Listener) {
	s.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: s, ErrorLog: log.New(s.logs, "", 0)}}
	if s.tls != nil {
		s.srv.TLS = s.tls
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
}

// Close stops the server, as if the Git host went down: clients get
// "connection refused" until Restart. In-flight requests finish first.
// Closing a closed server does nothing.
func (s *HTTPServer) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

// Restart serves again, after Close, on the same address and with the same
// certificate, so clone URLs handed out before stay valid.
func (s *HTTPServer) Restart(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		tb.Fatalf("gitserver: Restart of %s, which is running", s.URL)
	}
	addr := strings.TrimPrefix(strings.TrimPrefix(s.URL, "http://"), "https://")
	l, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatalf("gitserver: restart on %s: %v", addr, err)
	}
	s.serve(l)
}

// HTTPURL returns the clone URL of repository name.
func (s *HTTPServer) HTTPURL(name string) string {
	return s.URL + "/" + strings.TrimSuffix(name, ".git") + ".git"
}

// CAFile writes the CA certificate to a temp file, for http.sslCAInfo or
// GIT_SSL_CAINFO, and returns its path.
func (s *HTTPServer) CAFile(tb testing.TB) string {
	tb.Helper()
	if s.CACertPEM == nil {
		tb.Fatalf("gitserver: CAFile on a server without TLS")
	}
	p := filepath.Join(tb.TempDir(), "ca.pem")
	if err := os.WriteFile(p, s.CACertPEM, 0o644); err != nil {
		tb.Fatalf("gitserver: %v", err)
	}
	return p
}

// HTTPClient returns an http.Client that trusts the server's CA and no
// other.
func (s *HTTPServer) HTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: s.CAPool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: t}
}

// ServeHTTP checks credentials before git http-backend sees the request.
func (s *HTTPServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.authorizations = append(s.authorizations, r.Header.Values("Authorization")...)
	s.mu.Unlock()
	if s.auth && !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="gitserver", charset="UTF-8"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return
	}
	s.backend.ServeHTTP(w, r)
}

// RefListings is how many times clients asked for repository name's refs
// to fetch from it (git ls-remote and the first step of a fetch).
func (s *HTTPServer) RefListings(name string) int {
	return s.backend.RefListings(name)
}

// AuthorizationHeaders returns the Authorization headers of every request
// the server received, in order: what clients sent, accepted or not.
func (s *HTTPServer) AuthorizationHeaders() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.authorizations...)
}

// Requests is how many requests the server received, answered or refused.
func (s *HTTPServer) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// ReceivedPassword reports whether any request carried password in its
// basic auth credentials, whoever the user.
func (s *HTTPServer) ReceivedPassword(password string) bool {
	for _, a := range s.AuthorizationHeaders() {
		r := http.Request{Header: http.Header{"Authorization": {a}}}
		if _, p, ok := r.BasicAuth(); ok && p == password {
			return true
		}
	}
	return false
}

func (s *HTTPServer) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	// Evaluate both comparisons so timing does not reveal which one failed.
	u := subtle.ConstantTimeCompare([]byte(user), []byte(s.username))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(s.password))
	return u&p == 1
}

// testLog forwards server-side logs to the test log until the server is
// closed; logging after a test completes would panic.
type testLog struct {
	mu      sync.Mutex
	tb      testing.TB
	stopped bool
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.tb.Logf("gitserver: %s", strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (l *testLog) stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
}

type testCA struct {
	certPEM    []byte
	pool       *x509.CertPool
	serverCert tls.Certificate
}

// newTestCA creates a CA and a server certificate for the loopback addresses
// signed by it, so clients must trust the CA explicitly rather than a
// self-signed leaf.
func newTestCA() (*testCA, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ca key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "soll gitserver test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create ca certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("parse ca certificate: %w", err)
	}

	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate server key: %w", err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create server certificate: %w", err)
	}

	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return &testCA{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pool:    pool,
		serverCert: tls.Certificate{
			Certificate: [][]byte{leafDER},
			PrivateKey:  leafKey,
		},
	}, nil
}

func randomSerial() *big.Int {
	// rand.Int cannot fail with crypto/rand's reader since Go 1.24.
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}
