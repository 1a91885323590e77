package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	sollv1 "soll.dev/api/v1alpha1"
)

// testAPI is an HTTPS server standing in for an API server: it records
// what reaches it and answers 401 to the bearer tokens in reject.
type testAPI struct {
	*httptest.Server
	ca *testCA

	mu       sync.Mutex
	requests []seen
	reject   map[string]bool
}

// seen is what one request showed the server.
type seen struct {
	auth, userAgent, clientCN string
}

// newTestAPI starts a test API server with a certificate for hosts (by
// default 127.0.0.1); tune changes its TLS configuration before it starts.
func newTestAPI(t *testing.T, tune func(*tls.Config), hosts ...string) *testAPI {
	t.Helper()
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1"}
	}
	api := &testAPI{ca: newCA(t), reject: map[string]bool{}}
	api.Server = httptest.NewUnstartedServer(http.HandlerFunc(api.serve))
	api.TLS = api.ca.serverTLS(t, hosts...)
	api.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point of some tests
	if tune != nil {
		tune(api.TLS)
	}
	api.StartTLS()
	t.Cleanup(api.Close)
	return api
}

func (a *testAPI) serve(w http.ResponseWriter, r *http.Request) {
	s := seen{auth: r.Header.Get("Authorization"), userAgent: r.UserAgent()}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		s.clientCN = r.TLS.PeerCertificates[0].Subject.CommonName
	}
	a.mu.Lock()
	a.requests = append(a.requests, s)
	reject := a.reject[strings.TrimPrefix(s.auth, "Bearer ")]
	a.mu.Unlock()
	if reject {
		http.Error(w, `{"kind":"Status","code":401}`, http.StatusUnauthorized)
		return
	}
	_, _ = io.WriteString(w, `{"major":"1","minor":"34","gitVersion":"v1.34.1"}`)
}

// last is the last request the server saw.
func (a *testAPI) last(t *testing.T) seen {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.requests) == 0 {
		t.Fatal("no request reached the server")
	}
	return a.requests[len(a.requests)-1]
}

// count is the number of requests the server saw.
func (a *testAPI) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.requests)
}

// cluster is a Cluster for the server that trusts its CA.
func (a *testAPI) cluster() *sollv1.Cluster {
	c := tokenCluster()
	c.Spec.Server = a.URL
	c.Spec.CAData = string(a.ca.certPEM)
	return c
}

// get sends GET /version with cfg and returns the status code.
func get(t *testing.T, cfg *rest.Config) (int, error) {
	t.Helper()
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatalf("HTTP client for the config: %v", err)
	}
	resp, err := client.Get(cfg.Host + "/version")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// mustGet is get that fails the test unless the server answers 200.
func mustGet(t *testing.T, cfg *rest.Config) {
	t.Helper()
	code, err := get(t, cfg)
	if err != nil {
		t.Fatalf("GET /version: %v", err)
	}
	if code != http.StatusOK {
		t.Fatalf("GET /version: status %d, want 200", code)
	}
}

