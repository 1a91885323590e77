package git

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	skknownhosts "github.com/skeema/knownhosts"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"soll.dev/internal/source"
)

// access is one repository reached with one set of credentials.
type access struct {
	ep    endpoint
	creds source.Credentials
	// identity is a keyed hash of everything that decides what the remote
	// shows us, so answers are cached per repository and credentials.
	identity string
	// secrets are scrubbed from any error text that reaches a caller.
	secrets []string
}

func (f *Fetcher) newAccess(repoURL string, creds source.Credentials) (*access, error) {
	ep, err := parseEndpoint(repoURL)
	if err != nil {
		return nil, err
	}
	a := &access{ep: ep, creds: creds}
	if err := a.validate(); err != nil {
		return nil, err
	}
	a.identity = f.identity(a)
	secrets := []string{creds.Password, creds.BearerToken, creds.SSHPassphrase, ep.urlPassword}
	// https://TOKEN@host/repo carries a token as the user name; a short
	// name such as "git" is not one, and scrubbing it would mangle
	// messages.
	if ep.urlPassword == "" && len(ep.urlUser) >= 8 {
		secrets = append(secrets, ep.urlUser)
	}
	for _, s := range secrets {
		if s != "" {
			a.secrets = append(a.secrets, s)
		}
	}
	return a, nil
}

func (a *access) invalid(format string, args ...any) error {
	return &opError{
		msg:  fmt.Sprintf("invalid credentials for %s: ", a.ep.display) + fmt.Sprintf(format, args...),
		kind: source.ErrInvalidCredentials,
	}
}

// validate rejects credentials that cannot work, before any network use.
// Only the fields that apply to the URL's transport are checked.
func (a *access) validate() error {
	c := a.creds
	switch a.ep.scheme {
	case "http", "https":
		if c.BearerToken != "" && c.Password != "" {
			return a.invalid("both a password and a bearer token are set; set one")
		}
		if (len(c.TLSClientCert) > 0) != (len(c.TLSClientKey) > 0) {
			return a.invalid("a TLS client certificate needs both the certificate and its key")
		}
		if len(c.TLSClientCert) > 0 {
			// tls errors describe the PEM structure, never its content.
			if _, err := tls.X509KeyPair(c.TLSClientCert, c.TLSClientKey); err != nil {
				return a.invalid("TLS client certificate: %v", err)
			}
		}
		if len(c.CACert) > 0 && !x509.NewCertPool().AppendCertsFromPEM(c.CACert) {
			return a.invalid("the CA certificate holds no PEM certificate")
		}
	case "ssh":
		// The key itself is parsed when it is used: decrypting one is
		// deliberately slow, and calls answered from the cache need none.
		if len(c.SSHPrivateKey) == 0 {
			return a.invalid("an SSH private key is required for ssh URLs")
		}
	}
	return nil
}

func (a *access) signer() (gossh.Signer, error) {
	c := a.creds
	signer, err := gossh.ParsePrivateKey(c.SSHPrivateKey)
	var missing *gossh.PassphraseMissingError
	switch {
	case errors.As(err, &missing) && c.SSHPassphrase == "":
		return nil, a.invalid("the SSH private key is encrypted: set its passphrase")
	case errors.As(err, &missing):
		signer, err = gossh.ParsePrivateKeyWithPassphrase(c.SSHPrivateKey, []byte(c.SSHPassphrase))
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, a.invalid("the SSH private key passphrase is wrong")
		}
	}
	if err != nil {
		// x/crypto/ssh errors name the key format, never key material.
		return nil, a.invalid("read SSH private key: %v", err)
	}
	return signer, nil
}

