package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv/gitserver"
)

const projectFiles = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  k: v\n"

func newProject(ns, name string, mutate func(*sollv1.ProjectSpec)) *sollv1.Project {
	p := &sollv1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: sollv1.ProjectSpec{
			SourceRepos:  []string{"*"},
			Destinations: []sollv1.ProjectDestination{{Server: "*", Namespace: "*"}},
		},
	}
	if mutate != nil {
		mutate(&p.Spec)
	}
	return p
}

func comparisonError(h *harness, name string) string {
	h.t.Helper()
	app := h.waitForApp(name, "a project violation", time.Minute, func(a *sollv1.Application) bool {
		c := comparisonFailure(a)
		return c != nil && c.Reason == "ProjectViolation"
	})
	return comparisonFailure(app).Message
}

// TestProjectRulesAreEnforced: an Application can never deploy from a
// repository, or a kind, its Project forbids, even when its spec was
// written straight into the cluster; nothing of it is applied.
func TestProjectRulesAreEnforced(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{files: map[string]string{
		"app/cm.yaml":     projectFiles,
		"app/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  k: v\n",
	}})
	mustCreate(t, h, newProject(h.sollNS, "team-a", func(s *sollv1.ProjectSpec) {
		s.SourceRepos = []string{"https://git.example.com/team-a/*"}
	}))
	mustCreate(t, h, newProject(h.sollNS, "no-secrets", func(s *sollv1.ProjectSpec) {
		s.NamespaceResourceDenyList = []sollv1.GroupKind{{Group: "", Kind: "Secret"}}
	}))
	auto := func(project string) func(*sollv1.Application) {
		return func(a *sollv1.Application) {
			a.Spec.Project = project
			a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}}
		}
	}
	h.createAppNamed("wrong-repo", "app", auto("team-a"))
	h.createAppNamed("secret-kind", "app", auto("no-secrets"))
	h.createAppNamed("no-project", "app", auto("missing"))

	if msg := comparisonError(h, "wrong-repo"); !strings.Contains(msg, "spec.source.repoURL") || !strings.Contains(msg, "team-a") {
		t.Errorf("wrong repository: condition %q does not name the field and the project", msg)
	}
	if msg := comparisonError(h, "secret-kind"); !strings.Contains(msg, "Secret") || !strings.Contains(msg, "spec.namespaceResourceDenyList") {
		t.Errorf("forbidden kind: condition %q does not name the kind and the list", msg)
	}
	app := h.waitForApp("no-project", "a missing project", time.Minute, func(a *sollv1.Application) bool {
		c := comparisonFailure(a)
		return c != nil && strings.Contains(c.Message, "Project missing does not exist")
	})
	_ = app
	if _, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).Get(context.Background(), "settings", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("an app breaking its project's rules deployed objects (get: %v)", err)
	}

	// Allowing the repository lets the app sync at once: the Project is
	// watched (a failed comparison is otherwise retried after 30 s).
	var p sollv1.Project
	if err := h.env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.sollNS, Name: "team-a"}, &p); err != nil {
		t.Fatal(err)
	}
	p.Spec.SourceRepos = append(p.Spec.SourceRepos, h.git.HTTPURL(h.repo))
	if err := h.env.Client.Update(context.Background(), &p); err != nil {
		t.Fatal(err)
	}
	h.waitForApp("wrong-repo", "synced once its project allows the repository", 15*time.Second, syncedHealthy)
}

// TestSyncWindowsHoldSyncsBack: an active deny window keeps automated syncs
// from running (with a condition saying why) and refuses manual ones unless
// the window allows them.
func TestSyncWindowsHoldSyncsBack(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{files: map[string]string{"app/cm.yaml": projectFiles}})
	mustCreate(t, h, newProject(h.sollNS, "frozen", func(s *sollv1.ProjectSpec) {
		s.SyncWindows = []sollv1.SyncWindow{{
			Kind: "deny", Schedule: "* * * * *", Duration: metav1.Duration{Duration: time.Hour},
			Applications: []string{"*"},
		}}
	}))
	h.createAppNamed("frozen", "app", func(a *sollv1.Application) {
		a.Spec.Project = "frozen"
		a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}}
	})
	app := h.waitForApp("frozen", "held back by the window", time.Minute, func(a *sollv1.Application) bool {
		c := condition(a, sollv1.ConditionSyncWindowBlocked)
		return c != nil && c.Status == metav1.ConditionTrue
	})
	if msg := condition(app, sollv1.ConditionSyncWindowBlocked).Message; !strings.Contains(msg, "deny window") {
		t.Errorf("condition %q does not name the window", msg)
	}
	if app.Status.OperationState != nil {
		t.Errorf("an automated sync ran during a deny window: %s", describe(app))
	}

	h.requestSyncOf("frozen")
	app = h.waitForApp("frozen", "manual sync refused", time.Minute, func(a *sollv1.Application) bool {
		st := a.Status.OperationState
		return st != nil && st.Phase == sollv1.OperationFailed
	})
	if msg := app.Status.OperationState.Message; !strings.Contains(msg, "sync windows") {
		t.Errorf("operation message %q does not blame the sync window", msg)
	}
	if _, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).Get(context.Background(), "settings", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a sync ran during a deny window (get: %v)", err)
	}
}