func TestRESTConfigToken(t *testing.T) {
	api := newTestAPI(t, nil)
	cfg, err := RESTConfig(api.cluster(), secretWith("token", "abc.def-ghi\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.QPS != 200 || cfg.Burst != 400 || cfg.Timeout != 0 || cfg.UserAgent != "soll" {
		t.Errorf("config has QPS %v, Burst %d, Timeout %v, UserAgent %q; want 200, 400, 0, soll", cfg.QPS, cfg.Burst, cfg.Timeout, cfg.UserAgent)
	}
	mustGet(t, cfg)
	got := api.last(t)
	if got.auth != "Bearer abc.def-ghi" {
		t.Errorf("server saw Authorization %q, want the Secret's token without its newline", got.auth)
	}
	if got.userAgent != "soll" {
		t.Errorf("server saw User-Agent %q, want soll", got.userAgent)
	}
}

func TestRESTConfigClientCertificate(t *testing.T) {
	clientCA := newCA(t)
	api := newTestAPI(t, func(c *tls.Config) {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = x509.NewCertPool()
		c.ClientCAs.AddCert(clientCA.cert)
	})
	cert, key := clientCA.leaf(t, "soll-deployer", time.Time{})
	cfg, err := RESTConfig(api.cluster(), secretWith("tls.crt", string(cert), "tls.key", string(key)))
	if err != nil {
		t.Fatal(err)
	}
	mustGet(t, cfg)
	if got := api.last(t); got.clientCN != "soll-deployer" || got.auth != "" {
		t.Errorf("server saw client certificate %q and Authorization %q, want soll-deployer and none", got.clientCN, got.auth)
	}

	// A certificate from another authority is refused by the server.
	strangerCert, strangerKey := newCA(t).leaf(t, "stranger", time.Time{})
	cfg, err = RESTConfig(api.cluster(), secretWith("tls.crt", string(strangerCert), "tls.key", string(strangerKey)))
	if err != nil {
		t.Fatal(err)
	}
	if code, err := get(t, cfg); err == nil {
		t.Fatalf("a client certificate of an unknown authority got status %d, want a TLS error", code)
	}
}

func TestRESTConfigWrongCA(t *testing.T) {
	api := newTestAPI(t, nil)
	c := api.cluster()
	c.Spec.CAData = string(newCA(t).certPEM)
	cfg, err := RESTConfig(c, secretWith("token", "abc"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = get(t, cfg)
	var verify *tls.CertificateVerificationError
	if !errors.As(err, &verify) {
		t.Fatalf("with another CA: got %v, want a certificate verification error", err)
	}
	if api.count() != 0 {
		t.Errorf("the request reached a server the CA does not vouch for")
	}
}

func TestRESTConfigTLSServerName(t *testing.T) {
	api := newTestAPI(t, nil, "api.internal") // no IP address in its certificate
	c := api.cluster()
	cfg, err := RESTConfig(c, secretWith("token", "abc"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = get(t, cfg)
	var hostname x509.HostnameError
	if !errors.As(err, &hostname) {
		t.Fatalf("a certificate for api.internal, checked for 127.0.0.1 without spec.tlsServerName: got %v, want a host name error", err)
	}
	c.Spec.TLSServerName = "api.internal"
	cfg, err = RESTConfig(c, secretWith("token", "abc"))
	if err != nil {
		t.Fatal(err)
	}
	mustGet(t, cfg)
}

func TestRESTConfigProxy(t *testing.T) {
	api := newTestAPI(t, nil)
	var mu sync.Mutex
	var connects []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		mu.Lock()
		connects = append(connects, r.Host)
		mu.Unlock()
		upstream, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			_ = upstream.Close()
			return
		}
		tunnel(conn, buf.Reader, upstream)
	}))
	t.Cleanup(proxy.Close)

	c := api.cluster()
	c.Spec.ProxyURL = proxy.URL
	cfg, err := RESTConfig(c, secretWith("token", "abc"))
	if err != nil {
		t.Fatal(err)
	}
	mustGet(t, cfg)
	want := strings.TrimPrefix(api.URL, "https://")
	mu.Lock()
	defer mu.Unlock()
	if len(connects) != 1 || connects[0] != want {
		t.Errorf("proxy saw CONNECT %q, want one to %s", connects, want)
	}
	if got := api.last(t); got.auth != "Bearer abc" {
		t.Errorf("through the proxy the server saw Authorization %q", got.auth)
	}
}

// tunnel copies between a proxy's client, read through in, and upstream
// until either closes.
func tunnel(client net.Conn, in io.Reader, upstream net.Conn) {
	go func() {
		_, _ = io.Copy(upstream, in)
		_ = upstream.Close()
	}()
	_, _ = io.Copy(client, upstream)
	_ = client.Close()
}

// TestRESTConfigSOCKS5Proxy sends the request through a SOCKS5 proxy
// (RFC 1928, no authentication, CONNECT only), which net/http's transport
// speaks when the proxy URL's scheme is socks5.
func TestRESTConfigSOCKS5Proxy(t *testing.T) {
	api := newTestAPI(t, nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	targets := make(chan string, 10)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				target, err := socks5Handshake(conn)
				if err != nil {
					_ = conn.Close()
					return
				}
				targets <- target
				upstream, err := net.Dial("tcp", target)
				if err != nil {
					_ = conn.Close()
					return
				}
				tunnel(conn, conn, upstream)
			}()
		}
	}()

	c := api.cluster()
	c.Spec.ProxyURL = "socks5://" + l.Addr().String()
	cfg, err := RESTConfig(c, secretWith("token", "abc"))
	if err != nil {
		t.Fatal(err)
	}
	mustGet(t, cfg)
	if got, want := <-targets, strings.TrimPrefix(api.URL, "https://"); got != want {
		t.Errorf("SOCKS5 proxy was asked for %s, want %s", got, want)
	}
}

// socks5Handshake answers a SOCKS5 client's greeting and CONNECT request
// (IPv4 or domain name) and returns the address it asked for.
func socks5Handshake(conn net.Conn) (string, error) {
	head := make([]byte, 2)
	if _, err := io.ReadFull(conn, head); err != nil || head[0] != 5 {
		return "", fmt.Errorf("greeting: %v", err)
	}
	if _, err := io.ReadFull(conn, make([]byte, head[1])); err != nil {
		return "", err
	}
	if _, err := conn.Write([]byte{5, 0}); err != nil { // no authentication
		return "", err
	}
	req := make([]byte, 4)
	if _, err := io.ReadFull(conn, req); err != nil || req[1] != 1 {
		return "", fmt.Errorf("request %v: %v", req, err)
	}
	var host string
	switch req[3] {
	case 1:
		ip := make([]byte, 4)
		if _, err := io.ReadFull(conn, ip); err != nil {
			return "", err
		}
		host = net.IP(ip).String()
	case 3:
		n := make([]byte, 1)
		if _, err := io.ReadFull(conn, n); err != nil {
			return "", err
		}
		name := make([]byte, n[0])
		if _, err := io.ReadFull(conn, name); err != nil {
			return "", err
		}
		host = string(name)
	default:
		return "", fmt.Errorf("address type %d", req[3])
	}
	port := make([]byte, 2)
	if _, err := io.ReadFull(conn, port); err != nil {
		return "", err
	}
	if _, err := conn.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0}); err != nil {
		return "", err
	}
	return net.JoinHostPort(host, fmt.Sprint(int(port[0])<<8|int(port[1]))), nil
}

func TestRESTConfigRefusesBadInput(t *testing.T) {
	c := tokenCluster()
	c.Spec.Server = "http://api.prod.example"
	if _, err := RESTConfig(c, secretWith("token", "abc")); err == nil || !strings.Contains(err.Error(), "spec.server") {
		t.Errorf("invalid Cluster: got %v, want the spec.server error", err)
	}
	if _, err := RESTConfig(tokenCluster(), secretWith("token", "a b")); err == nil || !strings.Contains(err.Error(), `key "token"`) {
		t.Errorf("invalid Secret: got %v, want the token error", err)
	}
	if _, err := RESTConfig(execCluster("get-token"), secretWith("token", "abc")); err == nil || !strings.Contains(err.Error(), "takes no Secret") {
		t.Errorf("exec Cluster with a Secret: got %v, want a refusal", err)
	}
}
