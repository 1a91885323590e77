package localcluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Files of a cluster's PKI, relative to DIR/pki.
const (
	fileCACert        = "ca.crt"
	fileCAKey         = "ca.key"
	fileServingCert   = "apiserver.crt"
	fileServingKey    = "apiserver.key"
	fileSAKey         = "sa.key"
	fileSAPub         = "sa.pub"
	certValidity      = 365 * 24 * time.Hour
	defaultServiceIP  = "10.96.0.1"
	serviceClusterIPs = "10.96.0.0/12"
	podCIDR           = "10.0.0.1/16"
)

// identity is a client certificate's subject: the user name and groups the
// API server's x509 authenticator sees.
type identity struct {
	file   string // kubeconfig file name, relative to DIR
	user   string
	groups []string
}

// The clients of a cluster. Each component gets its own identity so that the
// API server's RBAC bootstrap roles apply as in a real cluster.
var identities = []identity{
	{file: "kubeconfig", user: "soll-admin", groups: []string{"system:masters"}},
	{file: "controller-manager.kubeconfig", user: "system:kube-controller-manager"},
	{file: "scheduler.kubeconfig", user: "system:kube-scheduler"},
	// kwok writes node and pod status for simulated kubelets; the
	// system:masters group is the simplest grant that covers all of it.
	{file: "kwok.kubeconfig", user: "kwok", groups: []string{"system:masters"}},
}

type keyPair struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
	keyPEM  []byte
}

// writePKI creates the CA, the API server's serving certificate, the
// service-account signing key and one kubeconfig per identity.
func writePKI(dir, server string) error {
	pkiDir := filepath.Join(dir, "pki")
	if err := os.MkdirAll(pkiDir, 0o700); err != nil {
		return err
	}
	ca, err := newCA()
	if err != nil {
		return err
	}
	serving, err := ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(defaultServiceIP)},
	})
	if err != nil {
		return err
	}
	sa, err := newKey()
	if err != nil {
		return err
	}
	saPub, err := x509.MarshalPKIXPublicKey(sa.Public())
	if err != nil {
		return err
	}
	files := map[string][]byte{
		fileCACert:      ca.certPEM,
		fileCAKey:       ca.keyPEM,
		fileServingCert: serving.certPEM,
		fileServingKey:  serving.keyPEM,
		fileSAKey:       keyPEM(sa),
		fileSAPub:       pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub}),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(pkiDir, name), data, 0o600); err != nil {
			return err
		}
	}
	for _, id := range identities {
		client, err := ca.issue(&x509.Certificate{
			Subject:     pkix.Name{CommonName: id.user, Organization: id.groups},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err != nil {
			return err
		}
		kc := kubeconfig(server, ca.certPEM, client)
		if err := os.WriteFile(filepath.Join(dir, id.file), []byte(kc), 0o600); err != nil {
			return err
		}
	}
	return nil
}

func newKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

func keyPEM(k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		panic(err) // cannot fail for a P-256 key we generated
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func newCA() (*keyPair, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: "soll-localcluster-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &keyPair{
		cert:    cert,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:     key,
		keyPEM:  keyPEM(key),
	}, nil
}

// issue signs a leaf certificate for tmpl with a new key.
func (ca *keyPair) issue(tmpl *x509.Certificate) (*keyPair, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl.SerialNumber = sn
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.Add(certValidity)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, fmt.Errorf("issue certificate for %s: %w", tmpl.Subject.CommonName, err)
	}
	return &keyPair{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:     key,
		keyPEM:  keyPEM(key),
	}, nil
}

// kubeconfig renders a self-contained kubeconfig (certificates inline), so
// it can be copied anywhere.
func kubeconfig(server string, caPEM []byte, client *keyPair) string {
	b64 := base64.StdEncoding.EncodeToString
	return strings.Join([]string{
		"apiVersion: v1",
		"kind: Config",
		"clusters:",
		"- name: localcluster",
		"  cluster:",
		"    server: " + server,
		"    certificate-authority-data: " + b64(caPEM),
		"users:",
		"- name: localcluster",
		"  user:",
		"    client-certificate-data: " + b64(client.certPEM),
		"    client-key-data: " + b64(client.keyPEM),
		"contexts:",
		"- name: localcluster",
		"  context:",
		"    cluster: localcluster",
		"    user: localcluster",
		"current-context: localcluster",
		"",
	}, "\n")
}
