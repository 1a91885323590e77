package serve_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/appstate"
	"soll.dev/internal/auth"
	"soll.dev/internal/serve/servetest"
	"soll.dev/internal/server"
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

// initialAdminPassword reads the initial password of the account admin of
// soll in namespace ns.
func initialAdminPassword(t *testing.T, env *testenv.Env, ns string) string {
	t.Helper()
	var initial corev1.Secret
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: auth.InitialAdminSecretName}, &initial); err != nil {
		t.Fatal(err)
	}
	return string(initial.Data[auth.InitialAdminPassword])
}

// login logs in as the local account user and uses its token from then
// on.
func (a *api) login(user, password string) {
	a.t.Helper()
	a.token = ""
	code, out := a.do("POST", "/api/v1/session", map[string]string{"username": user, "password": password})
	token, _ := out["token"].(string)
	if code != http.StatusOK || token == "" {
		a.t.Fatalf("login as %s: %d %v", user, code, out)
	}
	a.token = token
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
		ObjectMeta: metav1.ObjectMeta{Name: sollv1.SecretName, Namespace: ns},
		StringData: map[string]string{"webhook.generic.secret": webhookSecret},
	}); err != nil {
		t.Fatal(err)
	}

	base := servetest.Start(t, env, ns, servetest.Options{Separate: separate})
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

	c.login(auth.AdminAccount, initialAdminPassword(t, env, ns))

	app := sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "greeting"},
		Spec: sollv1.ApplicationSpec{
			Source:      &sollv1.ApplicationSource{RepoURL: git.HTTPURL("config"), TargetRevision: "main", Path: "app"},
			Destination: sollv1.ApplicationDestination{Server: appstate.InClusterServer, Namespace: dest},
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
	checkManifests(t, c)
	checkKindsOnWrite(t, c, app)
	checkAudit(t, c)

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
	checkWebhookSecretRotation(t, env, ns, base, payload)

	// Logout revokes the session.
	if code, _ := c.do("DELETE", "/api/v1/session", nil); code != http.StatusNoContent {
		t.Fatalf("logout: %d", code)
	}
	if code, _ := c.do("GET", "/api/v1/applications", nil); code != http.StatusUnauthorized {
		t.Errorf("a logged-out token still works: %d", code)
	}
	var audit corev1.ConfigMap
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: server.AuditConfigMap}, &audit); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(audit.Data[server.AuditKey], `"message":"admin logged out: done"`) {
		t.Errorf("the logout is not in the audit log: %s", audit.Data[server.AuditKey])
	}
}

// checkManifests: the API renders the app with the controller's pipeline,
// in soll run and in soll server alike.
func checkManifests(t *testing.T, c *api) {
	t.Helper()
	start := time.Now()
	code, out := c.do("GET", "/api/v1/applications/greeting/manifests", nil)
	first := time.Since(start)
	start = time.Now()
	c.do("GET", "/api/v1/applications/greeting/manifests", nil)
	t.Logf("manifests: first request %s, second %s", first.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	items, _ := out["items"].([]any)
	revisions, _ := out["revisions"].([]any)
	if code != http.StatusOK || len(items) != 1 || len(revisions) != 1 || len(revisions[0].(string)) != 40 {
		t.Fatalf("manifests: %d %v", code, out)
	}
	cm := items[0].(map[string]any)
	if cm["kind"] != "ConfigMap" || cm["data"].(map[string]any)["text"] != "hello" {
		t.Errorf("rendered ConfigMap: %v", cm)
	}
	if code, out := c.do("GET", "/api/v1/applications/greeting/manifests?revision=no-such-branch", nil); code != http.StatusUnprocessableEntity || out["code"] != "RenderFailed" {
		t.Errorf("manifests of a missing revision: %d %v", code, out)
	}
}

// checkKindsOnWrite: a Project's kind rules are checked when an app is
// written, by rendering it, unless the caller opts out.
func checkKindsOnWrite(t *testing.T, c *api, app sollv1.Application) {
	t.Helper()
	proj := map[string]any{"metadata": map[string]any{"name": "no-configmaps"}, "spec": map[string]any{
		"sourceRepos": []string{"*"}, "destinations": []map[string]any{{"server": "*", "namespace": "*"}},
		"namespaceResourceDenyList": []map[string]any{{"group": "", "kind": "ConfigMap"}},
	}}
	if code, out := c.do("POST", "/api/v1/projects", proj); code != http.StatusCreated {
		t.Fatalf("create project: %d %v", code, out)
	}
	app.Name, app.Spec.Project, app.Spec.SyncPolicy = "refused", "no-configmaps", nil
	code, out := c.do("POST", "/api/v1/applications", app)
	if code != http.StatusBadRequest || out["field"] != "spec.source" || !strings.Contains(out["message"].(string), `ConfigMap "greeting"`) {
		t.Errorf("an app of a kind its project denies: %d %v", code, out)
	}
	if code, out := c.do("POST", "/api/v1/applications?validate=false&cascade=false", app); code != http.StatusCreated {
		t.Errorf("the same with validate=false: %d %v", code, out)
	}
	if code, out := c.do("DELETE", "/api/v1/applications/refused", nil); code != http.StatusNoContent {
		t.Errorf("delete: %d %v", code, out)
	}
}

// checkAudit: logins, changes and the controller's automated syncs are
// in the audit log.
func checkAudit(t *testing.T, c *api) {
	t.Helper()
	want := []string{
		"admin tried to log in: refused (Unauthorized)",
		"admin logged in: done",
		"admin created app greeting: created",
		"admin tried to create app refused: refused (Invalid)",
		"app greeting: automated sync to ",
	}
	var got []string
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := testenv.Eventually(ctx, 100*time.Millisecond, func(context.Context) (bool, error) {
		got = nil
		_, out := c.do("GET", "/api/v1/audit?limit=1000", nil)
		items, _ := out["items"].([]any)
		for _, it := range items {
			e := it.(map[string]any)
			got = append(got, e["message"].(string))
			if e["source"] == "controller" && e["user"] != "soll-controller" {
				t.Errorf("controller entry: %v", e)
			}
		}
		for _, w := range want {
			if !slices.ContainsFunc(got, func(m string) bool { return strings.HasPrefix(m, w) }) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Errorf("audit log:\n%s\nwant entries starting with\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// checkWebhookSecretRotation: a new secret in soll-secret is used without
// a restart, and the old one is refused from then on.
func checkWebhookSecretRotation(t *testing.T, env *testenv.Env, ns, base string, payload []byte) {
	t.Helper()
	ctx := context.Background()
	var sec corev1.Secret
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: sollv1.SecretName}, &sec); err != nil {
		t.Fatal(err)
	}
	sec.Data["webhook.generic.secret"] = []byte("rotated-" + webhookSecret)
	if err := env.Client.Update(ctx, &sec); err != nil {
		t.Fatal(err)
	}
	post := func(secret string) int {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(payload)
		req, _ := http.NewRequest("POST", base+"/api/webhook", bytes.NewReader(payload))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Soll-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// The cache sees the update within moments.
	if err := testenv.Eventually(wctx, 50*time.Millisecond, func(context.Context) (bool, error) {
		return post("rotated-"+webhookSecret) == http.StatusOK, nil
	}); err != nil {
		t.Fatalf("a push signed with the rotated secret is still refused: %v", err)
	}
	if code := post(webhookSecret); code != http.StatusUnauthorized {
		t.Errorf("a push signed with the old secret after rotation: %d, want 401", code)
	}
}
