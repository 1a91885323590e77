package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render/sops"
	"soll.dev/internal/render/sops/sopstest"
	"soll.dev/internal/repocreds"
	"soll.dev/internal/testenv/gitserver"
)

// reloadDeadline is how long a configuration change may take to reach
// the apps it concerns. The harnesses of these tests compare apps once an
// hour and retry failed comparisons once an hour: only the reload can
// explain a change within it.
const reloadDeadline = 20 * time.Second

// newReloadHarness is a harness whose controller compares apps, and
// retries failed comparisons, only once an hour.
func newReloadHarness(t *testing.T, files map[string]string) *harness {
	return newHarnessWith(t, harnessOptions{files: files, refreshInterval: time.Hour, errorRetryInterval: time.Hour})
}

// waitForReload waits reloadDeadline for app name to reach cond after a
// change made at changed, and logs how long it took.
func (h *harness) waitForReload(name, what string, changed time.Time, cond func(*sollv1.Application) bool) {
	h.t.Helper()
	h.waitForApp(name, what+" without a restart or a refresh", reloadDeadline, cond)
	h.t.Logf("%s: %s after the change", what, time.Since(changed).Round(time.Millisecond))
}

// TestSettingsReloadWithoutRefresh: a health check and an ignore rule
// added to the settings ConfigMap of a running controller reach the apps
// at once, not at their next refresh (an hour away), with no refresh
// requested: a Healthy app turns Degraded, an OutOfSync one Synced.
func TestSettingsReloadWithoutRefresh(t *testing.T) {
	h := newReloadHarness(t, map[string]string{
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: reload-demo}\ndata: {mode: broken, note: from-git}\n",
	})
	h.createAppNamed("reload", "app", func(a *sollv1.Application) {
		a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}}
	})
	h.waitForApp("reload", "Synced and Healthy without customizations", time.Minute, syncedHealthy)

	settings := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: sollv1.SettingsConfigMap, Namespace: h.sollNS},
		Data:       map[string]string{"resource.customizations.health.ConfigMap": brokenModeHealthCheck},
	}
	changed := time.Now()
	mustCreate(t, h, settings)
	h.waitForReload("reload", "Degraded by the new health check", changed, func(a *sollv1.Application) bool {
		return a.Status.Health != nil && a.Status.Health.Status == sollv1.HealthDegraded && strings.HasSuffix(a.Status.Health.Message, "mode is broken")
	})

	// Drift: data.note edited in the cluster. Automated sync without
	// self-heal leaves it OutOfSync.
	live := h.configMap("reload-demo")
	patch := client.MergeFrom(live.DeepCopy())
	live.Data["note"] = "edited-in-cluster"
	if err := h.env.Client.Patch(context.Background(), live, patch); err != nil {
		t.Fatal(err)
	}
	h.waitForApp("reload", "OutOfSync after an edit in the cluster", reloadDeadline, func(a *sollv1.Application) bool {
		return a.Status.Sync != nil && a.Status.Sync.Status == sollv1.SyncStatusOutOfSync
	})
	settings.Data["resource.customizations.ignoreDifferences.ConfigMap"] = "jsonPointers: [/data/note]"
	changed = time.Now()
	if err := h.env.Client.Update(context.Background(), settings); err != nil {
		t.Fatal(err)
	}
	h.waitForReload("reload", "Synced by the new ignore rule", changed, func(a *sollv1.Application) bool {
		return a.Status.Sync != nil && a.Status.Sync.Status == sollv1.SyncStatusSynced
	})
	if note := h.configMap("reload-demo").Data["note"]; note != "edited-in-cluster" {
		t.Errorf("data.note is %q: the app was synced, not its drift ignored", note)
	}
}

