package serve

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
)

// TestOIDCClientSecretSource: the client secret given in the options
// (SOLL_OIDC_CLIENT_SECRET for soll run) wins over soll-secret's key, which
// is read only without it; neither makes SSO configured on its own.
func TestOIDCClientSecretSource(t *testing.T) {
	env := testenv.Cluster(t)
	ns := env.Namespace(t)
	ctx := context.Background()

	if cfg, err := oidcConfig(ctx, env.Client, ns, "from-env"); err != nil || cfg != nil {
		t.Fatalf("without soll-config: %+v, %v; want no SSO", cfg, err)
	}
	if err := env.Client.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: sollv1.SettingsConfigMap, Namespace: ns},
		Data:       map[string]string{sollv1.OIDCConfigKey: "issuer: https://sso.example.com\nclientID: soll\nredirectURL: https://soll.example.com/auth/callback\n"},
	}); err != nil {
		t.Fatal(err)
	}
	secret := func(want string) {
		t.Helper()
		for _, override := range []string{"", "from-env"} {
			cfg, err := oidcConfig(ctx, env.Client, ns, override)
			if err != nil || cfg == nil {
				t.Fatalf("oidcConfig: %+v, %v", cfg, err)
			}
			expect := want
			if override != "" {
				expect = override
			}
			if cfg.ClientSecret != expect || cfg.ClientID != "soll" {
				t.Errorf("override %q: client %q with secret %q, want soll with %q", override, cfg.ClientID, cfg.ClientSecret, expect)
			}
		}
	}
	secret("") // no soll-secret yet
	if err := env.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: sollv1.SecretName, Namespace: ns},
		StringData: map[string]string{oidcClientSecretKey: "from-soll-secret"},
	}); err != nil {
		t.Fatal(err)
	}
	secret("from-soll-secret")
}
