package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/appstate"
	"soll.dev/internal/auth"
	"soll.dev/internal/rbac"
	"soll.dev/internal/serve/servetest"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

// TestMain lets the tests share one cluster; see testenv.Main.
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// The read-only account of the fixture.
const (
	viewer         = "viewer"
	viewerPassword = "viewer-password-42"
)

// fixture is soll (controller, API and UI, as `soll run`) on the shared
// cluster with a Git server, a repository of one ConfigMap, the admin's
// password and a read-only account.
type fixture struct {
	env           *testenv.Env
	ns            string
	base          string
	git           *gitserver.HTTPServer
	adminPassword string
	commit        string
}

// commitMessage is the message of the repository's commit; what a page
// shows of it must stay text.
const commitMessage = `deploy <script>alert("commit")</script> javascript:alert(1)`

func start(t *testing.T) *fixture {
	t.Helper()
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	f := &fixture{env: env, ns: env.Namespace(t)}
	ctx := context.Background()
	f.git = gitserver.NewHTTP(t, gitserver.HTTPOptions{})
	f.git.CreateRepo(t, "config", "")
	f.commit = f.git.Commit(t, "config", gitserver.DefaultBranch, gitserver.Change{Message: commitMessage, Files: map[string]string{
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  text: hello\n",
	}})
	rbacCM := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: rbac.ConfigMapName, Namespace: f.ns},
		Data:       map[string]string{rbac.KeyPolicy: "g, user:" + viewer + ", role:readonly\n"},
	}
	if err := env.Client.Create(ctx, rbacCM); err != nil {
		t.Fatal(err)
	}
	f.base = servetest.Start(t, env, f.ns, servetest.Options{InsecureCookies: true})
	var initial corev1.Secret
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: auth.InitialAdminSecretName}, &initial); err != nil {
		t.Fatal(err)
	}
	f.adminPassword = string(initial.Data[auth.InitialAdminPassword])
	admin := f.apiLogin(t, "admin", f.adminPassword)
	f.api(t, admin, "POST", "/api/v1/accounts", map[string]any{"name": viewer, "capabilities": []string{"login"}, "password": viewerPassword}, http.StatusCreated)
	return f
}

// createApp creates an app of the repository without automated sync, so
// that it stays OutOfSync until synced, deploying to a namespace of its
// own (two apps may not manage one object).
func (f *fixture) createApp(t *testing.T, name string, labels, annotations map[string]string) {
	t.Helper()
	app := &sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns, Labels: labels, Annotations: annotations},
		Spec: sollv1.ApplicationSpec{
			Project:     "default",
			Source:      &sollv1.ApplicationSource{RepoURL: f.git.HTTPURL("config"), TargetRevision: gitserver.DefaultBranch, Path: "app"},
			Destination: sollv1.ApplicationDestination{Server: appstate.InClusterServer, Namespace: f.env.Namespace(t)},
		},
	}
	if err := f.env.Client.Create(context.Background(), app); err != nil {
		t.Fatal(err)
	}
}

// app reads an app from the cluster.
func (f *fixture) app(t *testing.T, name string) *sollv1.Application {
	t.Helper()
	var a sollv1.Application
	if err := f.env.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: name}, &a); err != nil {
		t.Fatal(err)
	}
	return &a
}

// waitSync waits until the controller has compared the app with Git.
func (f *fixture) waitSync(t *testing.T, name string, want sollv1.SyncStatusCode) {
	t.Helper()
	testenv.WaitFor(t, name+" "+string(want), 60*time.Second, func() bool {
		a := f.app(t, name)
		return a.Status.Sync != nil && a.Status.Sync.Status == want
	})
}

func (f *fixture) apiLogin(t *testing.T, user, password string) string {
	t.Helper()
	var out struct{ Token string }
	f.apiDecode(t, "", "POST", "/api/v1/session", map[string]string{"username": user, "password": password}, http.StatusOK, &out)
	return out.Token
}

func (f *fixture) api(t *testing.T, token, method, path string, body any, want int) {
	t.Helper()
	f.apiDecode(t, token, method, path, body, want, nil)
}

func (f *fixture) apiDecode(t *testing.T, token, method, path string, body any, want int, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, f.base+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatal(err)
		}
	}
}

// browser is a plain HTTP client with cookies and without JavaScript:
// what a page shows without its script.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (f *fixture) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: f.base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is an answer: status, headers, body.
type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values) page {
	b.t.Helper()
	return b.send(method, path, form, "")
}

// send is do with an Accept header ("" for a browser's own).
func (b *browser) send(method, path string, form url.Values, accept string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = bytes.NewBufferString(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

func (b *browser) get(path string) page { return b.do("GET", path, nil) }

func (b *browser) post(path string, form url.Values) page { return b.do("POST", path, form) }

// postJSON posts a form as the page's script does, asking for JSON.
func (b *browser) postJSON(path string, form url.Values) page {
	return b.send("POST", path, form, "application/json")
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the first form token of a page.
func (p page) csrf(t *testing.T) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no form token in the page:\n%s", p.body)
	}
	return m[1]
}

// login logs the browser in through the login form.
func (b *browser) login(user, password string) page {
	b.t.Helper()
	form := b.get("/login")
	return b.post("/login", url.Values{"csrf": {form.csrf(b.t)}, "username": {user}, "password": {password}, "return": {"/applications"}})
}