// configMapIn is a ConfigMap manifest named name that sets its own
// namespace (none when ns is "").
func configMapIn(ns, name string) string {
	meta := "  name: " + name + "\n"
	if ns != "" {
		meta += "  namespace: " + ns + "\n"
	}
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n" + meta + "data:\n  role: admin\n"
}

// TestObjectsStayInTheProjectsNamespaces: an object that sets its own
// metadata.namespace is held to the Project's destinations like the app's
// destination: outside them the comparison fails naming the object, the
// namespace and the rule, and nothing of the app is applied. soll's own
// namespace is never allowed by a pattern, not even "*", only by an entry
// naming it exactly.
func TestObjectsStayInTheProjectsNamespaces(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{files: map[string]string{"ok/cm.yaml": configMapIn("", "ok")}})
	ctx := context.Background()
	// Test namespaces share the prefix t-<test name>-, so this pattern
	// matches both the destination and soll's namespace.
	prefix := h.destNS[:strings.LastIndex(h.destNS, "-")+1]
	if !strings.HasPrefix(h.sollNS, prefix) {
		t.Fatalf("namespaces %s and %s do not share the prefix %s", h.destNS, h.sollNS, prefix)
	}
	otherName := "escape-" + h.destNS[len(prefix):]
	t.Cleanup(func() {
		_ = h.env.Kube.CoreV1().ConfigMaps("default").Delete(context.Background(), otherName, metav1.DeleteOptions{})
	})
	h.git.Commit(t, h.repo, gitserver.DefaultBranch, gitserver.Change{Message: "objects in other namespaces", Files: map[string]string{
		"escape/ok.yaml":    configMapIn("", "ok"),
		"escape/soll.yaml":  configMapIn(h.sollNS, "soll-rbac"),
		"escape/other.yaml": configMapIn("default", otherName),
		"insoll/cm.yaml":    configMapIn(h.sollNS, "app-config"),
	}})
	mustCreate(t, h, newProject(h.sollNS, "team-a", func(s *sollv1.ProjectSpec) {
		s.Destinations = []sollv1.ProjectDestination{{Server: "*", Namespace: prefix + "*"}}
	}))
	mustCreate(t, h, newProject(h.sollNS, "star", nil))
	mustCreate(t, h, newProject(h.sollNS, "exact", func(s *sollv1.ProjectSpec) {
		s.Destinations = append(s.Destinations, sollv1.ProjectDestination{Server: "*", Namespace: h.sollNS})
	}))
	auto := func(project string) func(*sollv1.Application) {
		return func(a *sollv1.Application) {
			a.Spec.Project = project
			a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}}
		}
	}
	h.createAppNamed("escape", "escape", auto("team-a"))
	h.createAppNamed("star-into-soll", "insoll", auto("star"))
	h.createAppNamed("default-into-soll", "insoll", auto(""))
	h.createAppNamed("dest-soll", "ok", func(a *sollv1.Application) {
		auto("star")(a)
		a.Spec.Destination.Namespace = h.sollNS
	})
	h.createAppNamed("exact-into-soll", "insoll", auto("exact"))

	msg := comparisonError(h, "escape")
	for _, want := range []string{
		"ConfigMap " + h.sollNS + "/soll-rbac: namespace " + h.sollNS + " is not permitted in project team-a",
		"soll's own namespace, which only an entry naming it exactly allows",
		"ConfigMap default/" + otherName + ": namespace default is not permitted in project team-a",
		"spec.destinations allows server * namespace " + prefix + "*",
		"leave metadata.namespace unset",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("condition %q\ndoes not contain %q", msg, want)
		}
	}
	for _, name := range []string{"star-into-soll", "default-into-soll"} {
		if msg := comparisonError(h, name); !strings.Contains(msg, "ConfigMap "+h.sollNS+"/app-config: namespace "+h.sollNS+" is not permitted") {
			t.Errorf("%s: condition %q does not refuse soll's namespace", name, msg)
		}
	}
	if msg := comparisonError(h, "dest-soll"); !strings.Contains(msg, "spec.destination:") || !strings.Contains(msg, "soll's own namespace") {
		t.Errorf("destination in soll's namespace: condition %q", msg)
	}

	// An entry naming soll's namespace exactly lets an admin's app write
	// there (app of apps).
	h.waitForApp("exact-into-soll", "synced into soll's namespace", time.Minute, syncedHealthy)
	if _, err := h.env.Kube.CoreV1().ConfigMaps(h.sollNS).Get(ctx, "app-config", metav1.GetOptions{}); err != nil {
		t.Errorf("the app of a project naming soll's namespace did not deploy there: %v", err)
	}
	// Nothing of the refused apps was applied, not even their objects
	// in allowed namespaces.
	h.settle("escape", "normal")
	for _, obj := range []struct{ ns, name string }{{h.sollNS, "soll-rbac"}, {"default", otherName}, {h.destNS, "ok"}} {
		if _, err := h.env.Kube.CoreV1().ConfigMaps(obj.ns).Get(ctx, obj.name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("ConfigMap %s/%s of a refused app exists (get: %v)", obj.ns, obj.name, err)
		}
	}
}
