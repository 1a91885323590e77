package controller_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/repocreds"
	"soll.dev/internal/testenv/gitserver"
)

// TestCredentialsGoOnlyWhereTheyBelong: an Application can name, or be
// matched with, only the repository credentials of its own Project (or
// shared ones), and only for the repository they were saved for. Apps that
// point a credentialsRef at soll's own Secrets, at another Project's
// credentials, or at credentials saved for another repository, all towards
// a Git server the tenant controls, get an error naming the field, and the
// server never receives a password.
func TestCredentialsGoOnlyWhereTheyBelong(t *testing.T) {
	const (
		gitPassword   = "s3cret-git-password" // the harness's Git server
		adminPassword = "admin-password-5e0c71"
		teamBPassword = "team-b-password-91d3aa"
		teamAPassword = "team-a-password-27fe04"
	)
	h := newHarnessWith(t, harnessOptions{files: map[string]string{"app/cm.yaml": projectFiles}})
	// The tenant's server asks every client for a password.
	evil := gitserver.NewHTTP(t, gitserver.HTTPOptions{Username: "attacker", Password: "attacker-password"})
	evil.CreateRepo(t, "loot", "")
	evil.Commit(t, "loot", gitserver.DefaultBranch, gitserver.Change{Message: "app", Files: map[string]string{"app/cm.yaml": projectFiles}})
	loot := evil.HTTPURL("loot")

	mustCreate(t, h, newProject(h.sollNS, "team-a", nil))
	mustCreate(t, h, newProject(h.sollNS, "team-b", nil))
	secret := func(name, typ, url, project, password string) *corev1.Secret {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.sollNS, Labels: map[string]string{}},
			StringData: map[string]string{"url": url, "username": "ci", "password": password},
		}
		if typ != "" {
			s.Labels[sollv1.SecretTypeLabel] = typ
		}
		if project != "" {
			s.StringData[repocreds.ProjectKey] = project
		}
		return s
	}
	// soll's own Secret, no repository credentials at all.
	mustCreate(t, h, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "soll-initial-admin-secret", Namespace: h.sollNS},
		StringData: map[string]string{"password": adminPassword},
	})
	// team-b's credentials for the very repository team-a's apps point at.
	mustCreate(t, h, secret("team-b-repo", sollv1.SecretTypeRepository, loot, "team-b", teamBPassword))
	// team-a's credentials, for another repository.
	mustCreate(t, h, secret("team-a-other", sollv1.SecretTypeRepository, h.git.HTTPURL("other"), "team-a", teamAPassword))
	mustCreate(t, h, secret("team-a-template", sollv1.SecretTypeRepoCreds, h.git.URL+"/team", "team-a", teamAPassword))
	// Credentials that work on the harness's server: team-a's own, and
	// unscoped ones (the default Project's).
	mustCreate(t, h, secret("team-a-config", sollv1.SecretTypeRepository, h.git.HTTPURL(h.repo), "team-a", gitPassword))
	mustCreate(t, h, secret("unscoped", sollv1.SecretTypeRepository, h.git.HTTPURL(h.repo), "", gitPassword))

	refused := []struct {
		app, project, repoURL, ref string
		want                       string
	}{
		{"admin-secret", "team-a", loot, "soll-initial-admin-secret", "there is no repository Secret soll-initial-admin-secret"},
		{"admin-secret-default", "", loot, "soll-initial-admin-secret", "there is no repository Secret soll-initial-admin-secret"},
		{"other-project", "team-a", loot, "team-b-repo", "repository Secret team-b-repo does not serve project team-a"},
		{"other-url", "team-a", loot, "team-a-other", "repository Secret team-a-other holds the credentials of another repository"},
		{"other-prefix", "team-a", loot, "team-a-template", "repository Secret team-a-template is a credential template for other repositories"},
		{"unscoped-other-project", "team-a", h.git.HTTPURL(h.repo), "unscoped", "repository Secret unscoped does not serve project team-a"},
	}
	for _, r := range refused {
		h.createAppNamed(r.app, "app", func(a *sollv1.Application) {
			a.Spec.Project = r.project
			a.Spec.Source.RepoURL = r.repoURL
			a.Spec.Source.CredentialsRef = &sollv1.LocalSecretReference{Name: r.ref}
		})
	}
	// Without a credentialsRef, team-a's app gets no credentials for the
	// tenant's server: team-b's are not matched.
	h.createAppNamed("matched", "app", func(a *sollv1.Application) {
		a.Spec.Project = "team-a"
		a.Spec.Source.RepoURL = loot
		a.Spec.Source.CredentialsRef = nil
	})
	works := []struct {
		app, project, ref string
	}{
		{"own-project", "team-a", "team-a-config"},
		{"shared-template", "team-b", "git-creds"}, // the harness's template, shared
		{"matched-shared", "team-b", ""},
		{"default-unscoped", "", "unscoped"},
		{"default-matched", "", ""},
	}
	for _, w := range works {
		h.createAppNamed(w.app, "app", func(a *sollv1.Application) {
			a.Spec.Project = w.project
			a.Spec.Source.CredentialsRef = nil
			if w.ref != "" {
				a.Spec.Source.CredentialsRef = &sollv1.LocalSecretReference{Name: w.ref}
			}
		})
	}

	// Every app is compared, or fails to be, before anything is checked:
	// the tenant's server has been asked for everything it will see.
	done := func(a *sollv1.Application) bool {
		return comparisonFailure(a) != nil || (a.Status.Sync != nil && a.Status.Sync.Revision != "")
	}
	for _, r := range refused {
		h.waitForApp(r.app, "a comparison", time.Minute, done)
	}
	h.waitForApp("matched", "a comparison", time.Minute, done)
	if evil.Requests() == 0 {
		t.Fatal("the tenant's server was never asked: the test proves nothing")
	}
	for name, secret := range map[string]string{"soll-initial-admin-secret": adminPassword, "team-b-repo": teamBPassword, "team-a-other": teamAPassword, "the harness's": gitPassword} {
		if evil.ReceivedPassword(secret) {
			t.Errorf("the tenant's server received the password of %s", name)
		}
	}
	for _, r := range refused {
		c := comparisonFailure(h.appNamed(r.app))
		if c == nil {
			t.Errorf("%s: compared with the credentials of %s, want them refused", r.app, r.ref)
			continue
		}
		msg := c.Message
		t.Logf("%s: %s", r.app, msg)
		if !strings.HasPrefix(msg, "spec.source.credentialsRef: ") || !strings.Contains(msg, r.want) {
			t.Errorf("%s: condition %q does not name spec.source.credentialsRef and say %q", r.app, msg, r.want)
		}
		for _, secret := range []string{adminPassword, teamAPassword, teamBPassword, gitPassword} {
			if strings.Contains(msg, secret) {
				t.Errorf("%s: condition %q shows a password", r.app, msg)
			}
		}
	}
	// The tenant's server asks for a password, and refuses soll, which has
	// none for it.
	if c := comparisonFailure(h.appNamed("matched")); c == nil || !strings.Contains(c.Message, "authentication failed") {
		t.Errorf("matched: condition %v does not say the tenant's server refused soll", c)
	}
	for _, w := range works {
		h.waitForApp(w.app, "compared", time.Minute, func(a *sollv1.Application) bool {
			return a.Status.Sync != nil && a.Status.Sync.Revision != "" && comparisonFailure(a) == nil
		})
	}
}
