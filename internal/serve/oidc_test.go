package serve_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
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
	resp, err := browser.Get(base + "/auth/login?return_url=" + url.QueryEscape("/applications"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/applications" {
		t.Fatalf("the login ended at %s (status %d), want soll's /applications", resp.Request.URL, resp.StatusCode)
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
