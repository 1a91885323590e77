package git_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"soll.dev/internal/source"
	"soll.dev/internal/source/git"
	"soll.dev/internal/testenv/gitserver"
)

// checkAccess resolves main and checks it out, which exercises both kinds
// of remote request (ref listing and fetch).
func checkAccess(t *testing.T, f *git.Fetcher, url, want string, creds source.Credentials) {
	t.Helper()
	rev, err := f.Resolve(t.Context(), url, "main", creds)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if rev.Commit != want {
		t.Fatalf("resolved %s, want %s", rev.Commit, want)
	}
	snap, err := f.Checkout(t.Context(), url, rev.Commit, creds)
	if err != nil {
		t.Fatalf("Checkout: %v", err)
	}
	if _, err := os.Stat(filepath.Join(snap.Dir, "README.md")); err != nil {
		t.Errorf("snapshot lacks README.md: %v", err)
	}
}

func TestHTTPBasicAuth(t *testing.T) {
	t.Parallel()
	const user, password, token = "alice", "pa55-w0rd-secret", "tok-3x4mpl3-secret"
	_, url, head := httpRepo(t, gitserver.HTTPOptions{Username: user, Password: password})

	t.Run("right credentials", func(t *testing.T) {
		checkAccess(t, newFetcher(t, git.Options{}), url, head, source.Credentials{Username: user, Password: password})
	})
	t.Run("credentials in the URL", func(t *testing.T) {
		u := strings.Replace(url, "://", "://"+user+":"+password+"@", 1)
		checkAccess(t, newFetcher(t, git.Options{}), u, head, source.Credentials{})
	})

	wrong := []struct {
		name  string
		url   string
		creds source.Credentials
	}{
		{"no credentials", url, source.Credentials{}},
		{"wrong password", url, source.Credentials{Username: user, Password: "wrong-" + password}},
		{"password of another user", url, source.Credentials{Username: "bob", Password: password}},
		{"bearer token", url, source.Credentials{BearerToken: token}},
		{"wrong password in the URL", strings.Replace(url, "://", "://"+user+":wrong-"+password+"@", 1), source.Credentials{}},
	}
	for _, tt := range wrong {
		t.Run(tt.name, func(t *testing.T) {
			f := newFetcher(t, git.Options{})
			_, err := f.Resolve(t.Context(), tt.url, "main", tt.creds)
			wantErr(t, err, "authentication failed for "+url+": check the repository credentials")
			wantNoSecrets(t, err, password, token)
			if !errors.Is(err, source.ErrAuthentication) {
				t.Errorf("errors.Is(%v, ErrAuthentication) = false", err)
			}
			_, err = f.Checkout(t.Context(), tt.url, head, tt.creds)
			wantErr(t, err, "authentication failed for "+url)
			wantNoSecrets(t, err, password, token)
		})
	}

	t.Run("cached objects need credentials too", func(t *testing.T) {
		// Alice's checkout puts the commit in the shared cache; a
		// caller with wrong credentials must still be refused.
		f := newFetcher(t, git.Options{})
		checkAccess(t, f, url, head, source.Credentials{Username: user, Password: password})
		_, err := f.Checkout(t.Context(), url, head, source.Credentials{Username: user, Password: "guess"})
		if !errors.Is(err, source.ErrAuthentication) {
			t.Errorf("Checkout with wrong credentials of a cached commit = %v, want an authentication error", err)
		}
	})
}

func TestHTTPSCustomCA(t *testing.T) {
	t.Parallel()
	srv, url, head := httpRepo(t, gitserver.HTTPOptions{TLS: true})
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("URL %s is not https", url)
	}

	t.Run("with the CA", func(t *testing.T) {
		checkAccess(t, newFetcher(t, git.Options{}), url, head, source.Credentials{CACert: srv.CACertPEM})
	})
	t.Run("without the CA", func(t *testing.T) {
		_, err := newFetcher(t, git.Options{}).Resolve(t.Context(), url, "main", source.Credentials{})
		wantErr(t, err, url, "certificate", "set the repository's CA certificate")
	})
	t.Run("CA that is not PEM", func(t *testing.T) {
		_, err := newFetcher(t, git.Options{}).Resolve(t.Context(), url, "main", source.Credentials{CACert: []byte("not a certificate")})
		wantErr(t, err, "CA certificate")
		if !errors.Is(err, source.ErrInvalidCredentials) {
			t.Errorf("errors.Is(%v, ErrInvalidCredentials) = false", err)
		}
	})
	t.Run("client certificate without key", func(t *testing.T) {
		_, err := newFetcher(t, git.Options{}).Resolve(t.Context(), url, "main", source.Credentials{CACert: srv.CACertPEM, TLSClientCert: srv.CACertPEM})
		wantErr(t, err, "needs both the certificate and its key")
	})
}

type sshFixture struct {
	srv  *gitserver.SSHServer
	url  string
	head string
	key  gitserver.KeyPair
}

