package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/auth"
	"soll.dev/internal/testenv"
)

// TestMain lets the tests share one cluster; see testenv.Main.
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// tokenAuth authenticates "Authorization: Bearer <token>" against a map.
type tokenAuth map[string]*Principal

func (a tokenAuth) Authenticate(r *http.Request) (*Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, nil
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if p := a[tok]; ok && p != nil {
		return p, nil
	}
	return nil, errors.New("unknown token")
}

// rule allows subject action on resource objects matching a path.Match
// pattern; "*" matches any resource, action or object.
type rule struct{ subject, resource, action, object string }

type ruleTable []rule

func (t ruleTable) Allowed(p *Principal, resource, action, object string) bool {
	for _, r := range t {
		if r.subject == p.Subject && (r.resource == "*" || r.resource == resource) && (r.action == "*" || r.action == action) {
			if ok, _ := path.Match(r.object, object); ok || r.object == "*" {
				return true
			}
		}
	}
	return false
}

// The callers of the tests: admin may do anything; alice may read and
// sync the apps of project team-a; erin may create, change and delete
// them, in that project only; dave may save repository credentials, not
// replace them.
var (
	testTokens = tokenAuth{
		"admin-token": {Subject: "admin"},
		"alice-token": {Subject: "alice", Groups: []string{"team-a"}},
		"dave-token":  {Subject: "dave"},
		"erin-token":  {Subject: "erin", Groups: []string{"team-a"}},
	}
	testRules = ruleTable{
		{"admin", "*", "*", "*"},
		{"alice", resApplications, actGet, "team-a/*"},
		{"alice", resApplications, actSync, "team-a/*"},
		{"alice", resProjects, actGet, "team-a"},
		{"dave", resRepositories, actCreate, "*"},
		{"erin", resApplications, "*", "team-a/*"},
		{"erin", resProjects, actGet, "team-a"},
	}
)

// harnessProjects are the permissive Projects every harness namespace has:
// the API refuses apps of a Project that does not exist.
var harnessProjects = []string{"team-a", "team-b", "p1", "p2"}

type harness struct {
	t        *testing.T
	env      *testenv.Env
	ns       string
	srv      *Server
	opts     Options
	url      string
	log      *testenv.SyncBuffer
	accounts *auth.Manager
}

// newHarness serves the API for a fresh namespace of the shared cluster,
// reading through a cache as a manager's client does.
func newHarness(t *testing.T, mutate ...func(*Options)) *harness {
	t.Helper()
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns := env.Namespace(t)
	for _, name := range harnessProjects {
		p := &sollv1.Project{ObjectMeta: objectMeta(name, ns), Spec: sollv1.ProjectSpec{
			SourceRepos: []string{"*"}, Destinations: []sollv1.ProjectDestination{{Server: "*", Namespace: "*"}},
		}}
		if err := env.Client.Create(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ca, err := cache.New(env.Config, cache.Options{Scheme: env.Scheme, DefaultNamespaces: map[string]cache.Config{ns: {}}})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = ca.Start(ctx) }()
	if !ca.WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}
	c, err := client.New(env.Config, client.Options{Scheme: env.Scheme, Cache: &client.CacheOptions{Reader: ca}})
	if err != nil {
		t.Fatal(err)
	}
	logs := &testenv.SyncBuffer{}
	// Events go through a recorder as in soll: asynchronously, merged
	// into series.
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: env.Kube.EventsV1()})
	if err := broadcaster.StartRecordingToSinkWithContext(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broadcaster.Shutdown)
	// Accounts are read from the API server, so that a test can log in
	// right after creating one.
	am, err := auth.New(ctx, auth.Options{Client: env.Client, Namespace: ns, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Client: c, APIReader: env.Client, Informers: ca, Namespace: ns,
		Auth: accountAuth{am}, RBAC: testRules, Kube: env.Kube, Version: "test",
		Log:      slog.New(slog.NewJSONHandler(logs, nil)),
		Recorder: broadcaster.NewRecorder(env.Scheme, "soll-server"),
		Accounts: am,
	}
	for _, m := range mutate {
		m(&opts)
	}
	h := &harness{t: t, env: env, ns: ns, log: logs, accounts: am}
	h.serve(opts)
	return h
}

