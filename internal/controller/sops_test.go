package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render/sops"
	"soll.dev/internal/render/sops/sopstest"
)

// keysSecret returns a Secret of age keys for projects, labelled as one.
func keysSecret(ns, name, projects, key string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns,
			Labels:      map[string]string{sollv1.SecretTypeLabel: sollv1.SecretTypeSOPSKeys},
			Annotations: map[string]string{sops.ProjectsAnnotation: projects},
		},
		StringData: map[string]string{"keys.txt": key + "\n"},
	}
}

func autoIn(project string) func(*sollv1.Application) {
	return func(a *sollv1.Application) {
		a.Spec.Project = project
		a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}}
	}
}

func mustBeAbsent(t *testing.T, h *harness, obj client.Object, what string) {
	t.Helper()
	err := h.env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.destNS, Name: obj.GetName()}, obj)
	if !apierrors.IsNotFound(err) {
		t.Errorf("%s was applied (get: %v)", what, err)
	}
}

// TestSOPSKeysAreScopedToProjects: team-a copies team-b's encrypted file
// into its own app; with team-b's key scoped to team-b, the comparison
// fails saying that no key of project team-a can decrypt it, and nothing
// of the app is applied, while team-b's app decrypts the same file.
func TestSOPSKeysAreScopedToProjects(t *testing.T) {
	keyA, _ := sopstest.NewKey(t)
	keyB, publicB := sopstest.NewKey(t)
	const password = "team-b-database-password"
	bSecret := string(sopstest.Encrypt(t, "b/db.yaml", []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: b-db\nstringData:\n  password: "+password+"\n"), sopstest.Options{}, publicB))
	h := newHarnessWith(t, harnessOptions{files: map[string]string{
		"b/db.yaml":      bSecret,
		"stolen/db.yaml": bSecret,
		"stolen/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stolen-plain\ndata:\n  k: v\n",
	}})
	mustCreate(t, h, newProject(h.sollNS, "team-a", nil))
	mustCreate(t, h, newProject(h.sollNS, "team-b", nil))
	mustCreate(t, h, keysSecret(h.sollNS, "team-a-keys", "team-a", keyA))
	mustCreate(t, h, keysSecret(h.sollNS, "team-b-keys", "team-b", keyB))

	h.createAppNamed("stolen", "stolen", autoIn("team-a"))
	app := h.waitForApp("stolen", "a comparison error", time.Minute, func(a *sollv1.Application) bool {
		return comparisonFailure(a) != nil
	})
	msg := comparisonFailure(app).Message
	for _, want := range []string{"stolen/db.yaml", "no age key of project team-a can decrypt it", publicB} {
		if !strings.Contains(msg, want) {
			t.Errorf("condition %q does not say %q", msg, want)
		}
	}
	mustBeAbsent(t, h, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "stolen-plain"}}, "the plain ConfigMap of team-a's failed render")
	mustBeAbsent(t, h, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "b-db"}}, "team-b's Secret, through team-a's app,")
	assertNoPlaintext(t, h, "stolen", password)

	h.createAppNamed("b", "b", autoIn("team-b"))
	h.waitForApp("b", "Synced and Healthy", time.Minute, syncedHealthy)
	s, err := h.env.Kube.CoreV1().Secrets(h.destNS).Get(context.Background(), "b-db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Data["password"]) != password {
		t.Error("team-b's Secret was not decrypted with team-b's key")
	}
	if msg := comparisonFailure(h.appNamed("stolen")); msg == nil || !strings.Contains(msg.Message, "no age key of project team-a") {
		t.Errorf("team-a's app stopped failing once team-b's app decrypted the file (a shared render?): %v", msg)
	}
}