func newSSHFixture(t *testing.T, extraKeys ...gossh.PublicKey) *sshFixture {
	t.Helper()
	key := gitserver.NewKeyPair(t)
	srv := gitserver.NewSSH(t, gitserver.SSHOptions{AuthorizedKeys: append([]gossh.PublicKey{key.PublicKey}, extraKeys...)})
	return &sshFixture{srv: srv, url: srv.SSHURL("demo"), head: srv.CreateRepo(t, "demo", fixture(t)), key: key}
}

func (s *sshFixture) creds() source.Credentials {
	return source.Credentials{SSHPrivateKey: s.key.PrivateKeyPEM, SSHKnownHosts: []byte(s.srv.KnownHostsLine() + "\n")}
}

func TestSSH(t *testing.T) {
	t.Parallel()
	s := newSSHFixture(t)
	checkAccess(t, newFetcher(t, git.Options{}), s.url, s.head, s.creds())
}

func TestSSHHostKeyRefused(t *testing.T) {
	t.Parallel()
	s := newSSHFixture(t)
	_, port, _ := strings.Cut(s.srv.Addr, ":")
	impostor := gitserver.NewKeyPair(t)

	tests := []struct {
		name       string
		knownHosts string
		want       []string
	}{
		{
			name: "no known hosts",
			want: []string{"not in the known hosts", "add the host's key", "ssh-keyscan -p " + port + " 127.0.0.1", "SHA256:"},
		},
		{
			name:       "known hosts for other hosts only",
			knownHosts: knownhosts.Line([]string{"git.example.com"}, impostor.PublicKey) + "\n",
			want:       []string{"not in the known hosts", "add the host's key"},
		},
		{
			name:       "another key for this host",
			knownHosts: knownhosts.Line([]string{knownhosts.Normalize(s.srv.Addr)}, impostor.PublicKey) + "\n",
			want:       []string{"does not match the known hosts", gossh.FingerprintSHA256(s.srv.HostKey), "intercepting"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creds := s.creds()
			creds.SSHKnownHosts = []byte(tt.knownHosts)
			f := newFetcher(t, git.Options{})
			_, err := f.Resolve(t.Context(), s.url, "main", creds)
			wantErr(t, err, append(tt.want, s.srv.Addr)...)
			if !errors.Is(err, source.ErrHostKey) {
				t.Errorf("errors.Is(%v, ErrHostKey) = false", err)
			}
			_, err = f.Checkout(t.Context(), s.url, s.head, creds)
			if !errors.Is(err, source.ErrHostKey) {
				t.Errorf("Checkout: errors.Is(%v, ErrHostKey) = false", err)
			}
		})
	}
}

func TestSSHWrongKeyRefused(t *testing.T) {
	t.Parallel()
	s := newSSHFixture(t)
	creds := s.creds()
	creds.SSHPrivateKey = gitserver.NewKeyPair(t).PrivateKeyPEM
	_, err := newFetcher(t, git.Options{}).Resolve(t.Context(), s.url, "main", creds)
	wantErr(t, err, "authentication failed for "+s.url+": check the repository credentials")
	if !errors.Is(err, source.ErrAuthentication) {
		t.Errorf("errors.Is(%v, ErrAuthentication) = false", err)
	}
}

func TestSSHEncryptedKey(t *testing.T) {
	t.Parallel()
	const passphrase = "correct horse battery staple"
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKeyWithPassphrase(priv, "encrypted test key", []byte(passphrase))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	s := newSSHFixture(t, signer.PublicKey())
	encrypted := s.creds()
	encrypted.SSHPrivateKey = pem.EncodeToMemory(block)

	t.Run("with passphrase", func(t *testing.T) {
		creds := encrypted
		creds.SSHPassphrase = passphrase
		checkAccess(t, newFetcher(t, git.Options{}), s.url, s.head, creds)
	})
	t.Run("without passphrase", func(t *testing.T) {
		_, err := newFetcher(t, git.Options{}).Resolve(t.Context(), s.url, "main", encrypted)
		wantErr(t, err, "encrypted", "set its passphrase")
		if !errors.Is(err, source.ErrInvalidCredentials) {
			t.Errorf("errors.Is(%v, ErrInvalidCredentials) = false", err)
		}
	})
	t.Run("wrong passphrase", func(t *testing.T) {
		creds := encrypted
		creds.SSHPassphrase = "wrong " + passphrase
		_, err := newFetcher(t, git.Options{}).Resolve(t.Context(), s.url, "main", creds)
		wantErr(t, err, "passphrase is wrong")
		wantNoSecrets(t, err, creds.SSHPassphrase)
	})
	t.Run("no key", func(t *testing.T) {
		creds := encrypted
		creds.SSHPrivateKey = nil
		_, err := newFetcher(t, git.Options{}).Resolve(t.Context(), s.url, "main", creds)
		wantErr(t, err, "an SSH private key is required")
	})
}
