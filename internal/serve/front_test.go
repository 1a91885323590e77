package serve_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"soll.dev/internal/auth"
	"soll.dev/internal/serve/servetest"
	"soll.dev/internal/testenv"
)

// TestLoginEndpoint checks what the login endpoint, which needs no
// credentials, accepts: JSON only (a text/plain form post could log a
// browser in as someone else), bounded user names, bodies sent within
// the body timeout, and the client address of X-Forwarded-For only from
// a trusted proxy.
func TestLoginEndpoint(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns := env.Namespace(t)
	const bodyTimeout = time.Second
	// The tests' client is 127.0.0.1; 127.0.0.2 plays a reverse proxy.
	proxy := netip.MustParseAddr("127.0.0.2")
	base := servetest.Start(t, env, ns, servetest.Options{
		BodyTimeout:    bodyTimeout,
		TrustedProxies: []netip.Prefix{netip.PrefixFrom(proxy, 32)},
	})
	var initial corev1.Secret
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: auth.InitialAdminSecretName}, &initial); err != nil {
		t.Fatal(err)
	}
	password := string(initial.Data[auth.InitialAdminPassword])

	direct := &http.Client{Timeout: 30 * time.Second}
	viaProxy := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: proxy.AsSlice()}}).DialContext,
	}}
	login := func(c *http.Client, contentType, body, forwardedFor string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+"/api/v1/session", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if forwardedFor != "" {
			req.Header.Set("X-Forwarded-For", forwardedFor)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK && resp.Header.Get("Set-Cookie") != "" {
			t.Errorf("a refused login (%d) set a cookie", resp.StatusCode)
		}
		return resp.StatusCode, string(b)
	}
	creds := func(user, password string) string {
		return fmt.Sprintf(`{"username": %q, "password": %q}`, user, password)
	}

	t.Run("JSON only", func(t *testing.T) {
		for _, ct := range []string{"text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
			if code, body := login(direct, ct, creds(auth.AdminAccount, password), ""); code != http.StatusUnsupportedMediaType || !strings.Contains(body, "application/json") {
				t.Errorf("login with Content-Type %q: %d %s, want 415 naming application/json", ct, code, body)
			}
		}
		if code, body := login(direct, "application/json; charset=utf-8", creds(auth.AdminAccount, password), ""); code != http.StatusOK {
			t.Errorf("login with JSON: %d %s", code, body)
		}
	})

	t.Run("long user names", func(t *testing.T) {
		long := strings.Repeat("a", auth.MaxUsernameLength+1)
		if code, body := login(direct, "application/json", creds(long, "x"), ""); code != http.StatusBadRequest || !strings.Contains(body, "username") {
			t.Errorf("login with a name of %d bytes: %d %s, want 400", len(long), code, body)
		}
		huge := strings.Repeat("a", 1<<20)
		if code, body := login(direct, "application/json", creds(huge, "x"), ""); code != http.StatusRequestEntityTooLarge {
			t.Errorf("login with a name of %d bytes: %d %s, want 413", len(huge), code, body)
		}
	})

	t.Run("trickled body", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close() //nolint:errcheck // the test is over: nothing depends on how the connection ends
		body := creds(auth.AdminAccount, password)
		if _, err := fmt.Fprintf(conn, "POST /api/v1/session HTTP/1.1\r\nHost: soll\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		// One byte every 200ms: the whole body would take ten seconds
		// and more.
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for i := range len(body) {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if _, err := conn.Write([]byte{body[i]}); err != nil {
					return
				}
			}
		}()
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		elapsed := time.Since(start)
		if elapsed > bodyTimeout+3*time.Second {
			t.Fatalf("the server waited %s for a trickled body, want at most about %s", elapsed.Round(time.Millisecond), bodyTimeout)
		}
		if err == nil && resp.StatusCode == http.StatusOK {
			t.Fatal("a trickled login succeeded")
		}
		t.Logf("trickled body cut off after %s", elapsed.Round(time.Millisecond))
	})

	t.Run("logout that cannot be recorded", func(t *testing.T) {
		code, body := login(direct, "application/json", creds(auth.AdminAccount, password), "")
		if code != http.StatusOK {
			t.Fatalf("login: %d %s", code, body)
		}
		var out struct{ Token string }
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
		// A list filled to its limit with entries that cannot be
		// compacted (of an older version, without a subject).
		data := map[string][]byte{}
		exp := []byte(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		for i := range auth.DefaultRevocationLimit / 40 {
			data[fmt.Sprintf("filler-%06d", i)] = exp
		}
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: auth.RevokedTokensName, Namespace: ns}, Data: data}
		if err := env.Client.Create(context.Background(), secret); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), secret) })
		session := func(method string) (int, string) {
			req, _ := http.NewRequest(method, base+"/api/v1/session", nil)
			req.Header.Set("Authorization", "Bearer "+out.Token)
			resp, err := direct.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, body := session(http.MethodDelete); code != http.StatusServiceUnavailable || !strings.Contains(body, "still valid") {
			t.Errorf("logout with a full revocation list: %d %s, want 503 saying the session is still valid", code, body)
		}
		if code, body := session(http.MethodGet); code != http.StatusOK {
			t.Errorf("the session after a failed logout: %d %s, want it to work as the answer said", code, body)
		}
	})

	// From here on the direct client's address is throttled.
	t.Run("X-Forwarded-For of an untrusted peer is ignored", func(t *testing.T) {
		for i := range 5 {
			if code, body := login(direct, "application/json", creds(fmt.Sprint("nobody-", i), "x"), fmt.Sprint("198.51.100.", i)); code != http.StatusUnauthorized {
				t.Fatalf("failed login %d: %d %s", i, code, body)
			}
		}
		if code, body := login(direct, "application/json", creds("nobody-5", "x"), "198.51.100.5"); code != http.StatusTooManyRequests {
			t.Errorf("a sixth failed login from one address with a new X-Forwarded-For: %d %s, want 429", code, body)
		}
	})

	t.Run("X-Forwarded-For of a trusted proxy names the client", func(t *testing.T) {
		for i := range 5 {
			if code, body := login(viaProxy, "application/json", creds(fmt.Sprint("ghost-", i), "x"), "203.0.113.7"); code != http.StatusUnauthorized {
				t.Fatalf("failed login %d: %d %s", i, code, body)
			}
		}
		if code, body := login(viaProxy, "application/json", creds("ghost-5", "x"), "203.0.113.7"); code != http.StatusTooManyRequests {
			t.Errorf("a sixth failed login from client 203.0.113.7: %d %s, want 429", code, body)
		}
		// A client behind the proxy that forges entries of its own is
		// still known by the address the proxy added.
		if code, body := login(viaProxy, "application/json", creds("ghost-6", "x"), "192.0.2.1, 203.0.113.7"); code != http.StatusTooManyRequests {
			t.Errorf("the same client with a forged first entry: %d %s, want 429", code, body)
		}
		// Another client behind the same proxy is not throttled.
		if code, body := login(viaProxy, "application/json", creds("ghost-7", "x"), "203.0.113.8"); code != http.StatusUnauthorized {
			t.Errorf("a failed login from client 203.0.113.8: %d %s, want 401", code, body)
		}
	})
}
