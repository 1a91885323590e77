package cli

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestLoginFlagErrors(t *testing.T) {
	writeConfig(t, &Config{})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"login", "soll.example.com", "--sso", "--username", "admin"}, "drop --username and --password-stdin"},
		{[]string{"login", "soll.example.com", "--no-browser"}, "--no-browser goes with --sso"},
		{[]string{"login", "soll.example.com", "--password-stdin"}, "--password-stdin needs --username"},
		{[]string{"login", "soll.example.com", "--username", "admin"}, "no terminal to ask for the password: pass --username and --password-stdin, or --sso"},
		{[]string{"login", "ftp://soll.example.com"}, "the scheme must be https://"},
		{[]string{"login", "https://soll.example.com", "--plaintext"}, "drop one of them"},
		{[]string{"login", "https://admin:pw@soll.example.com"}, "log in with soll login instead"},
		{[]string{"login"}, "takes 1 argument(s), SERVER"},
	} {
		r := soll(t, withStdin("pw\n"), tc.args...)
		wantError(t, r.err, tc.want)
	}
}

func TestLoginUnreachable(t *testing.T) {
	writeConfig(t, &Config{})
	r := soll(t, withStdin("pw\n"), "login", "http://127.0.0.1:1", "--username", "admin", "--password-stdin")
	wantError(t, r.err, "cannot reach soll at http://127.0.0.1:1: ")
	wantError(t, r.err, "check the address and that soll is running there")
}

// TestSSOLoginNoBrowser follows the flow of --no-browser: the CLI prints
// the URL, a browser elsewhere ends at the CLI's callback with a token,
// and the CLI checks the token with the server (here unreachable, which
// the error names).
func TestSSOLoginNoBrowser(t *testing.T) {
	writeConfig(t, &Config{})
	g := withStdin("")
	g.openBrowser = func(string) error { return errors.New("the browser must not be opened with --no-browser") }
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), g, []string{"login", "http://127.0.0.1:1", "--sso", "--no-browser"}, io.Discard, pw)
		pw.Close()
	}()
	var loginURL string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "http://127.0.0.1:1/auth/login?return_url=") {
			loginURL = line
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	u, err := url.Parse(loginURL)
	if err != nil || loginURL == "" {
		t.Fatalf("no login URL printed (%v)", err)
	}
	ret, err := url.Parse(u.Query().Get("return_url"))
	if err != nil || ret.Hostname() != "127.0.0.1" || ret.Path != "/callback" || ret.Query().Get("state") == "" {
		t.Fatalf("return_url %v (%v): want the CLI's loopback callback with a state", ret, err)
	}
	q := ret.Query()
	q.Set("token", "session-token")
	ret.RawQuery = q.Encode()
	resp, err := http.Get(ret.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "You can close this tab") {
		t.Errorf("callback: %d %s", resp.StatusCode, body)
	}
	if refer := resp.Header.Get("Referrer-Policy"); refer != "no-referrer" {
		t.Errorf("callback page Referrer-Policy %q: the token in its URL could leak", refer)
	}
	err = <-done
	wantError(t, err, "check the new session at http://127.0.0.1:1: cannot reach soll at http://127.0.0.1:1")
}

func TestSSOLoginTimesOut(t *testing.T) {
	writeConfig(t, &Config{})
	g := withStdin("")
	g.openBrowser = func(string) error { return errors.New("no display") }
	start := time.Now()
	r := soll(t, g, "login", "http://127.0.0.1:1", "--sso", "--sso-timeout", "200ms")
	wantError(t, r.err, "SSO login to http://127.0.0.1:1: no answer from the browser within 200ms")
	wantContains(t, "stderr", r.errOut, "Could not open a browser (no display); open this URL on this machine to log in:",
		"http://127.0.0.1:1/auth/login?return_url=http%3A%2F%2F127.0.0.1%3A")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the login waited %s, far beyond --sso-timeout", d)
	}
}

func TestReadPasswordStdin(t *testing.T) {
	for in, want := range map[string]string{"pw\n": "pw", "pw\r\n": "pw", "pw": "pw", " spaced pw \n": " spaced pw "} {
		if got, err := readPasswordStdin(strings.NewReader(in)); err != nil || got != want {
			t.Errorf("readPasswordStdin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := readPasswordStdin(strings.NewReader("\n")); err == nil {
		t.Error("an empty password was accepted")
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("boom"), 1},
		{&ExitError{Code: 1}, 1},
		{&ExitError{Code: 2, Err: errors.New("boom")}, 2},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	if msg := (&ExitError{Code: 1}).Error(); msg != "" {
		t.Errorf("an ExitError without error says %q, want nothing", msg)
	}
}
