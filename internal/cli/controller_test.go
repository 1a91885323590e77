package cli

import (
	"log/slog"
	"strings"
	"testing"

	"soll.dev/internal/serve"
)

// TestServeOptionsTakeTheSSOSecretFromTheEnvironment: soll run and soll
// server pass SOLL_OIDC_CLIENT_SECRET to the API server, which then prefers
// it to soll-secret's key.
func TestServeOptionsTakeTheSSOSecretFromTheEnvironment(t *testing.T) {
	f := controllerFlags{listen: ":8080", kube: kubeFlags{namespace: "soll"}}
	t.Setenv(serve.OIDCClientSecretEnv, "")
	opts, err := f.serveOptions(slog.Default())
	if err != nil || opts.OIDCClientSecret != "" || opts.Addr != ":8080" || opts.Namespace != "soll" {
		t.Fatalf("without the variable: %+v, %v", opts, err)
	}
	t.Setenv(serve.OIDCClientSecretEnv, "s3cret")
	if opts, err = f.serveOptions(slog.Default()); err != nil || opts.OIDCClientSecret != "s3cret" {
		t.Errorf("with %s set: secret %q, %v", serve.OIDCClientSecretEnv, opts.OIDCClientSecret, err)
	}
	f.trustedProxies = []string{"10.0.0.0/33"}
	if _, err := f.serveOptions(slog.Default()); err == nil || !strings.Contains(err.Error(), "--trusted-proxies") {
		t.Errorf("a bad --trusted-proxies: %v, want an error naming the flag", err)
	}
}