// identity returns an HMAC, under a key that lives only in this process, of
// all credential material and the URL user information. A plain hash would
// let anyone who sees a cache key test password guesses against it.
func (f *Fetcher) identity(a *access) string {
	h := hmac.New(sha256.New, f.identityKey)
	c := a.creds
	for _, b := range [][]byte{
		[]byte(a.ep.urlUser), []byte(a.ep.urlPassword), []byte(a.ep.sshUser),
		[]byte(c.Username), []byte(c.Password), []byte(c.BearerToken),
		c.TLSClientCert, c.TLSClientKey, c.CACert,
		c.SSHPrivateKey, []byte(c.SSHPassphrase), c.SSHKnownHosts,
	} {
		// Length prefixes keep ("ab", "c") and ("a", "bc") apart.
		_ = binary.Write(h, binary.BigEndian, uint64(len(b)))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// httpAuth returns the go-git auth for HTTP(S). Explicit credentials win over
// user information in the URL.
func (a *access) httpAuth() transport.AuthMethod {
	c := a.creds
	switch {
	case c.BearerToken != "":
		return &githttp.TokenAuth{Token: c.BearerToken}
	case c.Username != "" || c.Password != "":
		return &githttp.BasicAuth{Username: c.Username, Password: c.Password}
	case a.ep.urlUser != "" || a.ep.urlPassword != "":
		return &githttp.BasicAuth{Username: a.ep.urlUser, Password: a.ep.urlPassword}
	}
	return nil
}

// sshAuth implements go-git's ssh.AuthMethod with strict host key checking
// against the credentials' known hosts only: never ~/.ssh/known_hosts, never
// an agent, never "accept new".
type sshAuth struct {
	user     string
	signer   gossh.Signer
	hostKeys *skknownhosts.HostKeyDB
	hostPort string
	timeout  time.Duration
}

func (s *sshAuth) Name() string   { return "ssh-public-keys" }
func (s *sshAuth) String() string { return "user: " + s.user + ", name: ssh-public-keys" }

func (s *sshAuth) ClientConfig() (*gossh.ClientConfig, error) {
	return &gossh.ClientConfig{
		User: s.user,
		Auth: []gossh.AuthMethod{gossh.PublicKeys(s.signer)},
		// Offer only algorithms of keys we know for this host, or the
		// server may present a key type known_hosts has no entry for.
		HostKeyAlgorithms: s.hostKeys.HostKeyAlgorithms(s.hostPort),
		HostKeyCallback:   s.checkHostKey,
		Timeout:           s.timeout,
	}, nil
}

func (s *sshAuth) checkHostKey(hostname string, remote net.Addr, key gossh.PublicKey) error {
	err := s.hostKeys.HostKeyCallback()(hostname, remote, key)
	if err == nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return err
	}
	return &hostKeyError{
		hostPort:    hostname,
		unknown:     len(ke.Want) == 0,
		keyType:     key.Type(),
		fingerprint: gossh.FingerprintSHA256(key),
	}
}

// newSSHAuth builds the SSH auth for one network operation. The known hosts
// data goes through a short-lived file because the known_hosts parsers only
// read files.
func (a *access) newSSHAuth(tmpDir string, timeout time.Duration) (*sshAuth, error) {
	signer, err := a.signer()
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(tmpDir, "known_hosts-")
	if err != nil {
		return nil, fmt.Errorf("write known hosts: %w", err)
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // a file left in the fetcher's tmp directory, which is emptied when the fetcher starts
	_, werr := tmp.Write(a.creds.SSHKnownHosts)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("write known hosts: %w", werr)
	}
	db, err := skknownhosts.NewDB(tmp.Name())
	if err != nil {
		return nil, a.invalid("parse known hosts: %v", err)
	}
	return &sshAuth{user: a.ep.sshUser, signer: signer, hostKeys: db, hostPort: a.ep.hostPort, timeout: timeout}, nil
}

// hostKeyError says why a host key was refused and how to fix it.
type hostKeyError struct {
	hostPort    string
	unknown     bool
	keyType     string
	fingerprint string
}

func (e *hostKeyError) Error() string {
	host, port, err := net.SplitHostPort(e.hostPort)
	if err != nil {
		host, port = e.hostPort, "22"
	}
	keyscan := "ssh-keyscan " + host
	if port != "22" {
		keyscan = "ssh-keyscan -p " + port + " " + host
	}
	if e.unknown {
		return fmt.Sprintf("ssh host key of %s is not in the known hosts: add the host's key to the repository's known hosts "+
			"(for example the output of %s, after checking that it matches the server's %s key %s)",
			e.hostPort, strconv.Quote(keyscan), e.keyType, e.fingerprint)
	}
	return fmt.Sprintf("ssh host key of %s does not match the known hosts: the server presented %s key %s; "+
		"if the server's key was changed on purpose, replace its entry in the repository's known hosts "+
		"(see %s), otherwise someone may be intercepting the connection",
		e.hostPort, e.keyType, e.fingerprint, strconv.Quote(keyscan))
}

func (e *hostKeyError) Is(target error) bool { return target == source.ErrHostKey }
