package gitserver

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

type sshFixture struct {
	repos *Repos
	head  string
	srv   *SSHServer
	key   KeyPair
	// client uses key and trusts exactly srv's host key.
	client *Client
}

func newSSHFixture(t *testing.T) *sshFixture {
	t.Helper()
	repos, head := newRepos(t)
	key := NewKeyPair(t)
	srv := NewSSH(t, SSHOptions{Repos: repos, AuthorizedKeys: []gossh.PublicKey{key.PublicKey}})
	return &sshFixture{
		repos:  repos,
		head:   head,
		srv:    srv,
		key:    key,
		client: NewClient(t).WithSSH(key.WriteFile(t), srv.KnownHostsFile(t)),
	}
}

// dial connects with x/crypto/ssh as the authorized key, trusting the host
// key through a known_hosts file.
func (f *sshFixture) dial(t *testing.T) *gossh.Client {
	t.Helper()
	hostKeys, err := knownhosts.New(f.srv.KnownHostsFile(t))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := gossh.Dial("tcp", f.srv.Addr, &gossh.ClientConfig{
		User:            "git",
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(f.key.Signer)},
		HostKeyCallback: hostKeys,
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() }) // the test is over; its sessions checked what they needed
	return conn
}

func TestSSHClone(t *testing.T) {
	t.Parallel()
	f := newSSHFixture(t)
	url := f.srv.SSHURL("demo")
	if want := "ssh://git@" + f.srv.Addr + "/demo.git"; url != want {
		t.Fatalf("SSHURL = %s, want %s", url, want)
	}
	checkClone(t, f.client, f.client.Clone(t, url), f.head)
}

func TestSSHWrongKeyRefused(t *testing.T) {
	t.Parallel()
	f := newSSHFixture(t)
	other := NewKeyPair(t)
	c := NewClient(t).WithSSH(other.WriteFile(t), f.srv.KnownHostsFile(t))
	_, err := c.Run("", "clone", f.srv.SSHURL("demo"), t.TempDir()+"/c")
	wantErr(t, err, "Permission denied (publickey)")
}

func TestSSHUnknownHostKeyRefused(t *testing.T) {
	t.Parallel()
	f := newSSHFixture(t)
	keyFile := f.key.WriteFile(t)
	impostor := NewKeyPair(t) // any key will do as a wrong host key

	tests := []struct {
		name       string
		knownHosts string
		wantErr    []string
	}{
		{
			name:    "empty known_hosts",
			wantErr: []string{"No ED25519 host key is known", "Host key verification failed"},
		},
		{
			name:       "known_hosts with another key",
			knownHosts: knownhosts.Line([]string{knownhosts.Normalize(f.srv.Addr)}, impostor.PublicKey) + "\n",
			wantErr:    []string{"REMOTE HOST IDENTIFICATION HAS CHANGED", "Host key verification failed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kh := filepath.Join(t.TempDir(), "known_hosts")
			if err := os.WriteFile(kh, []byte(tt.knownHosts), 0o600); err != nil {
				t.Fatal(err)
			}
			c := NewClient(t).WithSSH(keyFile, kh)
			_, err := c.Run("", "clone", f.srv.SSHURL("demo"), t.TempDir()+"/c")
			wantErr(t, err, tt.wantErr...)
		})
	}
}

func TestSSHPush(t *testing.T) {
	t.Parallel()
	f := newSSHFixture(t)
	dir := f.client.Clone(t, f.srv.SSHURL("demo"))
	sha := f.client.CommitFiles(t, dir, "add app", map[string]string{"apps/web.yaml": "kind: Deployment\n"})
	f.client.Push(t, dir, "HEAD:refs/heads/main", "HEAD:refs/heads/copy")
	for _, branch := range []string{"main", "copy"} {
		if got := f.repos.Head(t, "demo", branch); got != sha {
			t.Errorf("server %s = %s, want pushed commit %s", branch, got, sha)
		}
	}
}

func TestSSHRefusesPathOutsideRoot(t *testing.T) {
	t.Parallel()
	f := newSSHFixture(t)
	// A real repository right next to the root, so a lax server would
	// happily serve it.
	outside := filepath.Join(filepath.Dir(f.repos.Root()), "outside.git")
	f.client.MustRun(t, "", "init", "--bare", outside)

	url := "ssh://git@" + f.srv.Addr + "/../outside.git"
	_, err := f.client.Run("", "clone", url, t.TempDir()+"/c")
	wantErr(t, err, "leaves the server root")
}

