package controller

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render/sops"
	"soll.dev/internal/repocreds"
)

// TestConfigurationChangeWakesTheAppsItConcerns: a change of each piece of
// configuration soll reads from its namespace wakes the apps it concerns,
// and no Secret or ConfigMap soll does not read wakes any.
func TestConfigurationChangeWakesTheAppsItConcerns(t *testing.T) {
	app := func(name, project, repo, ref string) *sollv1.Application {
		a := &sollv1.Application{
			ObjectMeta: metav1.ObjectMeta{Namespace: "soll", Name: name},
			Spec:       sollv1.ApplicationSpec{Project: project, Source: &sollv1.ApplicationSource{RepoURL: repo}},
		}
		if ref != "" {
			a.Spec.Source.CredentialsRef = &sollv1.LocalSecretReference{Name: ref}
		}
		return a
	}
	c := fakeClient(t).WithObjects(
		app("plain", "", "https://git.example.com/team/plain.git", ""),
		app("named", "team-a", "https://git.example.com/team/named.git", "named-creds"),
		app("ssh", "team-b", "git@git.example.com:team/ssh.git", ""),
		app("bases", "team-b", "https://other.example.com/bases.git", ""),
		// The lender of the repository Secret of plain.
		repoSecret("plain-creds", sollv1.SecretTypeRepository, "https://git.example.com/team/plain.git", map[string]string{repocreds.CredentialsSecretKey: "vault-synced"}),
	).Build()
	r := &Reconciler{Client: c}
	r.apps.update(types.NamespacedName{Namespace: "soll", Name: "bases"}, func(rec *appRecord) {
		rec.remoteBases = map[string][]string{"spec.source": {"https://git.example.com/base.git"}}
	})
	everyApp := []string{"bases", "named", "plain", "ssh"}
	tests := []struct {
		name string
		obj  client.Object
		want []string
	}{
		{"settings", configMap(sollv1.SettingsConfigMap), everyApp},
		{"known hosts", configMap(repocreds.KnownHostsConfigMap), []string{"ssh"}},
		{"another ConfigMap", configMap("soll-rbac"), nil},
		{"repository Secret", repoSecret("x", sollv1.SecretTypeRepository, "https://git.example.com/team/plain", nil), []string{"plain"}},
		{"credential template", repoSecret("x", sollv1.SecretTypeRepoCreds, "https://git.example.com/team", nil), []string{"named", "plain"}},
		{"template of a remote base", repoSecret("x", sollv1.SecretTypeRepoCreds, "https://git.example.com/base.git", nil), []string{"bases"}},
		{"named by credentialsRef", repoSecret("named-creds", sollv1.SecretTypeRepository, "https://elsewhere.example.com/x.git", nil), []string{"named"}},
		{"lender of a repository Secret", secret("vault-synced", nil, nil), []string{"plain"}},
		{"unlabelled Secret", secret("soll-accounts", nil, nil), nil},
		{"Secret of another type", secret("x", map[string]string{sollv1.SecretTypeLabel: "cluster"}, nil), nil},
		{"SOPS keys of team-a", sopsSecret("keys", "team-b, team-a"), []string{"bases", "named", "ssh"}},
		{"SOPS keys of the default Project", sopsSecret("keys", "default"), []string{"plain"}},
		{"shared SOPS keys", sopsSecret("keys", sops.AllProjects), everyApp},
		{"soll-sops-keys of no Project", secret(sops.SecretName, nil, nil), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reqs []reconcile.Request
			if _, ok := tt.obj.(*corev1.ConfigMap); ok {
				reqs = r.configMapApps(context.Background(), tt.obj)
			} else {
				reqs = r.secretApps(context.Background(), tt.obj)
			}
			var got []string
			for _, req := range reqs {
				got = append(got, req.Name)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("woken: %v, want %v", got, tt.want)
			}
		})
	}
}

func configMap(name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "soll", Name: name}}
}

func secret(name string, labels, annotations map[string]string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "soll", Name: name, Labels: labels, Annotations: annotations}}
}

func repoSecret(name, typ, url string, data map[string]string) *corev1.Secret {
	s := secret(name, map[string]string{sollv1.SecretTypeLabel: typ}, nil)
	s.Data = map[string][]byte{"url": []byte(url)}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func sopsSecret(name, projects string) *corev1.Secret {
	return secret(name, map[string]string{sollv1.SecretTypeLabel: sollv1.SecretTypeSOPSKeys}, map[string]string{sops.ProjectsAnnotation: projects})
}
