package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/appstate"
	"soll.dev/internal/auth"
	"soll.dev/internal/serve/servetest"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

// cliResult is what one soll command printed and returned.
type cliResult struct {
	out, errOut string
	err         error
}

// soll runs the command line with g (nil: defaults and empty stdin).
func soll(t *testing.T, g *globals, args ...string) cliResult {
	t.Helper()
	if g == nil {
		g = newGlobals(strings.NewReader(""))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, g, args, &out, &errOut)
	shown := slices.Clone(args)
	for i := range shown {
		if i > 0 && shown[i-1] == "--auth-token" {
			shown[i] = "<token>" // tokens stay out of logs
		}
	}
	t.Logf("soll %s (exit %d: %v)\n%s%s", strings.Join(shown, " "), ExitCode(err), err, out.String(), errOut.String())
	return cliResult{out.String(), errOut.String(), err}
}

// mustRun is soll that fails the test on an error.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	r := soll(t, nil, args...)
	if r.err != nil {
		t.Fatalf("soll %s: %v", strings.Join(args, " "), r.err)
	}
	return r.out
}

func withStdin(s string) *globals { return newGlobals(strings.NewReader(s)) }

func wantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

// initialPassword reads the admin password soll created at its start.
func initialPassword(t *testing.T, env *testenv.Env, ns string) string {
	t.Helper()
	var s corev1.Secret
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: auth.InitialAdminSecretName}, &s); err != nil {
		t.Fatal(err)
	}
	return string(s.Data["password"])
}