// TestSSHRefusesCommands drives the server with x/crypto/ssh so the exact
// command line, exit status and stderr can be checked.
func TestSSHRefusesCommands(t *testing.T) {
	t.Parallel()
	f := newSSHFixture(t)
	conn := f.dial(t)

	tests := []struct {
		command string
		stderr  string
	}{
		{"ls /", `command "ls" is not allowed`},
		{"sh -c 'git-upload-pack demo.git'", `command "sh" is not allowed`},
		{"git-upload-archive '/demo.git'", `command "git-upload-archive" is not allowed`},
		{"git upload-pack '/demo.git'", `command "git" is not allowed`},
		{"git-upload-pack", "missing repository path"},
		{"git-upload-pack '/demo.git'; touch /tmp/pwned", "unexpected characters after quoted repository path"},
		{"git-upload-pack /demo.git;id", `unexpected character ';'`},
		{"git-receive-pack '../outside.git'", "leaves the server root"},
		{"git-receive-pack '/demo.git/../../outside.git'", "leaves the server root"},
		{"git-upload-pack '/missing.git'", `repository "/missing.git" not found`},
		{"git-upload-pack '/demo.git", "unterminated quote"},
	}
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			sess, err := conn.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			var stdout, stderr bytes.Buffer
			sess.Stdout = &stdout
			sess.Stderr = &stderr
			err = sess.Run(tt.command)
			var exitErr *gossh.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitStatus() != exitRefused {
				t.Errorf("Run error = %v, want exit status %d", err, exitRefused)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr = %q, want it to mention %q", stderr.String(), tt.stderr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}

	t.Run("shell", func(t *testing.T) {
		sess, err := conn.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		var stderr bytes.Buffer
		sess.Stderr = &stderr
		if err := sess.Shell(); err != nil {
			t.Fatal(err)
		}
		err = sess.Wait()
		var exitErr *gossh.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitStatus() != exitRefused {
			t.Errorf("Wait error = %v, want exit status %d", err, exitRefused)
		}
		if !strings.Contains(stderr.String(), "interactive shells are not supported") {
			t.Errorf("stderr = %q, want a refusal", stderr.String())
		}
	})
}

func TestSSHGoClient(t *testing.T) {
	t.Parallel()
	f := newSSHFixture(t)

	t.Run("trusted host key", func(t *testing.T) {
		sess, err := f.dial(t).NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		// upload-pack advertises its refs and then waits for wants; closing
		// stdin at once ends the exchange cleanly.
		sess.Stdin = strings.NewReader("0000")
		out, err := sess.Output("git-upload-pack '/demo.git'")
		if err != nil {
			t.Fatalf("git-upload-pack: %v", err)
		}
		if want := f.head + " refs/heads/main"; !bytes.Contains(out, []byte(want)) {
			t.Errorf("advertisement does not list %q:\n%s", want, out)
		}
	})

	t.Run("git exits while stdin stays open", func(t *testing.T) {
		sess, err := f.dial(t).NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		stdin, err := sess.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		defer stdin.Close() //nolint:errcheck // closed with the session already, or the test has failed
		sess.Stdout = io.Discard
		if err := sess.Start("git-upload-pack '/demo.git'"); err != nil {
			t.Fatal(err)
		}
		// A flush instead of wants makes upload-pack exit; the session must
		// end then, not when the client finally closes stdin.
		if _, err := io.WriteString(stdin, "0000"); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- sess.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Wait = %v, want exit status 0", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("session still open 30s after git-upload-pack should have exited")
		}
	})

	impostor := NewKeyPair(t)
	tests := []struct {
		name       string
		knownHosts string
		// wantKnown is whether knownhosts knew another key for the host.
		wantKnown bool
	}{
		{name: "empty known_hosts"},
		{
			name:       "known_hosts with another key",
			knownHosts: knownhosts.Line([]string{knownhosts.Normalize(f.srv.Addr)}, impostor.PublicKey) + "\n",
			wantKnown:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kh := filepath.Join(t.TempDir(), "known_hosts")
			if err := os.WriteFile(kh, []byte(tt.knownHosts), 0o600); err != nil {
				t.Fatal(err)
			}
			hostKeys, err := knownhosts.New(kh)
			if err != nil {
				t.Fatal(err)
			}
			conn, err := gossh.Dial("tcp", f.srv.Addr, &gossh.ClientConfig{
				User:            "git",
				Auth:            []gossh.AuthMethod{gossh.PublicKeys(f.key.Signer)},
				HostKeyCallback: hostKeys,
			})
			if err == nil {
				_ = conn.Close() // the test fails anyway
				t.Fatal("dial succeeded, want the host key refused")
			}
			var keyErr *knownhosts.KeyError
			if !errors.As(err, &keyErr) {
				t.Fatalf("dial error = %v, want a knownhosts.KeyError", err)
			}
			if known := len(keyErr.Want) > 0; known != tt.wantKnown {
				t.Errorf("KeyError.Want = %v, want known = %v", keyErr.Want, tt.wantKnown)
			}
		})
	}

	t.Run("unauthorized key", func(t *testing.T) {
		_, err := gossh.Dial("tcp", f.srv.Addr, &gossh.ClientConfig{
			User:            "git",
			Auth:            []gossh.AuthMethod{gossh.PublicKeys(impostor.Signer)},
			HostKeyCallback: gossh.FixedHostKey(f.srv.HostKey),
		})
		wantErr(t, err, "unable to authenticate")
	})
}

// TestSSHClientGoesAway checks that a client abandoning a fetch mid-way ends
// the server-side git process and leaves the server usable.
func TestSSHClientGoesAway(t *testing.T) {
	t.Parallel()
	f := newSSHFixture(t)

	for _, tt := range []struct {
		name  string
		leave func(sess *gossh.Session, conn *gossh.Client) error
	}{
		{"closes the channel", func(sess *gossh.Session, _ *gossh.Client) error { return sess.Close() }},
		{"drops the connection", func(_ *gossh.Session, conn *gossh.Client) error { return conn.Close() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn := f.dial(t)
			sess, err := conn.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := sess.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			// Held open: with no Stdin, x/crypto would send EOF at once and
			// git would finish on its own instead of waiting for us.
			stdin, err := sess.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close() //nolint:errcheck // closed with the session already, or the test has failed
			if err := sess.Start("git-upload-pack '/demo.git'"); err != nil {
				t.Fatal(err)
			}
			// The first pkt-line proves git is running and now waits for
			// the client, which leaves instead of answering.
			var pktLen [4]byte
			if _, err := io.ReadFull(stdout, pktLen[:]); err != nil {
				t.Fatalf("read advertisement: %v", err)
			}
			if err := tt.leave(sess, conn); err != nil {
				t.Fatal(err)
			}
			waitSessions(t, f.srv)
		})
	}

	checkClone(t, f.client, f.client.Clone(t, f.srv.SSHURL("demo")), f.head)
}
