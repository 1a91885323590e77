package controller_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/repocreds"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

// hookJob is a Helm hook Job template; kwok completes its pod.
func hookJob(name, hook, weight string) string {
	return jobYAML(`name: ` + name + `, annotations: {helm.sh/hook: ` + hook + `, helm.sh/hook-weight: "` + weight + `"}`)
}

// webChart is a chart in Git with a vendored dependency (charts/cache),
// install, upgrade, pre-delete, post-delete and test hooks, and a
// ConfigMap of its values.
func webChart(version string) map[string]string {
	return map[string]string{
		"charts/web/Chart.yaml":                       "apiVersion: v2\nname: web\nversion: " + version + "\ndependencies:\n- name: cache\n  version: 0.1.0\n  condition: cache.enabled\n",
		"charts/web/values.yaml":                      "greeting: hello\nreplicas: 1\ncache:\n  enabled: true\n  size: small\n",
		"charts/web/templates/config.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  release: {{ .Release.Name | quote }}\n  namespace: {{ .Release.Namespace | quote }}\n",
		"charts/web/templates/install-hook.yaml":      hookJob("install-hook", "pre-install", "-1"),
		"charts/web/templates/post-install-hook.yaml": hookJob("post-install-hook", "post-install", "0"),
		"charts/web/templates/upgrade-hook.yaml":      hookJob("upgrade-hook", "pre-upgrade", "0"),
		"charts/web/templates/delete-hook.yaml":       hookJob("delete-hook", "pre-delete", "0"),
		"charts/web/templates/post-delete-hook.yaml":  hookJob("post-delete-hook", "post-delete", "0"),
		"charts/web/templates/test-hook.yaml":         hookJob("test-hook", "test", "0"),
		"charts/web/charts/cache/Chart.yaml":          "apiVersion: v2\nname: cache\nversion: 0.1.0\n",
		"charts/web/charts/cache/templates/cm.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cache-{{ .Values.size }}\n",
	}
}

// hookNames lists the hooks of the app's last operation.
func hookNames(app *sollv1.Application) []string {
	var out []string
	if st := app.Status.OperationState; st != nil && st.SyncResult != nil {
		for _, r := range st.SyncResult.Resources {
			if r.HookType != "" {
				out = append(out, r.Name)
			}
		}
	}
	slices.Sort(out)
	return out
}

func succeededAfter(n int) func(*sollv1.Application) bool {
	return func(a *sollv1.Application) bool {
		st := a.Status.OperationState
		return len(a.Status.History) >= n && st != nil && st.Phase == sollv1.OperationSucceeded && syncedHealthy(a)
	}
}

