package gitserver

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gliderssh "github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// exitRefused is the exit status for commands the server will not run; it
// matches what git itself uses for fatal errors.
const exitRefused = 128

// SSHOptions configures NewSSH.
type SSHOptions struct {
	// AuthorizedKeys may log in, under any user name. With none, every
	// client is refused.
	AuthorizedKeys []gossh.PublicKey
	// Repos is the root to serve; nil creates a new one.
	Repos *Repos
}

// SSHServer serves git-upload-pack and git-receive-pack over SSH.
type SSHServer struct {
	*Repos
	// Addr is the listening address, 127.0.0.1:PORT.
	Addr string
	// HostKey is the server's generated ed25519 host key.
	HostKey gossh.PublicKey

	srv        *gliderssh.Server
	authorized [][]byte

	// mu guards closed and active; idle is signalled when active drops to
	// zero. A WaitGroup would not do: tests wait for idleness repeatedly
	// while new sessions keep arriving.
	mu     sync.Mutex
	idle   *sync.Cond
	closed bool
	active int
}

// NewSSH starts an SSH Git server on a loopback port; it is shut down when
// the test ends.
func NewSSH(tb testing.TB, opts SSHOptions) *SSHServer {
	tb.Helper()
	repos := opts.Repos
	if repos == nil {
		repos = NewRepos(tb)
	}
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatalf("gitserver: generate host key: %v", err)
	}
	hostSigner, err := gossh.NewSignerFromKey(hostPriv)
	if err != nil {
		tb.Fatalf("gitserver: host key: %v", err)
	}
	s := &SSHServer{Repos: repos, HostKey: hostSigner.PublicKey()}
	s.idle = sync.NewCond(&s.mu)
	for _, k := range opts.AuthorizedKeys {
		s.authorized = append(s.authorized, k.Marshal())
	}
	s.srv = &gliderssh.Server{
		Handler:          s.handle,
		HostSigners:      []gliderssh.Signer{hostSigner},
		PublicKeyHandler: s.allowKey,
		// Git never asks for a terminal; refusing one keeps the
		// channel a plain byte stream.
		PtyCallback: func(gliderssh.Context, gliderssh.Pty) bool { return false },
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("gitserver: listen: %v", err)
	}
	s.Addr = l.Addr().String()
	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(l) }()
	tb.Cleanup(func() {
		// Closing the connections cancels their contexts, which kills any
		// git process still running; then wait for the handlers so none
		// touches the repos while they are removed.
		if err := s.srv.Close(); err != nil {
			tb.Errorf("gitserver: close ssh server: %v", err)
		}
		// Close may run before Serve has registered the listener (a test
		// that fails right after NewSSH); closing it ourselves makes Serve
		// return in every case instead of accepting forever.
		_ = l.Close()
		if err := <-served; err != nil && !errors.Is(err, gliderssh.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			tb.Errorf("gitserver: ssh server: %v", err)
		}
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.waitIdle()
	})
	return s
}

// SSHURL returns the clone URL of repository name.
func (s *SSHServer) SSHURL(name string) string {
	return "ssh://git@" + s.Addr + "/" + strings.TrimSuffix(name, ".git") + ".git"
}

// KnownHostsLine returns the known_hosts entry for the server, as
// "[127.0.0.1]:PORT ssh-ed25519 AAAA...".
func (s *SSHServer) KnownHostsLine() string {
	return knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, s.HostKey)
}

// KnownHostsFile writes a known_hosts file holding only this server and
// returns its path.
func (s *SSHServer) KnownHostsFile(tb testing.TB) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "known_hosts")
	if err := os.WriteFile(p, []byte(s.KnownHostsLine()+"\n"), 0o600); err != nil {
		tb.Fatalf("gitserver: %v", err)
	}
	return p
}

func (s *SSHServer) allowKey(_ gliderssh.Context, key gliderssh.PublicKey) bool {
	got := key.Marshal()
	ok := false
	for _, want := range s.authorized {
		// Compare every key, so timing does not reveal a match position.
		if subtle.ConstantTimeCompare(want, got) == 1 {
			ok = true
		}
	}
	return ok
}

func (s *SSHServer) handle(sess gliderssh.Session) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = sess.Exit(exitRefused)
		return
	}
	s.active++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.active--; s.active == 0 {
			s.idle.Broadcast()
		}
		s.mu.Unlock()
	}()
	_ = sess.Exit(s.serve(sess))
}

// waitIdle blocks until no session handler is running.
func (s *SSHServer) waitIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.active > 0 {
		s.idle.Wait()
	}
}

// serve runs the requested git service and returns the exit status to
// report to the client.
func (s *SSHServer) serve(sess gliderssh.Session) int {
	refuse := func(err error) int {
		_, _ = fmt.Fprintf(sess.Stderr(), "gitserver: %v\n", err) // the exit status tells the refusal too
		return exitRefused
	}
	service, path, err := parseGitCommand(sess.RawCommand())
	if err != nil {
		return refuse(err)
	}
	dir, err := s.resolve(path)
	if err != nil {
		return refuse(err)
	}
	cmd := exec.CommandContext(sess.Context(), "git", service, dir)
	cmd.Dir = s.scratch
	cmd.Env = gitEnv(s.home, protocolEnv(sess.Environ())...)
	cmd.Stdout = sess
	cmd.Stderr = sess.Stderr()
	// Bounds the wait for output copying once the process is gone, in case
	// the client stopped reading.
	cmd.WaitDelay = 10 * time.Second
	// A pipe we feed ourselves, rather than cmd.Stdin = sess, because Wait
	// would otherwise block until the client closes its side even after git
	// has exited.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return refuse(err)
	}
	if err := cmd.Start(); err != nil {
		return refuse(fmt.Errorf("start git %s: %w", service, err))
	}
	go func() {
		_, _ = io.Copy(stdin, sess)
		_ = stdin.Close()
	}()
	err = cmd.Wait()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exitErr) && exitErr.ExitCode() > 0:
		return exitErr.ExitCode()
	default:
		// Killed (the client went away) or I/O failed; nobody may be
		// listening any more, but report it in case someone is.
		return refuse(fmt.Errorf("git %s: %w", service, err))
	}
}

