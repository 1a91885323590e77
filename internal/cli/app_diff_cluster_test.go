package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"soll.dev/internal/apitypes"
	"soll.dev/internal/serve/servetest"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

// TestAppDiffShowsUnifiedDiffs shows soll app diff through the API: each
// differing resource under a header with the unified diff of its live
// object and of what a sync would make of it, first for objects still
// missing, then for changed ones; Secret values never appear, only
// masks; no colours when the output is not a terminal; --brief, -o name
// and -o json; --core lists the resources and says why it has no diffs.
func TestAppDiffShowsUnifiedDiffs(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns, dest := env.Namespace(t), env.Namespace(t)
	ctx := context.Background()
	t.Setenv(ConfigEnv, filepath.Join(t.TempDir(), "config"))

	const oldSecret, newSecret = "first-secret-value", "second-secret-value"
	files := func(text, secret string) map[string]string {
		return map[string]string{
			"app/cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  text: " + text + "\n  unchanged: same\n",
			"app/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: " + secret + "\n",
		}
	}
	git := gitserver.NewHTTP(t, gitserver.HTTPOptions{})
	git.CreateRepo(t, "config", "")
	git.Commit(t, "config", gitserver.DefaultBranch, gitserver.Change{Message: "v1", Files: files("hello", oldSecret)})
	base := servetest.Start(t, env, ns, servetest.Options{InsecureCookies: true})
	if r := soll(t, withStdin(initialPassword(t, env, ns)+"\n"), "login", base, "--username", "admin", "--password-stdin"); r.err != nil {
		t.Fatalf("login: %v", r.err)
	}
	mustRun(t, "app", "create", "greeting", "--repo", git.HTTPURL("config"), "--path", "app", "--dest-namespace", dest)

	noSecrets := func(what, out string) {
		t.Helper()
		for _, s := range []string{oldSecret, newSecret} {
			if strings.Contains(out, s) {
				t.Errorf("%s shows the Secret value %q:\n%s", what, s, out)
			}
		}
	}
	diff := func(args ...string) cliResult {
		t.Helper()
		r := soll(t, nil, append([]string{"app", "diff", "greeting"}, args...)...)
		if code := ExitCode(r.err); code != 1 {
			t.Fatalf("app diff %s: exit %d (%v), want 1", strings.Join(args, " "), code, r.err)
		}
		noSecrets("app diff "+strings.Join(args, " "), r.out+r.errOut)
		if strings.Contains(r.out, "\x1b[") {
			t.Errorf("app diff %s into a buffer is coloured:\n%q", strings.Join(args, " "), r.out)
		}
		return r
	}

	// Nothing deployed yet: each object is all additions.
	r := diff("--refresh")
	wantContains(t, "app diff of missing objects", r.out,
		"application greeting differs from Git at ",
		"===== ConfigMap "+dest+"/greeting (OutOfSync, health Missing) =====\n--- live\n+++ desired\n@@ ",
		"+  text: hello\n", "+  unchanged: same\n",
		"===== Secret "+dest+"/db (OutOfSync, health Missing) =====",
		"+  password: ++++++++ (redacted, new)\n")
	if r.errOut != "" {
		t.Errorf("app diff with diffs wrote to stderr: %q", r.errOut)
	}

	r = diff("--brief")
	wantContains(t, "app diff --brief", r.out, "GROUP/KIND", "greeting   OutOfSync")
	if strings.Contains(r.out, "+++") {
		t.Errorf("app diff --brief shows diffs:\n%s", r.out)
	}
	if r = diff("-o", "name"); r.out != ":ConfigMap:"+dest+"/greeting\n:Secret:"+dest+"/db\n" {
		t.Errorf("app diff -o name = %q", r.out)
	}
	var d apitypes.Diff
	if err := json.Unmarshal([]byte(diff("-o", "json").out), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Diffs) != 2 || d.Diffs[0].Kind != "ConfigMap" || !strings.Contains(d.Diffs[0].Diff, "+  text: hello") ||
		d.Diffs[1].Kind != "Secret" || !strings.Contains(d.Diffs[1].Diff, "(redacted, new)") {
		t.Errorf("app diff -o json: diffs %+v", d.Diffs)
	}

	// Deployed, then changed in Git: the diff shows the old and new
	// lines, and of the Secret only that its value changed.
	mustRun(t, "app", "sync", "greeting", "--wait", "--timeout", "2m")
	waitConfigMap(t, env, dest, "hello")

	// In sync, and compared again on request although nothing changed:
	// --refresh waits for a comparison later than the request (to the
	// second), so the clock first passes the last recorded one.
	last := getApp(t, env, ns, "greeting").Status.ReconciledAt
	if last == nil {
		t.Fatal("the synced app has no status.reconciledAt")
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := testenv.Eventually(wctx, 50*time.Millisecond, func(context.Context) (bool, error) {
		return time.Now().Truncate(time.Second).After(last.Time), nil
	}); err != nil {
		t.Fatal(err)
	}
	if r = soll(t, nil, "app", "diff", "greeting", "--refresh", "--timeout", "20s"); r.err != nil {
		t.Fatalf("app diff --refresh of an app in sync: exit %d (%v), want 0", ExitCode(r.err), r.err)
	}
	if at := getApp(t, env, ns, "greeting").Status.ReconciledAt; at == nil || !at.After(last.Time) {
		t.Errorf("the requested comparison did not record its time: reconciledAt %v, before %v", at, last)
	}
	git.Commit(t, "config", gitserver.DefaultBranch, gitserver.Change{Message: "v2", Files: files("bonjour", newSecret)})
	mustRun(t, "app", "refresh", "greeting", "--hard")
	wctx, cancel = context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := testenv.Eventually(wctx, 200*time.Millisecond, func(context.Context) (bool, error) {
		return ExitCode(soll(t, nil, "app", "diff", "greeting", "-o", "name").err) == 1, nil
	}); err != nil {
		t.Fatalf("app diff never saw the new commit: %v", err)
	}
	r = diff()
	wantContains(t, "app diff of changed objects", r.out,
		"===== ConfigMap "+dest+"/greeting (OutOfSync, health Healthy) =====",
		"-  text: hello\n+  text: bonjour\n", "   unchanged: same\n",
		"===== Secret "+dest+"/db (OutOfSync, health Healthy) =====",
		"-  password: ++++++++ (redacted, old)\n+  password: ++++++++ (redacted, new)\n")

	// --core reads the status only: the resources, and a note saying why
	// there is no diff.
	r = soll(t, nil, "app", "diff", "greeting", "--kubeconfig", env.KubeconfigPath, "-n", ns)
	if ExitCode(r.err) != 1 {
		t.Fatalf("app diff --core: exit %d (%v), want 1", ExitCode(r.err), r.err)
	}
	wantContains(t, "app diff --core", r.out, "greeting   OutOfSync")
	wantContains(t, "app diff --core", r.errOut, "note: --core reads the app's status")
}