// TestHelmChartHooksInstallThenUpgrade proves Helm's hook semantics: the
// first sync runs pre-install and post-install hooks only, a later sync
// pre-upgrade hooks only, test and delete hooks never run in a sync, and
// deleting the Application runs the pre-delete hook before its resources
// go and the post-delete hook after.
func TestHelmChartHooksInstallThenUpgrade(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{files: webChart("1.0.0")})
	h.createAppNamed("web", "charts/web", func(a *sollv1.Application) {
		a.Spec.Source.Helm = &sollv1.HelmSource{Parameters: []sollv1.HelmParameter{{Name: "cache.size", Value: "large"}}}
	})
	h.requestSyncOf("web")
	app := h.waitForApp("web", "first sync", 2*time.Minute, succeededAfter(1))
	if got, want := hookNames(app), []string{"install-hook", "post-install-hook"}; !slices.Equal(got, want) {
		t.Errorf("first sync ran hooks %v, want %v", got, want)
	}
	if app.Status.SourceTypes[0] != sollv1.SourceTypeHelm {
		t.Errorf("source type = %v", app.Status.SourceTypes)
	}
	cm := h.configMap("web-config")
	if cm.Data["greeting"] != "hello" || cm.Data["release"] != "web" || cm.Data["namespace"] != h.destNS {
		t.Errorf("rendered values = %v", cm.Data)
	}
	h.configMap("cache-large") // the dependency, with the parameter
	if _, err := h.env.Kube.BatchV1().Jobs(h.destNS).Get(context.Background(), "test-hook", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the test hook ran during a sync (get: %v)", err)
	}

	// A new chart version: an upgrade.
	files := webChart("1.1.0")
	files["charts/web/values.yaml"] = strings.Replace(files["charts/web/values.yaml"], "hello", "bonjour", 1)
	h.git.Commit(t, h.repo, gitserver.DefaultBranch, gitserver.Change{Message: "web 1.1.0", Files: files})
	h.settle("web", "hard")
	h.requestSyncOf("web")
	app = h.waitForApp("web", "second sync", 2*time.Minute, succeededAfter(2))
	if d := app.Status.Deletion; d == nil || len(d.Hooks) != 2 {
		t.Errorf("status.deletion = %+v, want the pre-delete and the post-delete hook", d)
	}
	if got, want := hookNames(app), []string{"upgrade-hook"}; !slices.Equal(got, want) {
		t.Errorf("upgrade ran hooks %v, want %v", got, want)
	}
	if got := h.configMap("web-config").Data["greeting"]; got != "bonjour" {
		t.Errorf("greeting after upgrade = %q", got)
	}

	// Deletion runs the pre-delete hook, then deletes the resources, then
	// runs the post-delete hook; no hook's Job is left.
	tl := watchTimeline(t, h)
	h.deleteApp("web", true)
	h.waitGone("web", 2*time.Minute)
	tl.inOrder(t, "COMPLETE Job/delete-hook", "DELETED ConfigMap/web-config", "ADDED Job/post-delete-hook", "COMPLETE Job/post-delete-hook")
	if tl.at("ADDED Job/post-delete-hook") < tl.at("DELETED ConfigMap/cache-large") {
		t.Errorf("the post-delete hook ran before every resource was gone; timeline:%s", tl)
	}
	h.waitJobGone("delete-hook")
	h.waitJobGone("post-delete-hook")
}

// TestMultiSourceHelmValuesFromAnotherRepository deploys a chart from one
// repository with a value file from a second one ($values), reached with a
// credential template matched by URL prefix instead of a credentialsRef.
func TestMultiSourceHelmValuesFromAnotherRepository(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{files: webChart("1.0.0")})
	h.git.CreateRepo(t, "env-values", "")
	h.git.Commit(t, "env-values", gitserver.DefaultBranch, gitserver.Change{Message: "prod values", Files: map[string]string{
		"prod/web.yaml": "greeting: from-the-values-repo\ncache:\n  enabled: false\n",
	}})
	url := h.git.HTTPURL(h.repo)
	prefix := url[:strings.LastIndex(url, "/")] // the server: both repositories
	mustCreate(t, h, credentialTemplate(h.sollNS, prefix, "ci", "s3cret-git-password"))

	h.createAppNamed("multi", "", func(a *sollv1.Application) {
		a.Spec.Source = nil
		a.Spec.Sources = []sollv1.ApplicationSource{
			{RepoURL: h.git.HTTPURL(h.repo), TargetRevision: "main", Path: "charts/web",
				Helm: &sollv1.HelmSource{ReleaseName: "shop", ValueFiles: []string{"$values/prod/web.yaml"}}},
			{RepoURL: h.git.HTTPURL("env-values"), TargetRevision: "main", Ref: "values"},
		}
	})
	h.requestSyncOf("multi")
	app := h.waitForApp("multi", "Synced and Healthy", 2*time.Minute, succeededAfter(1))
	if got := h.configMap("shop-config").Data["greeting"]; got != "from-the-values-repo" {
		t.Errorf("greeting = %q, want the value from the second repository", got)
	}
	if _, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).Get(context.Background(), "cache-small", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the dependency disabled by the second repository's values was deployed (get: %v)", err)
	}
	if len(app.Status.Sync.Revisions) != 2 || app.Status.Sync.Revisions[0] == app.Status.Sync.Revisions[1] {
		t.Errorf("revisions = %v, want one commit per source", app.Status.Sync.Revisions)
	}
	if got := app.Status.SourceTypes; !slices.Equal(got, []sollv1.SourceType{sollv1.SourceTypeHelm, sollv1.SourceTypeRef}) {
		t.Errorf("source types = %v", got)
	}
	if len(app.Status.History) == 0 || len(app.Status.History[0].Sources) != 2 {
		t.Errorf("history does not record both sources: %+v", app.Status.History)
	}
}