// serve serves the API with opts (again, for a restart).
func (h *harness) serve(opts Options) {
	h.t.Helper()
	srv, err := New(opts)
	if err != nil {
		h.t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	h.t.Cleanup(ts.Close)
	h.srv, h.url, h.opts = srv, ts.URL, opts
}

// accountAuth authenticates the test tokens, then the tokens of local
// accounts and Project roles that the auth.Manager issued.
type accountAuth struct{ m *auth.Manager }

func (a accountAuth) Authenticate(r *http.Request) (*Principal, error) {
	h := r.Header.Get("Authorization")
	tok, _ := strings.CutPrefix(h, "Bearer ")
	if p := testTokens[tok]; p != nil || h == "" {
		return p, nil
	}
	p, err := a.m.Authenticate(r.Context(), tok)
	if err != nil {
		return nil, err
	}
	return &Principal{Subject: p.Subject, Project: p.Project, Role: p.Role, TokenID: p.TokenID, Subjects: p.Subjects()}, nil
}

// in returns h for subtest t.
func (h *harness) in(t *testing.T) *harness {
	c := *h
	c.t = t
	return &c
}

// do sends a request with token (none when "") and a JSON body (none when
// nil) and returns the status and body.
func (h *harness) do(method, p, token string, body any) (int, []byte) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		if b, ok := body.([]byte); ok {
			rd = bytes.NewReader(b)
		} else {
			b, err := json.Marshal(body)
			if err != nil {
				h.t.Fatal(err)
			}
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, h.url+p, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, p, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// must sends a request as admin and decodes the answer into out, failing
// unless the status is want.
func (h *harness) must(method, p string, body any, want int, out any) {
	h.t.Helper()
	status, b := h.do(method, p, "admin-token", body)
	if status != want {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, p, status, want, b)
	}
	if out != nil {
		reflect.ValueOf(out).Elem().SetZero() // Unmarshal would merge
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s %s: decode %s: %v", method, p, b, err)
		}
	}
}

// wantError checks an error response's status, code and field.
func (h *harness) wantError(status int, b []byte, wantStatus int, code, field string) Error {
	h.t.Helper()
	var e Error
	if err := json.Unmarshal(b, &e); err != nil {
		h.t.Fatalf("error body %q is not JSON: %v", b, err)
	}
	if status != wantStatus || e.Code != code || e.Field != field || e.Message == "" {
		h.t.Fatalf("got %d %+v, want %d with code %q and field %q", status, e, wantStatus, code, field)
	}
	return e
}

// appBody is an Application as a client sends it.
func appBody(name, project, destNS string, labels map[string]string) map[string]any {
	return map[string]any{
		"metadata": map[string]any{"name": name, "labels": labels},
		"spec": map[string]any{
			"project":     project,
			"source":      map[string]any{"repoURL": "https://git.example.com/apps.git", "path": name},
			"destination": map[string]any{"server": InClusterServer, "namespace": destNS},
		},
	}
}

// createApp creates an app directly in the cluster.
func (h *harness) createApp(name, project, destNS string, labels map[string]string) *sollv1.Application {
	h.t.Helper()
	app := &sollv1.Application{}
	app.Name, app.Namespace, app.Labels = name, h.ns, labels
	app.Spec.Project = project
	app.Spec.Source = &sollv1.ApplicationSource{RepoURL: "https://git.example.com/apps.git", Path: name}
	app.Spec.Destination = sollv1.ApplicationDestination{Server: InClusterServer, Namespace: destNS}
	if err := h.env.Client.Create(context.Background(), app); err != nil {
		h.t.Fatalf("create application %s: %v", name, err)
	}
	return app
}

// setStatus writes an app's status.
func (h *harness) setStatus(name string, mutate func(*sollv1.ApplicationStatus)) {
	h.t.Helper()
	app := &sollv1.Application{}
	ctx := context.Background()
	if err := h.env.Client.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: name}, app); err != nil {
		h.t.Fatal(err)
	}
	mutate(&app.Status)
	if err := h.env.Client.Status().Update(ctx, app); err != nil {
		h.t.Fatalf("update status of %s: %v", name, err)
	}
}

// eventually waits for cond, failing after timeout.
func (h *harness) eventually(timeout time.Duration, what string, cond func() bool) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := testenv.Eventually(ctx, 20*time.Millisecond, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		h.t.Fatalf("timed out waiting for %s", what)
	}
}

// listNames lists apps with query as token and returns their names.
func (h *harness) listNames(token, query string) ([]string, apitypes.AppList) {
	h.t.Helper()
	status, b := h.do(http.MethodGet, "/api/v1/applications"+query, token, nil)
	if status != http.StatusOK {
		h.t.Fatalf("list%s: %d %s", query, status, b)
	}
	var l struct {
		Items []struct {
			Metadata struct{ Name string } `json:"metadata"`
		} `json:"items"`
		Continue string             `json:"continue"`
		Previous string             `json:"previous"`
		Total    int                `json:"total"`
		Counts   apitypes.AppCounts `json:"counts"`
	}
	if err := json.Unmarshal(b, &l); err != nil {
		h.t.Fatal(err)
	}
	names := []string{}
	for _, it := range l.Items {
		names = append(names, it.Metadata.Name)
	}
	return names, apitypes.AppList{Continue: l.Continue, Previous: l.Previous, Total: l.Total, Counts: l.Counts}
}

// decodeInto decodes a JSON answer, reporting whether it could.
func decodeInto(b []byte, out any) bool { return json.Unmarshal(b, out) == nil }

func objectMeta(name, ns string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns}
}
