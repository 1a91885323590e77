package serve_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/serve/servetest"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/oidcprovider"
)

// TestSSOWithClientSecretFromOptions logs a browser in through SSO while
// soll-secret holds a stale client secret: the login works only because the
// secret of the options (SOLL_OIDC_CLIENT_SECRET in soll run) wins.
func TestSSOWithClientSecretFromOptions(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns := env.Namespace(t)
	ctx := context.Background()

	addr := servetest.FreeAddr(t)
	base := "http://" + addr
	provider := oidcprovider.New(t, base+"/auth/callback")
	if err := env.Client.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: sollv1.SettingsConfigMap, Namespace: ns},
		Data: map[string]string{sollv1.OIDCConfigKey: "issuer: " + provider.URL + "\nclientID: " + oidcprovider.ClientID +
			"\nredirectURL: " + base + "/auth/callback\n"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: sollv1.SecretName, Namespace: ns},
		StringData: map[string]string{"oidc.clientSecret": "stale-" + oidcprovider.ClientSecret},
	}); err != nil {
		t.Fatal(err)
	}
	servetest.Start(t, env, ns, servetest.Options{Addr: addr, InsecureCookies: true, OIDCClientSecret: oidcprovider.ClientSecret})

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	// The web UI's login page offers SSO, bringing the browser back to
	// the page it asked for.
	login := readPage(t, browser, base+"/login?return="+url.QueryEscape("/applications?project=default"))
	if want := `<a class="button" href="/auth/login?return_url=%2Fapplications%3Fproject%3Ddefault">Log in with SSO</a>`; !strings.Contains(login, want) {
		t.Fatalf("the login page lacks %s:\n%s", want, login)
	}
	resp, err := browser.Get(base + "/auth/login?return_url=" + url.QueryEscape("/applications?project=default"))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != "/applications" || resp.StatusCode != http.StatusOK {
		t.Fatalf("the login ended at %s (status %d), want soll's /applications", resp.Request.URL, resp.StatusCode)
	}
	if want := "Logged in as <strong data-user>" + oidcprovider.UserEmail + "</strong>"; !strings.Contains(string(page), want) {
		t.Errorf("the applications page after SSO lacks %q:\n%s", want, page)
	}
	resp, err = browser.Get(base + "/api/v1/session")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var who apitypes.Session
	if err := json.NewDecoder(resp.Body).Decode(&who); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("session after SSO: %d, %v", resp.StatusCode, err)
	}
	if who.Subject != oidcprovider.UserEmail {
		t.Errorf("logged in as %q, want %s", who.Subject, oidcprovider.UserEmail)
	}
}

func readPage(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d, %v", url, resp.StatusCode, err)
	}
	return string(b)
}
