package source

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// Credentials are the resolved secrets for one repository, held in memory
// only. Which fields apply depends on the URL's transport; the others are
// ignored.
//
// Credentials redact themselves wherever they are printed: fmt (every verb,
// including %#v), encoding/json and log/slog show the user name and which
// secrets are set, never their values. Do not copy fields out to print them,
// and do not print structs that hold Credentials in an unexported field: fmt
// cannot call methods through unexported fields and would print the values.
type Credentials struct {
	// Username and Password are sent as HTTP basic auth. Hosts that accept
	// an access token as basic auth (GitHub, GitLab, Bitbucket, Gitea) take
	// the token in Password and any non-empty Username.
	Username string
	Password string
	// BearerToken is sent as "Authorization: Bearer <token>" over HTTP(S).
	// Set it or Password, not both.
	BearerToken string

	// TLSClientCert and TLSClientKey (PEM) authenticate the client over
	// HTTPS (mutual TLS); both or neither must be set.
	TLSClientCert []byte
	TLSClientKey  []byte
	// CACert (PEM) is trusted for HTTPS in addition to the system roots,
	// for servers with a private CA.
	CACert []byte

	// SSHPrivateKey (PEM or OpenSSH format) authenticates over SSH.
	SSHPrivateKey []byte
	// SSHPassphrase decrypts SSHPrivateKey when it is encrypted.
	SSHPassphrase string
	// SSHKnownHosts is known_hosts data (as written by ssh-keyscan). SSH
	// host keys are always verified: a host without an entry here is
	// refused, there is no way to skip the check.
	SSHKnownHosts []byte
}

const redacted = "<redacted>"

// IsZero reports whether no credential is set.
func (c Credentials) IsZero() bool {
	return len(c.fields()) == 0
}

// field is one set field of Credentials as it may be shown: secret fields
// are shown only by name.
type field struct {
	name, jsonName string
	value          string // shown value; redacted for secrets
}

func (c Credentials) fields() []field {
	var fs []field
	if c.Username != "" {
		fs = append(fs, field{"Username", "username", c.Username})
	}
	secret := func(set bool, name, jsonName string) {
		if set {
			fs = append(fs, field{name, jsonName, redacted})
		}
	}
	secret(c.Password != "", "Password", "password")
	secret(c.BearerToken != "", "BearerToken", "bearerToken")
	secret(len(c.TLSClientCert) > 0, "TLSClientCert", "tlsClientCert")
	secret(len(c.TLSClientKey) > 0, "TLSClientKey", "tlsClientKey")
	secret(len(c.CACert) > 0, "CACert", "caCert")
	secret(len(c.SSHPrivateKey) > 0, "SSHPrivateKey", "sshPrivateKey")
	secret(c.SSHPassphrase != "", "SSHPassphrase", "sshPassphrase")
	secret(len(c.SSHKnownHosts) > 0, "SSHKnownHosts", "sshKnownHosts")
	return fs
}

// String shows the user name and which secrets are set.
func (c Credentials) String() string {
	var b strings.Builder
	b.WriteString("source.Credentials{")
	for i, f := range c.fields() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.name)
		b.WriteString(": ")
		if f.value == redacted {
			b.WriteString(redacted)
		} else {
			b.WriteString(strconv.Quote(f.value))
		}
	}
	b.WriteString("}")
	return b.String()
}

// GoString is String, so %#v redacts too.
func (c Credentials) GoString() string { return c.String() }

// Format makes every fmt verb print the redacted form; without it, verbs
// such as %d or %x would print the fields.
func (c Credentials) Format(f fmt.State, _ rune) {
	_, _ = f.Write([]byte(c.String()))
}

// MarshalJSON encodes the redacted form. It is deliberately lossy:
// Credentials cannot be round-tripped through JSON.
func (c Credentials) MarshalJSON() ([]byte, error) {
	m := map[string]string{}
	for _, f := range c.fields() {
		m[f.jsonName] = f.value
	}
	return json.Marshal(m)
}

// LogValue logs the redacted form with log/slog.
func (c Credentials) LogValue() slog.Value {
	fs := c.fields()
	attrs := make([]slog.Attr, 0, len(fs))
	for _, f := range fs {
		attrs = append(attrs, slog.String(f.jsonName, f.value))
	}
	return slog.GroupValue(attrs...)
}
