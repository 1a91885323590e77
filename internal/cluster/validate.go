package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	sollv1 "soll.dev/api/v1alpha1"
)

// Keys of a Cluster's credentials Secret.
const (
	// KeyToken holds a bearer token.
	KeyToken = "token"
	// KeyCert and KeyKey hold a PEM client certificate and its key.
	KeyCert = corev1.TLSCertKey
	KeyKey  = corev1.TLSPrivateKeyKey
)

// MaxSecretValue bounds each credential in a Cluster's Secret.
const MaxSecretValue = 64 << 10

// Versions of the ExecCredential an exec plugin may speak.
const (
	ExecV1      = "client.authentication.k8s.io/v1"
	ExecV1beta1 = "client.authentication.k8s.io/v1beta1"
)

// DefaultExecTimeout bounds a run of an exec plugin whose
// spec.exec.timeoutSeconds is zero.
const DefaultExecTimeout = 30 * time.Second

// Environment variables soll sets for an exec plugin itself; a Cluster
// cannot set them. PATH is the controller's, so that a plugin named
// without a path is found where soll finds it and the plugin's own
// helpers (a cloud CLI it calls) are found as the operator installed them.
const (
	envPath     = "PATH"
	envExecInfo = "KUBERNETES_EXEC_INFO"
)

// problems collects the errors of one Cluster, each naming the Cluster
// and a field.
type problems struct {
	cluster string
	errs    []error
}

func (p *problems) add(field, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("cluster %s: %s: %s", p.cluster, field, fmt.Sprintf(format, args...)))
}

func (p *problems) err() error { return errors.Join(p.errs...) }

// Validate checks what the Cluster CRD's schema cannot: that spec.server
// is an https URL with a host (no query, fragment or user info) and not
// the in-cluster server, that the name is not the in-cluster one, that
// caData is PEM certificates, that proxyURL is an http, https or socks5
// URL without credentials, that namespaces are distinct namespace names,
// that exactly one of secretName and exec is set, and that the exec
// plugin's command, arguments and environment can be used. All problems
// are reported at once (errors.Join).
func Validate(c *sollv1.Cluster) error {
	if c == nil {
		return errors.New("cluster: no Cluster given")
	}
	p := &problems{cluster: c.Name}
	if c.Name == sollv1.InClusterName {
		p.add("metadata.name", "%q names the cluster soll runs in, which needs no Cluster; choose another name", sollv1.InClusterName)
	}
	validateServer(p, c.Spec.Server)
	validateCA(p, c.Spec.CAData)
	if n := c.Spec.TLSServerName; n != "" && net.ParseIP(n) == nil && len(validation.IsDNS1123Subdomain(strings.ToLower(n))) > 0 {
		p.add("spec.tlsServerName", "%q is neither a DNS name nor an IP address; give the name in the API server's certificate", n)
	}
	validateProxy(p, c.Spec.ProxyURL)
	validateNamespaces(p, c.Spec.Namespaces)
	switch {
	case c.Spec.SecretName != "" && c.Spec.Exec != nil:
		p.add("spec", "both secretName and exec are set; keep one: a Secret with a token or client certificate, or an exec credential plugin")
	case c.Spec.SecretName == "" && c.Spec.Exec == nil:
		p.add("spec", "neither secretName nor exec is set; name a Secret with a token or client certificate, or configure an exec credential plugin")
	case c.Spec.SecretName != "":
		if msgs := validation.IsDNS1123Subdomain(c.Spec.SecretName); len(msgs) > 0 {
			p.add("spec.secretName", "%q is not a Secret name: %s", c.Spec.SecretName, strings.Join(msgs, "; "))
		}
	default:
		validateExec(p, c.Spec.Exec)
	}
	return p.err()
}

func validateServer(p *problems, server string) {
	const field = "spec.server"
	if server == "" {
		p.add(field, "empty; give the https URL of the cluster's API server")
		return
	}
	u, err := url.Parse(server)
	if err != nil {
		p.add(field, "%q is not a URL: %v", server, unwrapURLError(err))
		return
	}
	if u.Scheme != "https" {
		p.add(field, "%q is not an https URL; soll talks to API servers over TLS only", server)
	}
	if u.Host == "" || u.Hostname() == "" {
		p.add(field, "%q has no host; give the URL as https://host[:port]", server)
	}
	if u.User != nil {
		p.add(field, "the URL carries user info; remove it and put credentials in the Secret named by spec.secretName")
	}
	if u.RawQuery != "" || u.ForceQuery {
		p.add(field, "%q has a query; remove it", server)
	}
	if u.Fragment != "" || strings.Contains(server, "#") {
		p.add(field, "%q has a fragment; remove it", server)
	}
	if isInClusterServer(u) {
		p.add(field, "%q is the API server soll runs in, which needs no Cluster: Applications name it as destination %q", server, sollv1.InClusterName)
	}
}

// inClusterHosts are the names the API server soll runs beside has in its
// own pods (the search path of a pod's resolver completes the short ones).
var inClusterHosts = []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}

