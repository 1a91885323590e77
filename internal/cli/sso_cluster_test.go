package cli

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/serve/servetest"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/oidcprovider"
)

// browser is an opener for soll login --sso that plays a person's
// browser (oidcprovider.Browse) in the background and reports what it saw.
func browser(seen chan<- oidcprovider.Browsed, errs chan<- error) func(string) error {
	return func(loginURL string) error {
		go func() {
			b, err := oidcprovider.Browse(loginURL)
			errs <- err
			seen <- b
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
	addr := servetest.FreeAddr(t)
	callback := "http://" + addr + "/auth/callback"
	provider := oidcprovider.New(t, callback)
	if err := env.Client.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "soll-config", Namespace: ns},
		Data: map[string]string{sollv1.OIDCConfigKey: "issuer: " + provider.URL + "\nclientID: " + oidcprovider.ClientID +
			"\nredirectURL: " + callback + "\n"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: sollv1.SecretName, Namespace: ns},
		StringData: map[string]string{"oidc.clientSecret": oidcprovider.ClientSecret},
	}); err != nil {
		t.Fatal(err)
	}
	base := servetest.Start(t, env, ns, servetest.Options{Addr: addr, InsecureCookies: true})

	seen, errs := make(chan oidcprovider.Browsed, 1), make(chan error, 1)
	g := newGlobals(strings.NewReader(""))
	g.openBrowser = browser(seen, errs)
	r := soll(t, g, "login", base, "--sso", "--name", "sso")
	if r.err != nil {
		t.Fatalf("login --sso: %v", r.err)
	}
	err, b := <-errs, <-seen
	if b.Forged != http.StatusBadRequest {
		t.Errorf("a callback with a forged state: status %d, want 400", b.Forged)
	}
	if err != nil || b.Status != http.StatusOK || !strings.Contains(b.Body, "You can close this tab") {
		t.Errorf("the browser ended on status %d, %v:\n%s", b.Status, err, b.Body)
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
