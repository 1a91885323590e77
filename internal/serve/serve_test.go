package serve_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/auth"
	"soll.dev/internal/controller"
	"soll.dev/internal/serve"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

const webhookSecret = "hook-shared-secret"

type api struct {
	t     *testing.T
	base  string
	token string
}

func (a *api) do(method, path string, body any) (int, map[string]any) {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, r)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// TestRunServesTheAPI runs the controller with the API mounted, as `soll
// run` does, and walks the main flow over HTTP: anonymous requests are
// refused, admin logs in with the initial password, creates an automated
// Application, sees it Synced and Healthy, and a webhook push of a new
// commit gets it deployed without waiting for the periodic refresh.
func TestRunServesTheAPI(t *testing.T) {
	t.Run("in the controller's process", func(t *testing.T) { testAPIFlow(t, false) })
	t.Run("as a separate server", func(t *testing.T) { testAPIFlow(t, true) })
}

// startSoll starts the controller with the API mounted (soll run), or the
// controller and, in another manager, the API alone (soll controller and
// soll server); it returns the API's base URL.
func startSoll(t *testing.T, env *testenv.Env, ns string, separate bool) string {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	addr := make(chan string, 1)
	extend := func(mgr ctrl.Manager) error {
		return serve.Add(context.Background(), mgr, serve.Options{Addr: "127.0.0.1:0", Namespace: ns, Version: "test",
			Log: quiet, Ready: func(a string) { addr <- a }})
	}
	// The hourly refresh: only the webhook can bring a new commit in time.
	ctrlOpts := controller.Options{Namespace: ns, CacheDir: t.TempDir(), Log: quiet, RefreshInterval: time.Hour, Extend: extend}
	managers := []controller.Options{ctrlOpts}
	if separate {
		managers[0].Extend = nil
		managers = append(managers, controller.Options{Namespace: ns, Log: quiet, NoController: true, Extend: extend})
	}
	for _, opts := range managers {
		mgr, err := controller.NewManager(env.Config, opts)
		if err != nil {
			t.Fatal(err)
		}
		mctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- mgr.Start(mctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("manager: %v", err)
			}
		})
	}
	select {
	case a := <-addr:
		return "http://" + a
	case <-time.After(2 * time.Minute):
		t.Fatal("the API did not start")
	}
	return ""
}

func testAPIFlow(t *testing.T, separate bool) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns, dest := env.Namespace(t), env.Namespace(t)
	ctx := context.Background()

	git := gitserver.NewHTTP(t, gitserver.HTTPOptions{})
	git.CreateRepo(t, "config", "")
	git.Commit(t, "config", gitserver.DefaultBranch, gitserver.Change{Message: "v1", Files: map[string]string{
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  text: hello\n",
	}})
	if err := env.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: serve.WebhookSecretName, Namespace: ns},
		StringData: map[string]string{"webhook.generic.secret": webhookSecret},
	}); err != nil {
		t.Fatal(err)
	}

	base := startSoll(t, env, ns, separate)
	c := &api{t: t, base: base}

	if code, _ := c.do("GET", "/api/v1/applications", nil); code != http.StatusUnauthorized {
		t.Fatalf("anonymous list: %d, want 401", code)
	}
	c.token = "not-a-token"
	if code, _ := c.do("GET", "/api/v1/applications", nil); code != http.StatusUnauthorized {
		t.Fatalf("invalid token: %d, want 401", code)
	}
	c.token = ""
	if code, _ := c.do("POST", "/api/v1/session", map[string]string{"username": "admin", "password": "wrong-password"}); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d, want 401", code)
	}

	var initial corev1.Secret
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: auth.InitialAdminSecretName}, &initial); err != nil {
		t.Fatal(err)
	}
	code, login := c.do("POST", "/api/v1/session", map[string]string{"username": "admin", "password": string(initial.Data["password"])})
	if code != http.StatusOK || login["token"] == "" {
		t.Fatalf("login: %d %v", code, login)
	}
	c.token = login["token"].(string)

	app := sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "greeting"},
		Spec: sollv1.ApplicationSpec{
			Source:      &sollv1.ApplicationSource{RepoURL: git.HTTPURL("config"), TargetRevision: "main", Path: "app"},
			Destination: sollv1.ApplicationDestination{Server: controller.InClusterServer, Namespace: dest},
			SyncPolicy:  &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}},
		},
	}
	if code, out := c.do("POST", "/api/v1/applications", app); code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("create: %d %v", code, out)
	}
	waitText := func(want string, timeout time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		wctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		err := testenv.Eventually(wctx, 20*time.Millisecond, func(ctx context.Context) (bool, error) {
			cm, err := env.Kube.CoreV1().ConfigMaps(dest).Get(ctx, "greeting", metav1.GetOptions{})
			return err == nil && cm.Data["text"] == want, nil
		})
		if err != nil {
			t.Fatalf("waiting for text %q: %v", want, err)
		}
		return time.Since(start)
	}
	waitText("hello", 2*time.Minute)
	if code, out := c.do("GET", "/api/v1/applications/greeting", nil); code != http.StatusOK {
		t.Fatalf("get: %d %v", code, out)
	}

	// A push: the new commit is deployed well before the hourly refresh.
	sha := git.Commit(t, "config", gitserver.DefaultBranch, gitserver.Change{Message: "v2", Files: map[string]string{
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  text: bonjour\n",
	}})
	payload, _ := json.Marshal(map[string]string{"repository": git.HTTPURL("config"), "ref": "refs/heads/main", "after": sha})
	mac := hmac.New(sha256.New, []byte(webhookSecret))
	mac.Write(payload)
	req, _ := http.NewRequest("POST", base+"/api/webhook", bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Soll-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	pushed := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"matched":1`)) {
		t.Fatalf("webhook: %d %s", resp.StatusCode, body)
	}
	waitText("bonjour", time.Minute)
	t.Logf("webhook push to deployed change: %s", time.Since(pushed).Round(time.Millisecond))

	// An unsigned push is refused, and the server stays healthy.
	resp, err = http.Post(base+"/api/webhook", "application/json", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned webhook: %d, want 401", resp.StatusCode)
	}

	// Logout revokes the session.
	if code, _ := c.do("DELETE", "/api/v1/session", nil); code != http.StatusNoContent {
		t.Fatalf("logout: %d", code)
	}
	if code, _ := c.do("GET", "/api/v1/applications", nil); code != http.StatusUnauthorized {
		t.Errorf("a logged-out token still works: %d", code)
	}
}
