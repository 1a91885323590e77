package cli

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/serve/servetest"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

// loginAdmin starts soll for a fresh namespace, logs the CLI in as admin
// (context "local", in a configuration of the test's own) and returns the
// namespace and the server's URL.
func loginAdmin(t *testing.T, env *testenv.Env) (ns, base string) {
	t.Helper()
	ns = env.Namespace(t)
	t.Setenv(ConfigEnv, filepath.Join(t.TempDir(), "soll", "config"))
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig") // nothing may use it
	base = servetest.Start(t, env, ns, servetest.Options{InsecureCookies: true})
	r := soll(t, withStdin(initialPassword(t, env, ns)+"\n"), "login", base, "--username", "admin", "--password-stdin", "--name", "local")
	if r.err != nil {
		t.Fatalf("login: %v", r.err)
	}
	return ns, base
}

func getProject(t *testing.T, env *testenv.Env, ns, name string) *sollv1.Project {
	t.Helper()
	p := &sollv1.Project{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestProjCommands drives soll proj against soll's API: create, the
// helpers that change one list (sources, destinations, kinds, sync
// windows, roles, policies, groups), a role token that reads the apps of
// its project and nothing else until it is revoked, set and delete.
func TestProjCommands(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns, base := loginAdmin(t, env)
	destA, destB := env.Namespace(t), env.Namespace(t)
	git := gitserver.NewHTTP(t, gitserver.HTTPOptions{})
	git.CreateRepo(t, "config", "")
	git.Commit(t, "config", gitserver.DefaultBranch, gitserver.Change{Message: "v1", Files: map[string]string{
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  text: hello\n"}})
	repo := git.HTTPURL("config")

	out := mustRun(t, "proj", "create", "team-a", "--description", "Team A", "--source", repo, "--dest", "https://kubernetes.default.svc,"+destA)
	wantContains(t, "proj create", out, "project team-a created on soll at "+base)
	wantError(t, soll(t, nil, "proj", "create", "team-a").err, "project team-a already exists on soll at "+base+": change it with soll proj set")
	wantError(t, soll(t, nil, "proj", "create", "bad", "--dest", "in-cluster").err, `--dest "in-cluster": want CLUSTER,NAMESPACE`)
	mustRun(t, "proj", "create", "team-b", "--source", "*", "--dest", "*,"+destB)
	p := getProject(t, env, ns, "team-a")
	if p.Spec.Description != "Team A" || !slices.Equal(p.Spec.SourceRepos, []string{repo}) ||
		!slices.Equal(p.Spec.Destinations, []sollv1.ProjectDestination{{Server: "https://kubernetes.default.svc", Namespace: destA}}) {
		t.Fatalf("created project: %+v", p.Spec)
	}
	names := strings.Fields(mustRun(t, "proj", "list", "-o", "name"))
	if !slices.Contains(names, "team-a") || !slices.Contains(names, "team-b") {
		t.Errorf("proj list -o name = %v", names)
	}
	wantContains(t, "proj list", mustRun(t, "proj", "list"), "NAME", "team-a", repo, "https://kubernetes.default.svc,"+destA, "Team A")
	wantContains(t, "proj get -o yaml", mustRun(t, "proj", "get", "team-a", "-o", "yaml"), "kind: Project", "description: Team A")
	wantError(t, soll(t, nil, "proj", "get", "nope").err, "project nope not found on soll at "+base+": list them with soll proj list")

	// Sources and destinations, one entry at a time.
	wantContains(t, "add-source", mustRun(t, "proj", "add-source", "team-a", "https://git.example.com/team-a/*"), "project team-a: source https://git.example.com/team-a/* added")
	wantContains(t, "add-source again", mustRun(t, "proj", "add-source", "team-a", "https://git.example.com/team-a/*"), "nothing to do")
	wantContains(t, "remove-source", mustRun(t, "proj", "remove-source", "team-a", "https://git.example.com/team-a/*"), "source https://git.example.com/team-a/* removed")
	wantError(t, soll(t, nil, "proj", "remove-source", "team-a", "https://nope/*").err, "project team-a has no source https://nope/* in spec.sourceRepos (it has "+repo+")")
	mustRun(t, "proj", "add-destination", "team-a", "in-cluster", "extra-*")
	if d := getProject(t, env, ns, "team-a").Spec.Destinations; len(d) != 2 || d[1] != (sollv1.ProjectDestination{Name: "in-cluster", Namespace: "extra-*"}) {
		t.Errorf("destinations after add-destination: %+v", d)
	}
	mustRun(t, "proj", "remove-destination", "team-a", "in-cluster", "extra-*")
	if d := getProject(t, env, ns, "team-a").Spec.Destinations; len(d) != 1 {
		t.Errorf("destinations after remove-destination: %+v", d)
	}

	// Kinds: the smallest change that allows or denies.
	wantContains(t, "allow-cluster-resource", mustRun(t, "proj", "allow-cluster-resource", "team-a", "", "Namespace"),
		"Namespace allowed: added to spec.clusterResourceAllowList")
	wantContains(t, "deny-namespace-resource", mustRun(t, "proj", "deny-namespace-resource", "team-a", "core", "Secret"),
		"Secret denied: added to spec.namespaceResourceDenyList")
	wantContains(t, "allow-namespace-resource", mustRun(t, "proj", "allow-namespace-resource", "team-a", "apps", "Deployment"), "allows apps/Deployment already: nothing to do")
	p = getProject(t, env, ns, "team-a")
	if !slices.Equal(p.Spec.ClusterResourceAllowList, []sollv1.GroupKind{{Kind: "Namespace"}}) || !slices.Equal(p.Spec.NamespaceResourceDenyList, []sollv1.GroupKind{{Kind: "Secret"}}) {
		t.Errorf("kinds: %+v", p.Spec)
	}
	mustRun(t, "proj", "deny-cluster-resource", "team-a", "", "Namespace")
	mustRun(t, "proj", "allow-namespace-resource", "team-a", "", "Secret")
	if p = getProject(t, env, ns, "team-a"); len(p.Spec.ClusterResourceAllowList)+len(p.Spec.NamespaceResourceDenyList) != 0 {
		t.Errorf("kinds after undoing: %+v", p.Spec)
	}

	// Sync windows.
	wantContains(t, "windows add", mustRun(t, "proj", "windows", "add", "team-a", "--kind", "deny", "--schedule", "0 22 * * *", "--duration", "1h",
		"--time-zone", "Europe/Berlin", "--applications", "*", "--manual-sync"), `sync window 0 added (deny "0 22 * * *" Europe/Berlin for 1h0m0s)`)
	wantContains(t, "windows list", mustRun(t, "proj", "windows", "list", "team-a"), "ID   KIND", "0    deny   0 22 * * *   1h0m0s     Europe/Berlin")
	if w := getProject(t, env, ns, "team-a").Spec.SyncWindows; len(w) != 1 || !w[0].ManualSync || w[0].Duration.Duration != time.Hour {
		t.Errorf("sync windows: %+v", w)
	}
	wantError(t, soll(t, nil, "proj", "windows", "add", "team-a", "--kind", "deny", "--schedule", "0 25 * * *", "--duration", "1h", "--namespaces", "*").err, "--schedule: ")
	wantError(t, soll(t, nil, "proj", "windows", "rm", "team-a", "3").err, "project team-a has 1 sync window(s), none with ID 3")
	mustRun(t, "proj", "windows", "rm", "team-a", "0")
	if r := soll(t, nil, "proj", "windows", "list", "team-a"); r.err != nil || r.out != "" || !strings.Contains(r.errOut, "project team-a has no sync windows") {
		t.Errorf("empty windows list: %+v", r)
	}

	// A role that reads team-a's apps, with a token.
	mustRun(t, "proj", "role", "create", "team-a", "reader", "--description", "reads")
	wantError(t, soll(t, nil, "proj", "role", "create", "team-a", "reader").err, "project team-a has a role reader already")
	wantContains(t, "add-policy", mustRun(t, "proj", "role", "add-policy", "team-a", "reader", "--action", "get"),
		"role reader: policy added: p, proj:team-a:reader, applications, get, team-a/*, allow")
	wantError(t, soll(t, nil, "proj", "role", "add-policy", "team-a", "reader", "--action", "get", "--resource", "projects").err,
		"a project role may grant on applications and logs only")
	mustRun(t, "proj", "role", "add-group", "team-a", "reader", "devs")
	wantError(t, soll(t, nil, "proj", "role", "add-group", "team-a", "writer", "devs").err, "project team-a has no role writer (it has reader): create it with soll proj role create team-a writer")
	wantContains(t, "role list", mustRun(t, "proj", "role", "list", "team-a", "-o", "wide"), "reader", "devs", "p, proj:team-a:reader, applications, get, team-a/*, allow")
	if r := getProject(t, env, ns, "team-a").Spec.Roles; len(r) != 1 || len(r[0].Policies) != 1 || !slices.Equal(r[0].Groups, []string{"devs"}) {
		t.Errorf("roles: %+v", r)
	}

	mustRun(t, "app", "create", "web-a", "--project", "team-a", "--repo", repo, "--path", "app", "--dest-namespace", destA)
	mustRun(t, "app", "create", "web-b", "--project", "team-b", "--repo", repo, "--path", "app", "--dest-namespace", destB)
	r := soll(t, nil, "proj", "role", "create-token", "team-a", "reader", "--expires-in", "1h", "--id", "t1")
	if r.err != nil {
		t.Fatal(r.err)
	}
	token := strings.TrimSpace(r.out)
	if strings.Count(r.out, "\n") != 1 || len(token) < 20 || strings.Contains(r.errOut, token) {
		t.Fatalf("create-token printed %q on stdout and %q on stderr, want the token alone on stdout", r.out, r.errOut)
	}
	wantContains(t, "create-token", r.errOut, "token t1 for role reader of project team-a, expires at ")
	wantContains(t, "proj get", mustRun(t, "proj", "get", "team-a"), "Roles:", "reader", "t1 (until ")
	testenv.WaitFor(t, "the role token to read web-a", time.Minute, func() bool {
		r := soll(t, nil, "app", "get", "web-a", "--auth-token", token)
		return r.err == nil && strings.Contains(r.out, "Project:          team-a")
	})
	// team-b's app does not exist for team-a's role.
	wantError(t, soll(t, nil, "app", "get", "web-b", "--auth-token", token).err, "application web-b not found")
	wantError(t, soll(t, nil, "app", "sync", "web-a", "--auth-token", token).err, "HTTP 403")
	wantError(t, soll(t, nil, "proj", "role", "delete-token", "team-a", "reader", "nope").err, "role reader of project team-a has no token nope")
	wantContains(t, "delete-token", mustRun(t, "proj", "role", "delete-token", "team-a", "reader", "t1"), "token t1 of role reader of project team-a revoked")
	testenv.WaitFor(t, "the revoked token to be refused", time.Minute, func() bool {
		return strings.Contains(errText(soll(t, nil, "app", "get", "web-a", "--auth-token", token).err), "HTTP 401")
	})

	mustRun(t, "proj", "role", "remove-policy", "team-a", "reader", "--action", "get")
	mustRun(t, "proj", "role", "remove-group", "team-a", "reader", "devs")
	mustRun(t, "proj", "role", "delete", "team-a", "reader")
	if r := getProject(t, env, ns, "team-a").Spec.Roles; len(r) != 0 {
		t.Errorf("roles after delete: %+v", r)
	}

	wantError(t, soll(t, nil, "proj", "set", "team-a").err, "nothing to set")
	mustRun(t, "proj", "set", "team-a", "--description", "Team A's services", "--orphaned-resources-warn")
	if p = getProject(t, env, ns, "team-a"); p.Spec.Description != "Team A's services" || p.Spec.OrphanedResources == nil || !p.Spec.OrphanedResources.Warn ||
		len(p.Spec.SourceRepos) != 1 {
		t.Errorf("after proj set: %+v", p.Spec)
	}
	wantError(t, soll(t, nil, "proj", "delete", "team-a").err, "project team-a still has 1 application(s): web-a")
	wantContains(t, "proj delete --force", mustRun(t, "proj", "delete", "team-a", "--force"), "project team-a deleted")
	wantError(t, soll(t, nil, "proj", "get", "team-a").err, "project team-a not found")
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