// IsInClusterServer says whether server reaches the API server soll runs
// beside (sollv1.InClusterServer): https on one of its in-cluster host
// names, whatever the letter case, port or path.
func IsInClusterServer(server string) bool {
	u, err := url.Parse(strings.TrimSpace(server))
	return err == nil && isInClusterServer(u)
}

func isInClusterServer(u *url.URL) bool {
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	return strings.EqualFold(u.Scheme, "https") && slices.Contains(inClusterHosts, host)
}

// unwrapURLError drops url.Error's quoting of the whole input, which the
// message gives already.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func validateCA(p *problems, data string) {
	if data == "" {
		return
	}
	if _, err := parseCertificates([]byte(data)); err != nil {
		p.add("spec.caData", "%v; give the PEM-encoded certificate(s) of the authority that signs the API server's certificate", err)
	}
}

// parseCertificates parses one or more PEM CERTIFICATE blocks and nothing
// else.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is a %q, want CERTIFICATE", n, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d is not an X.509 certificate: %v", n, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block found")
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, fmt.Errorf("text after PEM block %d is not PEM", len(certs))
	}
	return certs, nil
}

func validateProxy(p *problems, proxy string) {
	const field = "spec.proxyURL"
	if proxy == "" {
		return
	}
	u, err := url.Parse(proxy)
	if err != nil {
		// Not quoted: the URL may carry a password.
		p.add(field, "not a URL: %v", unwrapURLError(err))
		return
	}
	switch u.Scheme {
	case "http", "https", "socks5":
	default:
		p.add(field, "scheme %q is not supported; use http, https or socks5", u.Scheme)
	}
	if u.Hostname() == "" {
		p.add(field, "the URL has no host; give it as scheme://host:port")
	}
	if u.User != nil {
		p.add(field, "the URL carries user info, which a Cluster's spec cannot keep secret; use a proxy that needs no credentials")
	}
}

func validateNamespaces(p *problems, namespaces []string) {
	seen := make(map[string]bool, len(namespaces))
	for i, ns := range namespaces {
		field := fmt.Sprintf("spec.namespaces[%d]", i)
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			p.add(field, "%q is not a namespace name: %s", ns, strings.Join(msgs, "; "))
			continue
		}
		if seen[ns] {
			p.add(field, "%q is listed twice; list each namespace once", ns)
		}
		seen[ns] = true
	}
}

func validateExec(p *problems, e *sollv1.ClusterExec) {
	if strings.TrimSpace(e.Command) == "" {
		p.add("spec.exec.command", "empty; give the plugin's absolute path or its name in soll's PATH")
	} else if strings.ContainsRune(e.Command, 0) {
		p.add("spec.exec.command", "contains a NUL character")
	} else if strings.Contains(e.Command, "/") && !path.IsAbs(e.Command) {
		p.add("spec.exec.command", "%q is a relative path, which would depend on soll's working directory; give an absolute path or a name in soll's PATH", e.Command)
	}
	for i, a := range e.Args {
		if strings.ContainsRune(a, 0) {
			p.add(fmt.Sprintf("spec.exec.args[%d]", i), "contains a NUL character")
		}
	}
	seen := make(map[string]bool, len(e.Env))
	for i, env := range e.Env {
		field := fmt.Sprintf("spec.exec.env[%d]", i)
		switch {
		case env.Name == "":
			p.add(field+".name", "empty; give the variable's name")
		case strings.ContainsAny(env.Name, "=\x00"):
			p.add(field+".name", "%q contains '=' or a NUL character, which no variable name may", env.Name)
		case env.Name == envPath:
			p.add(field+".name", "PATH is soll's own for every plugin; name the plugin by absolute path instead, or set a variable of the plugin's own")
		case env.Name == envExecInfo:
			p.add(field+".name", "%s is set by soll (the ExecCredential request); remove it", envExecInfo)
		case seen[env.Name]:
			p.add(field+".name", "%q is set twice; set each variable once", env.Name)
		}
		seen[env.Name] = true
		if strings.ContainsRune(env.Value, 0) {
			p.add(field+".value", "contains a NUL character")
		}
	}
	switch e.APIVersion {
	case "", ExecV1, ExecV1beta1:
	default:
		p.add("spec.exec.apiVersion", "%q is not supported; use %s or %s", e.APIVersion, ExecV1, ExecV1beta1)
	}
	if e.TimeoutSeconds < 0 || e.TimeoutSeconds > 300 {
		p.add("spec.exec.timeoutSeconds", "%d is outside 0..300 (0 means %v)", e.TimeoutSeconds, DefaultExecTimeout)
	}
}

