package repocreds

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
)

func TestCheckPassCredentials(t *testing.T) {
	secret := func(name string, labels map[string]string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	shared := secret("charts-shared", map[string]string{sollv1.SecretTypeLabel: sollv1.SecretTypeRepoCreds, sollv1.SharedLabel: "true"})
	own := secret("charts-team-a", map[string]string{sollv1.SecretTypeLabel: sollv1.SecretTypeRepoCreds})
	pass := &sollv1.ApplicationSource{RepoURL: "https://charts.example.com/team-a", Chart: "web", Helm: &sollv1.HelmSource{PassCredentials: true}}
	noPass := &sollv1.ApplicationSource{RepoURL: "https://charts.example.com/team-a", Chart: "web", Helm: &sollv1.HelmSource{}}
	tests := []struct {
		name    string
		s       *corev1.Secret
		src     *sollv1.ApplicationSource
		wantErr string
	}{
		{"shared credentials are never passed on", shared, pass, "spec.source.helm.passCredentials: the repository Secret charts-shared is shared"},
		{"shared credentials without passCredentials", shared, noPass, ""},
		{"the project's own credentials may be passed on", own, pass, ""},
		{"no credentials", nil, pass, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPassCredentials(tt.s, tt.src, "spec.source")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
