// Package servetest runs soll (controller and API) in a test's process.
package servetest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"soll.dev/internal/controller"
	"soll.dev/internal/serve"
	"soll.dev/internal/testenv"
)

// Options vary Start; the zero value is `soll run` on any loopback port.
type Options struct {
	// Addr is where the API listens; "" means 127.0.0.1:0.
	Addr string
	// Separate runs the API in a manager of its own, as `soll server`
	// does beside a controller, instead of in the controller's.
	Separate bool
	// InsecureCookies lets session cookies travel over plain HTTP.
	InsecureCookies bool
	// TrustedProxies, BodyTimeout and OIDCClientSecret are passed to
	// serve.Options.
	TrustedProxies   []netip.Prefix
	BodyTimeout      time.Duration
	OIDCClientSecret string
	// MetricsAddr is the controller's metrics address; "" disables
	// them.
	MetricsAddr string
}

// FreeAddr returns a loopback address with a port free a moment ago, for
// servers whose URL must be known before they start (an SSO callback
// registered with the provider).
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Start runs soll for namespace ns until the test ends and returns the
// API's base URL. The refresh interval is an hour: only webhooks and
// requests bring new commits in time.
func Start(t testing.TB, env *testenv.Env, ns string, o Options) string {
	t.Helper()
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ready := make(chan string, 1)
	extend := func(mgr ctrl.Manager) error {
		return serve.Add(context.Background(), mgr, serve.Options{Addr: o.Addr, Namespace: ns, Version: "test",
			InsecureCookies: o.InsecureCookies, TrustedProxies: o.TrustedProxies, BodyTimeout: o.BodyTimeout, OIDCClientSecret: o.OIDCClientSecret, Log: quiet, Ready: func(a string) { ready <- a }})
	}
	managers := []controller.Options{{Namespace: ns, CacheDir: t.TempDir(), Log: quiet, RefreshInterval: time.Hour, Extend: extend, MetricsAddr: o.MetricsAddr}}
	if o.Separate {
		managers[0].Extend = nil
		managers = append(managers, controller.Options{Namespace: ns, Log: quiet, NoController: true, Extend: extend})
	}
	stopped := make(chan error, len(managers))
	for _, opts := range managers {
		mgr, err := controller.NewManager(env.Config, opts)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			err := mgr.Start(ctx)
			done <- err
			stopped <- err
		}()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("soll: %v", err)
			}
		})
	}
	select {
	case a := <-ready:
		return "http://" + a
	case err := <-stopped:
		t.Fatalf("soll stopped: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("soll's API did not start")
	}
	return ""
}
