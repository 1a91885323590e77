package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"soll.dev/internal/apiclient"
)

// loginFlags are the flags of soll login.
type loginFlags struct {
	name, username string
	passwordStdin  bool
	sso, noBrowser bool
	ssoTimeout     time.Duration
}

func newLoginCommand(g *globals) *cobra.Command {
	var f loginFlags
	cmd := &cobra.Command{
		Use:   "login SERVER",
		Short: "Log in to a soll server and save it as a context",
		Long: "Log in to a soll server with a local account's password, or with single sign-on (--sso), " +
			"check the session, and save server and token as a context (named after the server's host unless --name), " +
			"which becomes the current one.\n" +
			"SERVER is soll's URL; without a scheme, https:// (http:// with --plaintext).",
		Example: "  soll login soll.example.com --username admin\n" +
			"  echo \"$PASSWORD\" | soll login https://soll.example.com --username ci --password-stdin\n" +
			"  soll login soll.example.com --sso",
		Args: exactlyArgs("SERVER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.login(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "name of the context to save (default: the server's host)")
	fl.StringVar(&f.username, "username", "", "local account to log in as (asked on a terminal when not given)")
	fl.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password from standard input instead of asking on the terminal")
	fl.BoolVar(&f.sso, "sso", false, "log in with single sign-on in a browser")
	fl.BoolVar(&f.noBrowser, "no-browser", false, "with --sso: print the login URL instead of opening a browser")
	fl.DurationVar(&f.ssoTimeout, "sso-timeout", 5*time.Minute, "with --sso: how long to wait for the browser to finish")
	return cmd
}

func (g *globals) login(cmd *cobra.Command, serverArg string, f loginFlags) error {
	switch {
	case f.sso && (f.username != "" || f.passwordStdin):
		return errors.New("--sso logs in through the browser: drop --username and --password-stdin")
	case f.noBrowser && !f.sso:
		return errors.New("--no-browser goes with --sso")
	}
	server, err := apiclient.ParseServer(serverArg, g.plaintext)
	if err != nil {
		return err
	}
	name := f.name
	if name == "" {
		u, _ := url.Parse(server)
		name = u.Host
	}
	cfg, path, err := g.loadConfig(cmd)
	if err != nil {
		return err
	}
	old := cfg.context(name)
	if old != nil && old.Server != server && f.name == "" {
		return fmt.Errorf("context %s already points at %s: choose another name with --name", name, old.Server)
	}
	c, err := apiclient.New(apiclient.Options{Server: server, InsecureSkipTLSVerify: g.insecureSkipTLSVerify, UserAgent: userAgent()})
	if err != nil {
		return err
	}
	var token string
	if f.sso {
		token, err = g.ssoLogin(cmd, c, f)
	} else {
		token, err = g.passwordLogin(cmd, c, f)
	}
	if err != nil {
		return err
	}
	c = c.WithToken(token)
	sess, err := c.Session(cmd.Context())
	if err != nil {
		return fmt.Errorf("check the new session at %s: %w", server, err)
	}
	if old != nil && old.Token != "" && old.Server == server {
		// The previous session of this context is replaced: end it, so
		// that no forgotten token stays valid. Best effort: it may have
		// expired already.
		_ = c.WithToken(old.Token).Logout(cmd.Context())
	}
	cfg.set(Context{Name: name, Server: server, User: sess.Subject, Token: token, InsecureSkipTLSVerify: g.insecureSkipTLSVerify})
	cfg.CurrentContext = name
	if err := cfg.save(path); err != nil {
		return err
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "logged in to %s as %s; context %s saved in %s and made current\n", server, sess.Subject, name, path)
	return err
}

// passwordLogin logs in with a local account's password.
func (g *globals) passwordLogin(cmd *cobra.Command, c *apiclient.Client, f loginFlags) (string, error) {
	username := f.username
	var password string
	var err error
	if f.passwordStdin {
		if username == "" {
			return "", errors.New("--password-stdin needs --username")
		}
		if password, err = readPasswordStdin(g.stdin); err != nil {
			return "", err
		}
	} else {
		fd, ok := terminalFD(g.stdin)
		if !ok {
			return "", errors.New("no terminal to ask for the password: pass --username and --password-stdin, or --sso")
		}
		if username == "" {
			if username, err = prompt(cmd, g.stdin, "Username: "); err != nil {
				return "", err
			}
		}
		if password, err = askHidden(cmd, fd, "Password: "); err != nil {
			return "", err
		}
	}
	if username == "" {
		return "", errors.New("the username is empty: pass --username")
	}
	res, err := c.Login(cmd.Context(), username, password)
	var apiErr *apiclient.Error
	switch {
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized:
		return "", fmt.Errorf("login refused for %s at %s: wrong username or password (or the account is disabled)", username, c.Server())
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusTooManyRequests:
		return "", fmt.Errorf("login refused for %s at %s: too many failed logins: retry %s", username, c.Server(), retryWhen(apiErr))
	case err != nil:
		return "", fmt.Errorf("log in as %s: %w", username, err)
	}
	return res.Token, nil
}

// readPasswordStdin reads the password from stdin: all of it, without
// the final line break.
func readPasswordStdin(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	p := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if p == "" {
		return "", errors.New("--password-stdin: standard input is empty")
	}
	return p, nil
}

// terminalFD returns the file descriptor of r when r is a terminal.
func terminalFD(r io.Reader) (int, bool) {
	f, ok := r.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

func prompt(cmd *cobra.Command, in io.Reader, question string) (string, error) {
	cmd.PrintErr(question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read the answer to %q: %w", strings.TrimSpace(question), err)
	}
	return strings.TrimSpace(line), nil
}

// ssoCallbackPage is what the browser shows once the CLI has the token.
const ssoCallbackPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>soll: logged in</title></head>
<body style="font-family: sans-serif; margin: 3em">
<h1>Logged in to soll</h1>
<p>You can close this tab and return to the terminal.</p>
</body></html>
`

// ssoLogin runs a single sign-on: a one-shot HTTP server on the loopback
// interface receives the session token from soll's SSO callback, which
// the browser is redirected to once the provider has logged the user in.
// A random state in the callback URL makes the server ignore any request
// that did not come through this login.
func (g *globals) ssoLogin(cmd *cobra.Command, c *apiclient.Client, f loginFlags) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen for the SSO callback: %w", err)
	}
	state := randomHex(16)
	returnURL := fmt.Sprintf("http://%s/callback?state=%s", l.Addr(), state)
	tokens := make(chan string, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
			http.Error(w, "this is not the login soll is waiting for: start again with soll login --sso", http.StatusBadRequest)
			return
		}
		token := q.Get("token")
		if token == "" {
			http.Error(w, "soll's answer carries no token: start again with soll login --sso", http.StatusBadRequest)
			return
		}
		select {
		case tokens <- token:
		default: // a second callback: the first one wins
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, ssoCallbackPage)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	loginURL := c.SSOLoginURL(returnURL)
	if f.noBrowser {
		cmd.PrintErrf("Open this URL in a browser on this machine to log in:\n\n  %s\n\n", loginURL)
	} else if err := g.openBrowser(loginURL); err != nil {
		cmd.PrintErrf("Could not open a browser (%v); open this URL on this machine to log in:\n\n  %s\n\n", err, loginURL)
	} else {
		cmd.PrintErrf("Opened a browser to log in; if none appeared, open this URL on this machine:\n\n  %s\n\n", loginURL)
	}
	cmd.PrintErrln("Waiting for the login to finish (Ctrl-C to give up)...")
	timer := time.NewTimer(f.ssoTimeout)
	defer timer.Stop()
	select {
	case token := <-tokens:
		return token, nil
	case <-cmd.Context().Done():
		return "", fmt.Errorf("SSO login to %s interrupted", c.Server())
	case <-timer.C:
		return "", fmt.Errorf("SSO login to %s: no answer from the browser within %s: if the login failed there, the page says why; try again with soll login --sso", c.Server(), f.ssoTimeout)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// openBrowser opens url in the user's browser: $BROWSER (the first of a
// colon-separated list), else the platform's opener. It does not wait for
// the browser.
func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch b, _, _ := strings.Cut(os.Getenv("BROWSER"), ":"); {
	case b != "":
		cmd = exec.Command(b, url)
	case runtime.GOOS == "darwin":
		cmd = exec.Command("open", url)
	case runtime.GOOS == "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

func newLogoutCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:               "logout [CONTEXT]",
		Short:             "End the session of a context (the current one by default) on its server and forget its token",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: g.completeContext,
		RunE: g.withConfig(func(cmd *cobra.Command, args []string, cfg *Config, path string) error {
			name := cfg.CurrentContext
			if len(args) == 1 {
				name = args[0]
			}
			if name == "" {
				return fmt.Errorf("no current context to log out of: name one (known contexts: %s)", listOrNone(cfg.names()))
			}
			ctx, err := cfg.find(name, path)
			if err != nil {
				return err
			}
			if ctx.Token == "" {
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "context %s is already logged out\n", name)
				return err
			}
			c, err := apiclient.New(apiclient.Options{Server: ctx.Server, Token: ctx.Token, InsecureSkipTLSVerify: ctx.InsecureSkipTLSVerify, UserAgent: userAgent()})
			if err != nil {
				return err
			}
			revokeErr := c.Logout(cmd.Context())
			if apiclient.IsUnauthorized(revokeErr) {
				revokeErr = nil // expired or revoked already
			}
			ctx.Token = ""
			if err := cfg.save(path); err != nil {
				return err
			}
			if revokeErr != nil {
				return fmt.Errorf("the token of context %s is removed from %s, but %s could not revoke it, so it stays valid until it expires: %w", name, path, ctx.Server, revokeErr)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "logged out of %s (context %s): log in again with soll login %s --name %s\n", ctx.Server, name, ctx.Server, name)
			return err
		}),
	}
}