// TestMultiSourceDuplicateObjectNamesBothSources: the same object from two
// sources is an error naming both, and nothing is applied.
func TestMultiSourceDuplicateObjectNamesBothSources(t *testing.T) {
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n"
	h := newHarnessWith(t, harnessOptions{files: map[string]string{"a/cm.yaml": cm, "b/cm.yaml": cm, "b/other.yaml": strings.Replace(cm, "shared", "other", 1)}})
	h.createAppNamed("dup", "", func(a *sollv1.Application) {
		src := *a.Spec.Source
		a.Spec.Source = nil
		first, second := src, src
		first.Path, second.Path = "a", "b"
		a.Spec.Sources = []sollv1.ApplicationSource{first, second}
		a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}}
	})
	app := h.waitForApp("dup", "a render error", time.Minute, func(a *sollv1.Application) bool {
		c := comparisonFailure(a)
		return c != nil && c.Reason == "RenderError"
	})
	msg := comparisonFailure(app).Message
	for _, want := range []string{"defined twice", "a/cm.yaml:1 (document 1) of spec.sources[0]", "b/cm.yaml:1 (document 1) of spec.sources[1]"} {
		if !strings.Contains(msg, want) {
			t.Errorf("condition %q does not say %q", msg, want)
		}
	}
	if _, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).Get(context.Background(), "other", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("an object of a failed render was applied (get: %v)", err)
	}
}

// TestSSHRepositoryTrustsKnownHostsFromConfigMap: an SSH repository is
// reached with a key from a repository Secret only once its host key is in
// the known-hosts ConfigMap; before that the comparison fails on the host
// key and nothing is fetched.
func TestSSHRepositoryTrustsKnownHostsFromConfigMap(t *testing.T) {
	env := testenv.Cluster(t)
	key := gitserver.NewKeyPair(t)
	srv := gitserver.NewSSH(t, gitserver.SSHOptions{AuthorizedKeys: []gossh.PublicKey{key.PublicKey}})
	srv.CreateRepo(t, "ssh-config", "")
	srv.Commit(t, "ssh-config", gitserver.DefaultBranch, gitserver.Change{Message: "cm", Files: map[string]string{
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: over-ssh\n",
	}})
	h := newHarnessWith(t, harnessOptions{env: env, files: map[string]string{"unused/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unused\n"}})
	secret := credentialTemplate(h.sollNS, srv.SSHURL("ssh-config"), "", "")
	secret.Labels[sollv1.SecretTypeLabel] = sollv1.SecretTypeRepository
	secret.StringData = map[string]string{"url": srv.SSHURL("ssh-config"), "sshPrivateKey": string(key.PrivateKeyPEM)}
	mustCreate(t, h, secret)
	h.createAppNamed("ssh", "app", func(a *sollv1.Application) {
		a.Spec.Source.RepoURL = srv.SSHURL("ssh-config")
		a.Spec.Source.CredentialsRef = nil
	})
	app := h.waitForApp("ssh", "a host key error", time.Minute, func(a *sollv1.Application) bool {
		c := comparisonFailure(a)
		return c != nil && c.Reason == "SourceError"
	})
	if msg := comparisonFailure(app).Message; !strings.Contains(msg, "host key") {
		t.Errorf("condition %q does not blame the unknown host key", msg)
	}
	mustCreate(t, h, knownHosts(h.sollNS, srv.KnownHostsLine()))
	h.settle("ssh", "hard")
	h.requestSyncOf("ssh")
	h.waitForApp("ssh", "Synced over SSH", 2*time.Minute, succeededAfter(1))
	h.configMap("over-ssh")
}

// credentialTemplate is a repo-creds Secret for every repository under
// prefix.
func credentialTemplate(ns, prefix, user, password string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "repo-creds-", Namespace: ns,
			Labels: map[string]string{sollv1.SecretTypeLabel: sollv1.SecretTypeRepoCreds},
		},
		StringData: map[string]string{"url": prefix, "username": user, "password": password},
	}
}

func knownHosts(ns, lines string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: repocreds.KnownHostsConfigMap, Namespace: ns},
		Data:       map[string]string{repocreds.KnownHostsKey: lines + "\n"},
	}
}