// TestRepositoryCredentialsReload: apps whose repository credentials are
// wrong recover as soon as the credentials are fixed, not at their next
// retry (an hour away): one names a repository Secret with a wrong
// password, the other a repository Secret that borrows a wrong password
// from another Secret (repocreds.CredentialsSecretKey), which is the one
// fixed.
func TestRepositoryCredentialsReload(t *testing.T) {
	const good = "s3cret-git-password" // the harness's Git server
	h := newReloadHarness(t, map[string]string{"app/cm.yaml": projectFiles})
	repoURL := h.git.HTTPURL(h.repo)
	repoSecret := func(name string, data map[string]string) *corev1.Secret {
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.sollNS, Labels: map[string]string{sollv1.SecretTypeLabel: sollv1.SecretTypeRepository}},
			StringData: data,
		}
	}
	own := repoSecret("own-creds", map[string]string{"url": repoURL, "username": "ci", "password": "wrong-password"})
	lender := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "vault-synced", Namespace: h.sollNS},
		StringData: map[string]string{"username": "ci", "password": "also-wrong"},
	}
	mustCreate(t, h, own)
	mustCreate(t, h, lender)
	mustCreate(t, h, repoSecret("borrowing-creds", map[string]string{"url": repoURL, repocreds.CredentialsSecretKey: lender.Name}))
	for name, ref := range map[string]string{"own": own.Name, "borrowing": "borrowing-creds"} {
		h.createAppNamed(name, "app", func(a *sollv1.Application) {
			a.Spec.Source.CredentialsRef = &sollv1.LocalSecretReference{Name: ref}
		})
	}
	refused := func(a *sollv1.Application) bool {
		c := comparisonFailure(a)
		return c != nil && strings.Contains(c.Message, "authentication failed")
	}
	compared := func(a *sollv1.Application) bool {
		c := condition(a, sollv1.ConditionCompared)
		return c != nil && c.Status == metav1.ConditionTrue && a.Status.Sync != nil && a.Status.Sync.Revision != ""
	}
	for _, name := range []string{"own", "borrowing"} {
		h.waitForApp(name, "refused by the Git server", time.Minute, refused)
	}
	for _, name := range []string{"own", "borrowing"} {
		if c := comparisonFailure(h.appNamed(name)); strings.Contains(c.Message, "wrong") {
			t.Errorf("%s: the condition shows the password: %s", name, c.Message)
		}
	}

	// Fixing the borrowed password wakes the app whose Secret borrows it,
	// and leaves the other one failing.
	setPassword := func(s *corev1.Secret) time.Time {
		t.Helper()
		var cur corev1.Secret
		if err := h.env.Client.Get(context.Background(), client.ObjectKeyFromObject(s), &cur); err != nil {
			t.Fatal(err)
		}
		cur.Data["password"] = []byte(good)
		at := time.Now()
		if err := h.env.Client.Update(context.Background(), &cur); err != nil {
			t.Fatal(err)
		}
		return at
	}
	h.waitForReload("borrowing", "Compared with the fixed borrowed password", setPassword(lender), compared)
	if !refused(h.appNamed("own")) {
		t.Fatalf("own: compared although its password is still wrong: %s", describe(h.appNamed("own")))
	}
	h.waitForReload("own", "Compared with the fixed password", setPassword(own), compared)
}

// TestKnownHostsReload: an app of an SSH repository whose host key soll
// does not know recovers as soon as the key is added to the known hosts
// ConfigMap, not at its next retry (an hour away).
func TestKnownHostsReload(t *testing.T) {
	key := gitserver.NewKeyPair(t)
	srv := gitserver.NewSSH(t, gitserver.SSHOptions{AuthorizedKeys: []gossh.PublicKey{key.PublicKey}})
	srv.CreateRepo(t, "ssh-config", "")
	srv.Commit(t, "ssh-config", gitserver.DefaultBranch, gitserver.Change{Message: "cm", Files: map[string]string{"app/cm.yaml": projectFiles}})
	h := newReloadHarness(t, map[string]string{"unused/cm.yaml": projectFiles})
	mustCreate(t, h, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "ssh-creds", Namespace: h.sollNS, Labels: map[string]string{sollv1.SecretTypeLabel: sollv1.SecretTypeRepository}},
		StringData: map[string]string{"url": srv.SSHURL("ssh-config"), "sshPrivateKey": string(key.PrivateKeyPEM)},
	})
	h.createAppNamed("ssh", "app", func(a *sollv1.Application) {
		a.Spec.Source.RepoURL = srv.SSHURL("ssh-config")
		a.Spec.Source.CredentialsRef = nil
	})
	h.waitForApp("ssh", "a host key error", time.Minute, func(a *sollv1.Application) bool {
		c := comparisonFailure(a)
		return c != nil && strings.Contains(c.Message, "host key")
	})
	changed := time.Now()
	mustCreate(t, h, knownHosts(h.sollNS, srv.KnownHostsLine()))
	h.waitForReload("ssh", "Compared over SSH with the added host key", changed, func(a *sollv1.Application) bool {
		return comparisonFailure(a) == nil && a.Status.Sync != nil && a.Status.Sync.Revision != ""
	})
}

// TestSOPSKeysReload: an app whose encrypted file no key of its Project
// decrypts recovers as soon as a Secret of keys serves its Project: here
// by a change of the Secret's annotation from another Project to the
// app's, not at its next retry (an hour away).
func TestSOPSKeysReload(t *testing.T) {
	ageKey, public := sopstest.NewKey(t)
	h := newReloadHarness(t, map[string]string{
		"app/db.yaml": string(sopstest.Encrypt(t, "app/db.yaml", []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: reload-db-password\n"), sopstest.Options{}, public)),
	})
	mustCreate(t, h, newProject(h.sollNS, "team-a", nil))
	keys := keysSecret(h.sollNS, "team-keys", "team-b", ageKey)
	mustCreate(t, h, keys)
	h.createAppNamed("sops", "app", func(a *sollv1.Application) { a.Spec.Project = "team-a" })
	h.waitForApp("sops", "a decryption error", time.Minute, func(a *sollv1.Application) bool {
		c := comparisonFailure(a)
		return c != nil && strings.Contains(c.Message, "no age key of project team-a can decrypt it")
	})
	patch := client.MergeFrom(keys.DeepCopy())
	keys.Annotations[sops.ProjectsAnnotation] = "team-b,team-a"
	changed := time.Now()
	if err := h.env.Client.Patch(context.Background(), keys, patch); err != nil {
		t.Fatal(err)
	}
	h.waitForReload("sops", "Compared with the keys now serving team-a", changed, func(a *sollv1.Application) bool {
		return comparisonFailure(a) == nil && a.Status.Sync != nil && a.Status.Sync.Status == sollv1.SyncStatusOutOfSync
	})
}