// ValidateSecret checks the credentials Secret of a Cluster with
// spec.secretName: it is labelled as a Cluster's credentials
// (soll.dev/secret-type: cluster), and it holds either a bearer token under "token" (one
// trailing newline is allowed) or a client certificate and key under
// "tls.crt" and "tls.key" that form a pair, not both, each at most
// MaxSecretValue bytes. Errors name the Secret's keys, never their values.
func ValidateSecret(c *sollv1.Cluster, s *corev1.Secret) error {
	if c == nil {
		return errors.New("cluster: no Cluster given")
	}
	p := &problems{cluster: c.Name}
	if c.Spec.SecretName == "" {
		p.add("spec.secretName", "not set, so the Cluster uses no Secret")
		return p.err()
	}
	field := func(key string) string { return fmt.Sprintf("Secret %s key %q", c.Spec.SecretName, key) }
	if s == nil {
		p.add("spec.secretName", "Secret %s not found; create it in soll's namespace with key %q or keys %q and %q", c.Spec.SecretName, KeyToken, KeyCert, KeyKey)
		return p.err()
	}
	if s.Name != c.Spec.SecretName {
		p.add("spec.secretName", "names Secret %s, but Secret %s was given", c.Spec.SecretName, s.Name)
		return p.err()
	}
	if s.Labels[sollv1.SecretTypeLabel] != sollv1.SecretTypeCluster {
		// Opt-in: otherwise whoever may write Clusters could have soll
		// send any Secret's "token" in its namespace to a server of
		// their choosing.
		p.add("Secret "+c.Spec.SecretName, "is not labelled %s=%s; label it so soll may use it as a Cluster's credentials", sollv1.SecretTypeLabel, sollv1.SecretTypeCluster)
	}
	if owner := s.Labels[sollv1.ClusterSecretLabel]; owner != c.Name {
		// Nor may one Cluster use another's credentials.
		p.add("Secret "+c.Spec.SecretName, "is labelled %s=%q, not %s=%s: a Secret holds the credentials of the one Cluster its label names; label it for this Cluster, or give this Cluster a Secret of its own", sollv1.ClusterSecretLabel, owner, sollv1.ClusterSecretLabel, c.Name)
	}
	data := secretData(s)
	for _, key := range []string{KeyToken, KeyCert, KeyKey} {
		if v, ok := data[key]; ok && len(v) > MaxSecretValue {
			p.add(field(key), "%d bytes, more than the %d allowed", len(v), MaxSecretValue)
		}
	}
	if len(p.errs) > 0 {
		return p.err()
	}
	token, hasToken := data[KeyToken]
	cert, hasCert := data[KeyCert]
	key, hasKey := data[KeyKey]
	switch {
	case hasToken && (hasCert || hasKey):
		p.add("Secret "+c.Spec.SecretName, "has both a token and a client certificate; keep key %q or keys %q and %q", KeyToken, KeyCert, KeyKey)
	case hasToken:
		if err := checkToken(trimToken(token)); err != nil {
			p.add(field(KeyToken), "%v", err)
		}
	case hasCert != hasKey:
		missing := KeyKey
		if !hasCert {
			missing = KeyCert
		}
		p.add(field(missing), "missing: a client certificate needs both %q and %q", KeyCert, KeyKey)
	case hasCert:
		if err := checkKeyPair(cert, key); err != nil {
			p.add("Secret "+c.Spec.SecretName+" keys \"tls.crt\" and \"tls.key\"", "%v", err)
		}
	default:
		p.add("Secret "+c.Spec.SecretName, "has no credentials; set key %q to a bearer token, or keys %q and %q to a PEM client certificate and key", KeyToken, KeyCert, KeyKey)
	}
	return p.err()
}

// secretData is s's data as the API server stores it: stringData over
// data, for Secrets built in memory.
func secretData(s *corev1.Secret) map[string][]byte {
	if len(s.StringData) == 0 {
		return s.Data
	}
	data := make(map[string][]byte, len(s.Data)+len(s.StringData))
	for k, v := range s.Data {
		data[k] = v
	}
	for k, v := range s.StringData {
		data[k] = []byte(v)
	}
	return data
}

// trimToken drops one trailing newline, which `kubectl create secret
// --from-file` and editors leave.
func trimToken(b []byte) string {
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r")
}

// checkToken refuses a token that cannot go into an Authorization header
// as it is. The message never quotes the token.
func checkToken(token string) error {
	if token == "" {
		return errors.New("empty; put the bearer token there")
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("the token has a space, line break or non-ASCII character at byte %d; a bearer token is one line of visible ASCII", i)
		}
	}
	return nil
}

func checkKeyPair(cert, key []byte) error {
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		// crypto/tls names what is wrong (no PEM, a key that does not
		// match) and never quotes the data.
		return fmt.Errorf("%v; give a PEM certificate and its private key", err)
	}
	if now := time.Now(); pair.Leaf != nil && now.After(pair.Leaf.NotAfter) {
		return fmt.Errorf("the client certificate expired at %s; renew it", pair.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// NormalServer is a server URL as soll compares them (duplicate Clusters,
// an app's destination): scheme and host in lower case, without the
// default port and the trailing slash.
func NormalServer(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return strings.TrimRight(strings.ToLower(strings.TrimSpace(raw)), "/")
	}
	host := strings.ToLower(u.Host)
	host = strings.TrimSuffix(host, ":443")
	return strings.ToLower(u.Scheme) + "://" + host + strings.TrimRight(u.Path, "/")
}