// protocolEnv passes on GIT_PROTOCOL, which OpenSSH clients send via SendEnv
// to negotiate protocol v2; every other variable from the client is ignored.
func protocolEnv(environ []string) []string {
	var env []string
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "GIT_PROTOCOL="); ok && validProtocol(v) {
			env = append(env, kv)
		}
	}
	return env
}

func validProtocol(v string) bool {
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '=' || c == ':' || c == '.' || c == '-') {
			return false
		}
	}
	return v != ""
}

// parseGitCommand accepts exactly `git-upload-pack PATH` and
// `git-receive-pack PATH`, with PATH single-quoted the way git quotes it or
// a plain word, and returns the git subcommand and the path.
func parseGitCommand(raw string) (service, path string, err error) {
	verb, arg, _ := strings.Cut(raw, " ")
	switch verb {
	case "git-upload-pack":
		service = "upload-pack"
	case "git-receive-pack":
		service = "receive-pack"
	case "":
		return "", "", errors.New("interactive shells are not supported; only git-upload-pack and git-receive-pack are served")
	default:
		return "", "", fmt.Errorf("command %q is not allowed; only git-upload-pack and git-receive-pack are served", verb)
	}
	path, err = unquoteArg(arg)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", verb, err)
	}
	return service, path, nil
}

// unquoteArg reverses git's sq_quote: 'a'\”b' is a'b, and ! is quoted as
// '\!'. Unquoted words are limited to characters that need no quoting, so
// nothing a shell would interpret gets through.
func unquoteArg(s string) (string, error) {
	if s == "" {
		return "", errors.New("missing repository path")
	}
	if s[0] != '\'' {
		for _, c := range s {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/._-~", c)) {
				return "", fmt.Errorf("unexpected character %q in repository path", c)
			}
		}
		return s, nil
	}
	var b strings.Builder
	i := 1
	for {
		j := strings.IndexByte(s[i:], '\'')
		if j < 0 {
			return "", errors.New("unterminated quote in repository path")
		}
		b.WriteString(s[i : i+j])
		i += j + 1
		if i == len(s) {
			break
		}
		if i+2 < len(s) && s[i] == '\\' && (s[i+1] == '\'' || s[i+1] == '!') && s[i+2] == '\'' {
			b.WriteByte(s[i+1])
			i += 3
			continue
		}
		return "", errors.New("unexpected characters after quoted repository path")
	}
	out := b.String()
	if strings.ContainsFunc(out, func(c rune) bool { return c < ' ' || c == 0x7f }) {
		return "", errors.New("control character in repository path")
	}
	return out, nil
}

// KeyPair is an ed25519 SSH client key.
type KeyPair struct {
	// PrivateKeyPEM is the unencrypted private key in OpenSSH format, as
	// ssh -i and most Git libraries read it.
	PrivateKeyPEM []byte
	Signer        gossh.Signer
	PublicKey     gossh.PublicKey
	// AuthorizedKey is the public key as an authorized_keys line.
	AuthorizedKey []byte
}

// NewKeyPair generates a client key pair.
func NewKeyPair(tb testing.TB) KeyPair {
	tb.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatalf("gitserver: generate key: %v", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "gitserver test key")
	if err != nil {
		tb.Fatalf("gitserver: marshal key: %v", err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		tb.Fatalf("gitserver: signer: %v", err)
	}
	return KeyPair{
		PrivateKeyPEM: pem.EncodeToMemory(block),
		Signer:        signer,
		PublicKey:     signer.PublicKey(),
		AuthorizedKey: gossh.MarshalAuthorizedKey(signer.PublicKey()),
	}
}

// WriteFile writes the private key with mode 0600, which ssh insists on, and
// returns its path.
func (k KeyPair) WriteFile(tb testing.TB) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "id_ed25519")
	if err := os.WriteFile(p, k.PrivateKeyPEM, 0o600); err != nil {
		tb.Fatalf("gitserver: %v", err)
	}
	return p
}

// SSHCommand returns a GIT_SSH_COMMAND that uses only keyFile and trusts only
// the hosts in knownHostsFile, ignoring ~/.ssh, ssh_config, agents and
// prompts.
func SSHCommand(keyFile, knownHostsFile string) string {
	return strings.Join([]string{
		"ssh", "-F", "/dev/null",
		"-i", shellQuote(keyFile),
		"-o", "IdentitiesOnly=yes",
		"-o", "IdentityAgent=none",
		"-o", "UserKnownHostsFile=" + shellQuote(knownHostsFile),
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes",
	}, " ")
}

// shellQuote quotes s for sh, which git uses to run GIT_SSH_COMMAND.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