// TestCLIThroughTheAPI drives the CLI against soll's API served in this
// process: password login saves a private context, then the app commands
// go through the API (no kubeconfig anywhere): create, list, get, diff
// with its exit statuses, sync --wait, history, rollback, unpin, delete;
// logout revokes the session, after which commands say to log in.
func TestCLIThroughTheAPI(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns, dest := env.Namespace(t), env.Namespace(t)
	ctx := context.Background()
	t.Setenv(ConfigEnv, filepath.Join(t.TempDir(), "soll", "config"))
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig") // nothing may use it

	git := gitserver.NewHTTP(t, gitserver.HTTPOptions{})
	git.CreateRepo(t, "config", "")
	configMap := func(text string) map[string]string {
		return map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  text: " + text + "\n"}
	}
	git.Commit(t, "config", gitserver.DefaultBranch, gitserver.Change{Message: "v1", Files: configMap("hello")})
	base := servetest.Start(t, env, ns, servetest.Options{InsecureCookies: true})
	password := initialPassword(t, env, ns)

	r := soll(t, withStdin("wrong-password\n"), "login", base, "--username", "admin", "--password-stdin")
	wantError(t, r.err, "login refused for admin at "+base+": wrong username or password")

	out := soll(t, withStdin(password+"\n"), "login", base, "--username", "admin", "--password-stdin", "--name", "local")
	if out.err != nil {
		t.Fatalf("login: %v", out.err)
	}
	wantContains(t, "login", out.out, "logged in to "+base+" as admin; context local saved")
	cfgPath := os.Getenv(ConfigEnv)
	fi, err := os.Stat(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("configuration mode %04o, want 0600", fi.Mode().Perm())
	}
	cfg, err := loadConfig(cfgPath, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.current(); c == nil || c.Name != "local" || c.Server != base || c.User != "admin" || c.Token == "" {
		t.Fatalf("saved configuration: %+v", cfg)
	}
	if raw, _ := os.ReadFile(cfgPath); strings.Contains(string(raw), password) {
		t.Error("the configuration holds the password")
	}
	wantContains(t, "soll version", mustRun(t, "version"), "server "+base+": soll ")
	checkClientShapes(t, &target{server: base, token: cfg.current().Token}, ns)

	out.out = mustRun(t, "app", "create", "greeting", "--repo", git.HTTPURL("config"), "--path", "app", "--dest-namespace", dest)
	wantContains(t, "app create", out.out, "application greeting created on soll at "+base)
	app := getApp(t, env, ns, "greeting")
	if app.Spec.Source.RepoURL != git.HTTPURL("config") || app.Finalizers[0] != sollv1.ResourcesFinalizer {
		t.Errorf("created application: %+v", app)
	}
	wantContains(t, "app list", mustRun(t, "app", "list"), "greeting", dest)
	if got := mustRun(t, "app", "list", "-o", "name"); got != "greeting\n" {
		t.Errorf("app list -o name = %q", got)
	}
	wantContains(t, "app get", mustRun(t, "app", "get", "greeting"), "Name:             "+ns+"/greeting", "Path:           app")
	// --kubeconfig and -n choose the Kubernetes API even with a context.
	if got := mustRun(t, "app", "list", "--kubeconfig", env.KubeconfigPath, "-n", ns, "-o", "name"); got != "greeting\n" {
		t.Errorf("app list in --core mode = %q", got)
	}
	wantError(t, soll(t, nil, "app", "list", "--core", "--server", base).err, "give one or the other")
	// The shell completes app names from the server.
	wantContains(t, "completion of app get", mustRun(t, "__complete", "app", "get", ""), "greeting\n:4\n")
	r = soll(t, nil, "app", "get", "nope")
	wantError(t, r.err, "application nope not found on soll at "+base+": list apps with soll app list")

	// Not synced yet: diff --refresh waits for a comparison, then says
	// what differs and exits 1.
	r = soll(t, nil, "app", "diff", "greeting", "--refresh")
	if ExitCode(r.err) != 1 {
		t.Fatalf("app diff of an app never synced: exit %d (%v), want 1", ExitCode(r.err), r.err)
	}
	wantContains(t, "app diff", r.out, "application greeting differs from Git", "===== ConfigMap "+dest+"/greeting (OutOfSync, health Missing) =====", "+  text: hello")
	if r = soll(t, nil, "app", "diff", "greeting", "-o", "name"); r.out != ":ConfigMap:"+dest+"/greeting\n" || ExitCode(r.err) != 1 {
		t.Errorf("app diff -o name = %q, exit %d", r.out, ExitCode(r.err))
	}
	if r = soll(t, nil, "app", "diff", "nope"); ExitCode(r.err) != 2 {
		t.Errorf("app diff of a missing app: exit %d, want 2", ExitCode(r.err))
	}

	out.out = mustRun(t, "app", "sync", "greeting", "--wait", "--timeout", "2m")
	wantContains(t, "sync --wait", out.out, "sync of application greeting requested", "greeting: sync Synced, health Healthy",
		"greeting: ConfigMap "+dest+"/greeting: Synced")
	waitConfigMap(t, env, dest, "hello")
	if r = soll(t, nil, "app", "diff", "greeting"); r.err != nil {
		t.Errorf("app diff of a synced app: exit %d (%v), want 0", ExitCode(r.err), r.err)
	}
	wantContains(t, "app diff of a synced app", r.errOut, "application greeting is in sync with Git")

	// A second revision, synced: two history entries to roll back between.
	git.Commit(t, "config", gitserver.DefaultBranch, gitserver.Change{Message: "v2", Files: configMap("bonjour")})
	mustRun(t, "app", "refresh", "greeting", "--hard")
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := testenv.Eventually(wctx, 200*time.Millisecond, func(context.Context) (bool, error) {
		return ExitCode(soll(t, nil, "app", "diff", "greeting").err) == 1, nil
	}); err != nil {
		t.Fatalf("app diff never saw the new commit: %v", err)
	}
	mustRun(t, "app", "sync", "greeting", "--wait", "--timeout", "2m")
	waitConfigMap(t, env, dest, "bonjour")
	hist := mustRun(t, "app", "history", "greeting")
	wantContains(t, "app history", hist, "ID   REVISION", "\n0 ", "\n1 ", "admin")
	if got := mustRun(t, "app", "history", "greeting", "-o", "name"); got != "0\n1\n" {
		t.Errorf("app history -o name = %q", got)
	}

	mustRun(t, "app", "rollback", "greeting", "0")
	mustRun(t, "app", "wait", "greeting", "--timeout", "2m")
	waitConfigMap(t, env, dest, "hello")
	if pin := getApp(t, env, ns, "greeting").Spec.Pin; pin == nil {
		t.Error("rollback did not pin the app")
	}
	wantContains(t, "app get of a pinned app", mustRun(t, "app", "get", "greeting"), "Pinned:")
	wantContains(t, "app unpin", mustRun(t, "app", "unpin", "greeting"), "application greeting unpinned")
	if pin := getApp(t, env, ns, "greeting").Spec.Pin; pin != nil {
		t.Errorf("after unpin: pin %+v", pin)
	}
	wantContains(t, "second unpin", mustRun(t, "app", "unpin", "greeting"), "is not pinned: nothing to do")

	wantContains(t, "app resources", mustRun(t, "app", "resources", "greeting", "-o", "wide"), "VERSION", "greeting")
	wantContains(t, "app tree", mustRun(t, "app", "tree", "greeting"), "ConfigMap", "greeting")
	wantContains(t, "app events", mustRun(t, "app", "events", "greeting"), "OperationCompleted", "soll.dev/Application/"+ns+"/greeting")
	mustRun(t, "app", "set", "greeting", "--revision", "main", "--auto-sync")
	if a := getApp(t, env, ns, "greeting"); a.Spec.Source.TargetRevision != "main" || a.Spec.SyncPolicy == nil || a.Spec.SyncPolicy.Automated == nil {
		t.Errorf("after app set: %+v", a.Spec)
	}
	if r = soll(t, nil, "app", "manifests", "greeting"); r.err != nil {
		// Servers that cannot render say so, and the CLI passes it on.
		wantError(t, r.err, "soll at "+base+" does not serve rendered manifests: ")
	} else {
		wantContains(t, "app manifests", r.out, "kind: ConfigMap")
	}

	wantContains(t, "app delete", mustRun(t, "app", "delete", "greeting"), "application greeting deleted")
	wctx, cancel = context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := testenv.Eventually(wctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := env.Kube.CoreV1().ConfigMaps(dest).Get(ctx, "greeting", metav1.GetOptions{})
		gone := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "greeting"}, &sollv1.Application{})
		return apierrors.IsNotFound(err) && apierrors.IsNotFound(gone), nil
	}); err != nil {
		t.Fatalf("the app and its ConfigMap were not deleted: %v", err)
	}

	token := cfg.current().Token
	wantContains(t, "logout", mustRun(t, "logout"), "logged out of "+base+" (context local)")
	cfg, err = loadConfig(cfgPath, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.context("local"); c == nil || c.Token != "" {
		t.Errorf("after logout: context %+v, want it without token", c)
	}
	r = soll(t, nil, "app", "list")
	wantError(t, r.err, "log in with soll login "+base)
	// The server refuses the token too: it was revoked, not only forgotten.
	r = soll(t, nil, "app", "list", "--auth-token", token)
	wantError(t, r.err, "(HTTP 401 from "+base+"): log in with soll login "+base)
}

