package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"soll.dev/internal/serve"
	"soll.dev/internal/serve/servetest"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/oidcprovider"
)

// browsed is what the test's browser saw at the end of a login.
type browsed struct {
	status int
	body   string
	err    error
}

// browser is an opener for soll login --sso that plays a person's
// browser: an HTTP client with a cookie jar that follows every redirect
// (soll, the provider's approval, soll's callback, the CLI's loopback
// callback). Before the real flow it sends the CLI a callback with a
// forged state, which must be refused.
func browser(seen chan<- browsed, forged chan<- int) func(string) error {
	return func(loginURL string) error {
		jar, err := cookiejar.New(nil)
		if err != nil {
			return err
		}
		c := &http.Client{Jar: jar}
		go func() {
			u, err := url.Parse(loginURL)
			if err != nil {
				seen <- browsed{err: err}
				return
			}
			ret, err := url.Parse(u.Query().Get("return_url"))
			if err != nil {
				seen <- browsed{err: err}
				return
			}
			q := ret.Query()
			q.Set("state", "forged")
			q.Set("token", "a-token-from-elsewhere")
			ret.RawQuery = q.Encode()
			resp, err := c.Get(ret.String())
			if err != nil {
				seen <- browsed{err: err}
				return
			}
			resp.Body.Close()
			forged <- resp.StatusCode

			resp, err = c.Get(loginURL)
			if err != nil {
				seen <- browsed{err: err}
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			seen <- browsed{status: resp.StatusCode, body: string(body)}
		}()
		return nil
	}
}

// TestSSOLoginSavesContext logs in with single sign-on against an OpenID
// provider: soll's SSO handlers send the browser through the provider and
// back to the CLI's loopback callback with a session token, which the CLI
// checks with the server and saves.
func TestSSOLoginSavesContext(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	t.Setenv(ConfigEnv, filepath.Join(t.TempDir(), "config"))

	// soll's callback URL is registered with the provider before soll
	// starts, so soll listens on a port chosen in advance.
	addr := freeAddr(t)
	callback := "http://" + addr + "/auth/callback"
	provider := oidcprovider.New(t, callback)
	if err := env.Client.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "soll-config", Namespace: ns},
		Data: map[string]string{serve.OIDCKey: "issuer: " + provider.URL + "\nclientID: " + oidcprovider.ClientID +
			"\nredirectURL: " + callback + "\n"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: serve.WebhookSecretName, Namespace: ns},
		StringData: map[string]string{"oidc.clientSecret": oidcprovider.ClientSecret},
	}); err != nil {
		t.Fatal(err)
	}
	base := servetest.Start(t, env, ns, servetest.Options{Addr: addr, InsecureCookies: true})

	seen, forged := make(chan browsed, 1), make(chan int, 1)
	g := newGlobals(strings.NewReader(""))
	g.openBrowser = browser(seen, forged)
	r := soll(t, g, "login", base, "--sso", "--name", "sso")
	if r.err != nil {
		t.Fatalf("login --sso: %v", r.err)
	}
	if code := <-forged; code != http.StatusBadRequest {
		t.Errorf("a callback with a forged state: status %d, want 400", code)
	}
	b := <-seen
	if b.err != nil || b.status != http.StatusOK || !strings.Contains(b.body, "You can close this tab") {
		t.Errorf("the browser ended on status %d, %v:\n%s", b.status, b.err, b.body)
	}
	wantContains(t, "login --sso", r.out, "logged in to "+base+" as "+oidcprovider.UserEmail+"; context sso saved")
	cfg, _, err := g.loadConfig(newRootCommand(g))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.current()
	if c == nil || c.Name != "sso" || c.User != oidcprovider.UserEmail || c.Token == "" || c.Token == "a-token-from-elsewhere" {
		t.Fatalf("saved context: %+v", c)
	}
	// The saved session works: the server knows who it is.
	wantContains(t, "version with the SSO context", mustRun(t, "version"), "server "+base)
	sess, err := (&target{server: c.Server, token: c.Token}).client()
	if err != nil {
		t.Fatal(err)
	}
	who, err := sess.Session(ctx)
	if err != nil || who.Subject != oidcprovider.UserEmail || !slices.Equal(who.Groups, oidcprovider.UserGroups) {
		t.Errorf("session of the saved token: %+v, %v", who, err)
	}

	// Failed password logins are throttled, and the CLI says when to try
	// again (the threshold is the server's: a few failures).
	var pw cliResult
	for range 10 {
		if pw = soll(t, withStdin("wrong\n"), "login", base, "--username", "admin", "--password-stdin", "--name", "pw"); strings.Contains(fmt.Sprint(pw.err), "too many") {
			break
		}
	}
	wantError(t, pw.err, "login refused for admin at "+base+": too many failed logins: retry in ")
}