// TestSOPSDecryptedDataStaysInSecrets: decrypted values may land in
// Secrets only. A ConfigMap that a Kustomize generator makes from an
// encrypted file, or an encrypted ConfigMap, fails the render unless the
// Project allows other kinds; once allowed, the values are masked in the
// diff and in the rendered manifests.
func TestSOPSDecryptedDataStaysInSecrets(t *testing.T) {
	key, public := sopstest.NewKey(t)
	const (
		generated = "team-a-generated-secret"
		direct    = "team-a-direct-token"
	)
	env := string(sopstest.Encrypt(t, "app.env", []byte("PASSWORD="+generated+"\n"), sopstest.Options{}, public))
	h := newHarnessWith(t, harnessOptions{files: map[string]string{
		"gen/kustomization.yaml": "configMapGenerator:\n- name: leak\n  envs: [app.env]\n  options: {disableNameSuffixHash: true}\n",
		"gen/app.env":            env,
		"direct/cm.yaml": string(sopstest.Encrypt(t, "direct/cm.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: direct\ndata:\n  token: "+direct+"\n"),
			sopstest.Options{EncryptedRegex: "^data$"}, public)),
		"ok/kustomization.yaml": "secretGenerator:\n- name: fine\n  envs: [app.env]\n  options: {disableNameSuffixHash: true}\n",
		"ok/app.env":            env,
	}})
	mustCreate(t, h, newProject(h.sollNS, "team-a", nil))
	mustCreate(t, h, keysSecret(h.sollNS, "team-a-keys", "team-a", key))
	h.createAppNamed("gen", "gen", autoIn("team-a"))
	h.createAppNamed("direct", "direct", autoIn("team-a"))
	h.createAppNamed("ok", "ok", autoIn("team-a"))

	if msg := comparisonError(h, "gen"); !strings.Contains(msg, "ConfigMap") || !strings.Contains(msg, "leak") || !strings.Contains(msg, "gen/app.env") || !strings.Contains(msg, "spec.sops.allowNonSecretKinds") {
		t.Errorf("generated ConfigMap: condition %q does not name the object, the file and the Project field", msg)
	}
	if msg := comparisonError(h, "direct"); !strings.Contains(msg, "ConfigMap") || !strings.Contains(msg, "direct/cm.yaml") {
		t.Errorf("encrypted ConfigMap: condition %q does not name the object and the file", msg)
	}
	h.waitForApp("ok", "Synced and Healthy", time.Minute, syncedHealthy)
	if s, err := h.env.Kube.CoreV1().Secrets(h.destNS).Get(context.Background(), "fine", metav1.GetOptions{}); err != nil || string(s.Data["PASSWORD"]) != generated {
		t.Errorf("the generated Secret: %v", err)
	}
	mustBeAbsent(t, h, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "leak"}}, "the generated ConfigMap")
	mustBeAbsent(t, h, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "direct"}}, "the encrypted ConfigMap")
	for _, app := range []string{"gen", "direct"} {
		assertNoPlaintext(t, h, app, generated)
		assertNoPlaintext(t, h, app, direct)
	}

	// The Project allows other kinds: both sync, and the values stay
	// masked wherever soll shows them.
	var p sollv1.Project
	if err := h.env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.sollNS, Name: "team-a"}, &p); err != nil {
		t.Fatal(err)
	}
	p.Spec.SOPS = &sollv1.ProjectSOPS{AllowNonSecretKinds: true}
	if err := h.env.Client.Update(context.Background(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Spec.SOPS == nil || !p.Spec.SOPS.AllowNonSecretKinds {
		t.Fatal("the API server dropped spec.sops of the Project: the cluster's Project CRD predates the field (installed by another build?)")
	}
	h.waitForApp("gen", "Synced once allowed", 2*time.Minute, syncedHealthy)
	h.waitForApp("direct", "Synced once allowed", 2*time.Minute, syncedHealthy)
	if cm := h.configMap("leak"); cm.Data["PASSWORD"] != generated {
		t.Errorf("generated ConfigMap data = %v", cm.Data)
	}

	// Change the live ConfigMap by hand: the diff shows that the value
	// differs, and neither the decrypted nor the live value.
	cm := h.configMap("leak")
	cm.Data["PASSWORD"] = "changed-by-hand-value"
	if err := h.env.Client.Update(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deadline := time.Now().Add(time.Minute)
	var found string
	for found == "" && time.Now().Before(deadline) {
		diffs, err := h.mgr.DiffManifests(ctx, h.appNamed("gen"), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range diffs.Results {
			if r.Key.Kind == "ConfigMap" && r.Key.Name == "leak" {
				found = r.Diff
			}
		}
		if found == "" {
			time.Sleep(100 * time.Millisecond) // poll interval
		}
	}
	if found == "" {
		t.Fatal("the hand-changed ConfigMap does not differ")
	}
	if strings.Contains(found, generated) || strings.Contains(found, "changed-by-hand-value") || !strings.Contains(found, "redacted") {
		t.Errorf("diff does not mask the decrypted value:\n%s", found)
	}
	for _, app := range []string{"gen", "direct"} {
		m, err := h.mgr.RenderManifests(ctx, h.appNamed(app), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range m.Objects {
			b, err := m.Redact(o).MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), generated) || strings.Contains(string(b), direct) {
				t.Errorf("manifest of %s shows the decrypted value: %s", app, b)
			}
		}
	}
}
