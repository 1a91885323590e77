package repocreds

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/auth"
	"soll.dev/internal/render/sops"
	"soll.dev/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// TestCredentialsLentBySecret: a repository Secret that names another
// Secret in credentialsSecret gets the credentials of that Secret, and
// keeps its own scoping; what may not lend credentials is refused with
// an error that names both Secrets and shows no value.
func TestCredentialsLentBySecret(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	const (
		repo      = "https://git.example.com/team-a/app.git"
		password  = "lent-password-7f3a"
		ownSecret = "never-lent-6b1c"
	)
	create := func(name string, labels map[string]string, data map[string]string) {
		t.Helper()
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}, StringData: data}
		if err := env.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	repository := map[string]string{sollv1.SecretTypeLabel: sollv1.SecretTypeRepository}
	declare := func(name, lender string, extra map[string]string) {
		t.Helper()
		data := map[string]string{"url": repo, ProjectKey: "team-a", CredentialsSecretKey: lender}
		for k, v := range extra {
			data[k] = v
		}
		create(name, repository, data)
	}
	create("git-token", nil, map[string]string{"username": "ci", "password": password, "unrelated": "not read"})
	create("no-keys", nil, map[string]string{"token": password})
	create("team-b-repo", repository, map[string]string{"url": repo, ProjectKey: "team-b", "password": password})
	create(sollv1.SecretName, nil, map[string]string{"password": ownSecret})

	declare("team-a-repo", "git-token", map[string]string{"caCert": "a CA"})
	app := &sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
		Spec:       sollv1.ApplicationSpec{Project: "team-a"},
	}
	src := &sollv1.ApplicationSource{RepoURL: repo}
	creds, err := Lookup(ctx, env.Client, app, src, "spec.source")
	if err != nil {
		t.Fatal(err)
	}
	if creds.Username != "ci" || creds.Password != password || string(creds.CACert) != "a CA" {
		t.Errorf("matched credentials: user %q, password lent: %v, CA %q", creds.Username, creds.Password == password, creds.CACert)
	}
	src.CredentialsRef = &sollv1.LocalSecretReference{Name: "team-a-repo"}
	if creds, err := Lookup(ctx, env.Client, app, src, "spec.source"); err != nil || creds.Password != password {
		t.Errorf("credentialsRef to the repository Secret: password lent %v, %v", creds.Password == password, err)
	}
	// The lender's own scoping plays no part, the repository Secret's does:
	// team-b's apps get nothing from team-a's repository Secret.
	app.Spec.Project = "team-b"
	src.CredentialsRef = nil
	if creds, err := Lookup(ctx, env.Client, app, src, "spec.source"); err != nil || creds.Username != "" {
		t.Errorf("team-b's app: user %q, %v; want team-b's own Secret, which has no user", creds.Username, err)
	}

	refused := []struct {
		name, lender string
		extra        map[string]string
		want         string
	}{
		{"missing", "no-such-secret", nil, "names Secret no-such-secret, which does not exist in soll's namespace " + ns},
		{"labelled", "team-b-repo", nil, "names Secret team-b-repo, which is labelled soll.dev/secret-type=repository"},
		{"own", sollv1.SecretName, nil, "names Secret soll-secret, which soll keeps for itself"},
		{"both", "git-token", map[string]string{"password": "inline"}, "the repository Secret holds password itself"},
		{"keyless", "no-keys", nil, "names Secret no-keys, which holds none of the keys username, password"},
	}
	for _, r := range refused {
		declare(r.name, r.lender, r.extra)
	}
	app.Spec.Project = "team-a"
	for _, r := range refused {
		src.CredentialsRef = &sollv1.LocalSecretReference{Name: r.name}
		_, err := Lookup(ctx, env.Client, app, src, "spec.source")
		if err == nil {
			t.Errorf("%s: credentials lent by %s were used", r.name, r.lender)
			continue
		}
		msg := err.Error()
		prefix := "spec.source.credentialsRef: repository Secret " + r.name + ": key credentialsSecret "
		if !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, r.want) {
			t.Errorf("%s: error %q, want it to start with %q and say %q", r.name, msg, prefix, r.want)
		}
		if strings.Contains(msg, password) || strings.Contains(msg, ownSecret) || strings.Contains(msg, "inline") {
			t.Errorf("%s: error %q shows a value", r.name, msg)
		}
	}
}

// TestOwnSecretsAreNeverLent: the list of soll's own Secrets names every
// Secret soll keeps for itself.
func TestOwnSecretsAreNeverLent(t *testing.T) {
	for _, name := range []string{sollv1.SecretName, auth.InitialAdminSecretName, auth.AccountsSecretName, auth.RevokedTokensName, sops.SecretName} {
		if !slices.Contains(ownSecrets, name) {
			t.Errorf("soll's own Secret %s may be lent as repository credentials", name)
		}
	}
}

// TestDataWithoutLender: a repository Secret that names no other Secret
// is used as it is, without reading anything.
func TestDataWithoutLender(t *testing.T) {
	s := repoSecret("s", sollv1.SecretTypeRepository, "https://git.example.com/a", "", false)
	d, err := Data(context.Background(), nil, &s)
	if err != nil || string(d["password"]) != "pw-s" {
		t.Errorf("Data: %v, %v", d, err)
	}
}