func waitConfigMap(t *testing.T, env *testenv.Env, ns, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := testenv.Eventually(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		cm, err := env.Kube.CoreV1().ConfigMaps(ns).Get(ctx, "greeting", metav1.GetOptions{})
		return err == nil && cm.Data["text"] == text, err
	})
	if err != nil {
		t.Fatalf("ConfigMap %s/greeting never said %q: %v", ns, text, err)
	}
}

// checkClientShapes reads the server's other endpoints with the API
// client, so that a change of their JSON shapes on either side shows.
func checkClientShapes(t *testing.T, tg *target, ns string) {
	t.Helper()
	ctx := context.Background()
	c, err := tg.client()
	if err != nil {
		t.Fatal(err)
	}
	if s, err := c.Settings(ctx); err != nil || s.Namespace != ns || s.ListLimit == 0 {
		t.Errorf("settings: %+v, %v", s, err)
	}
	if cl, err := c.Clusters(ctx); err != nil || len(cl) != 1 || cl[0].Server != appstate.InClusterServer {
		t.Errorf("clusters: %+v, %v", cl, err)
	}
	if _, err := c.Repositories(ctx); err != nil {
		t.Errorf("repositories: %v", err)
	}
	p := &sollv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}, Spec: sollv1.ProjectSpec{
		SourceRepos: []string{"*"}, Destinations: []sollv1.ProjectDestination{{Server: "*", Namespace: "*"}}}}
	if _, err := c.CreateProject(ctx, p); err != nil {
		t.Fatalf("create project: %v", err)
	}
	if ps, err := c.ListProjects(ctx); err != nil || len(ps) != 1 || ps[0].Name != "team-a" {
		t.Errorf("projects: %+v, %v", ps, err)
	}
	if err := c.DeleteProject(ctx, "team-a"); err != nil {
		t.Errorf("delete project: %v", err)
	}
	if who, err := c.Session(ctx); err != nil || who.Subject != "admin" {
		t.Errorf("session: %+v, %v", who, err)
	}
}
