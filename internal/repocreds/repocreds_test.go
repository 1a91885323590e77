package repocreds

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/project"
)

func TestCredentialTemplateMatching(t *testing.T) {
	cases := []struct {
		repo, prefix string
		want         bool
	}{
		{"https://git.example.com/team/app", "https://git.example.com/team", true},
		{"https://git.example.com/team/app.git", "https://GIT.example.com/team/", true},
		{"https://git.example.com/team/app", "https://git.example.com/team/app.git", true},
		{"https://git.example.com/teams/app", "https://git.example.com/team", false},
		{"https://git.example.com/team", "https://git.example.com/team/app", false},
		{"https://other.example.com/team/app", "https://git.example.com", false},
		{"git@git.example.com:team/app.git", "git@git.example.com:", true},
		{"git@git.example.com:team/app.git", "git@git.example.com:team", true},
		{"git@git.example.com:teams/app.git", "git@git.example.com:team", false},
	}
	for _, c := range cases {
		if got := prefixMatch(project.NormalizeRepoURL(c.repo), project.NormalizeRepoURL(c.prefix)); got != c.want {
			t.Errorf("template %s for %s: match = %v, want %v", c.prefix, c.repo, got, c.want)
		}
	}
}

// repoSecret is a repository Secret for tests of the selection: typ is
// repository or repo-creds ("" leaves the label out), proj its project key
// ("" for none).
func repoSecret(name, typ, url, proj string, shared bool) corev1.Secret {
	s := corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}},
		Data:       map[string][]byte{"url": []byte(url), "password": []byte("pw-" + name)},
	}
	if typ != "" {
		s.Labels[sollv1.SecretTypeLabel] = typ
	}
	if proj != "" {
		s.Data[ProjectKey] = []byte(proj)
	}
	if shared {
		s.Labels[sollv1.SharedLabel] = "true"
	}
	return s
}

func TestCredentialsServeProject(t *testing.T) {
	cases := []struct {
		name    string
		secret  corev1.Secret
		project string
		want    bool
	}{
		{"unscoped, default project", repoSecret("s", sollv1.SecretTypeRepository, "u", "", false), "default", true},
		{"unscoped, project left empty", repoSecret("s", sollv1.SecretTypeRepository, "u", "", false), "", true},
		{"unscoped, other project", repoSecret("s", sollv1.SecretTypeRepository, "u", "", false), "team-a", false},
		{"unscoped and shared, other project", repoSecret("s", sollv1.SecretTypeRepository, "u", "", true), "team-a", true},
		{"scoped, its project", repoSecret("s", sollv1.SecretTypeRepository, "u", "team-a", false), "team-a", true},
		{"scoped, another project", repoSecret("s", sollv1.SecretTypeRepository, "u", "team-b", false), "team-a", false},
		{"scoped, the default project", repoSecret("s", sollv1.SecretTypeRepository, "u", "team-b", false), "default", false},
		{"scoped and labelled shared: still scoped", repoSecret("s", sollv1.SecretTypeRepository, "u", "team-b", true), "team-a", false},
	}
	for _, c := range cases {
		if got := ServesProject(&c.secret, c.project); got != c.want {
			t.Errorf("%s: serves %q = %v, want %v", c.name, c.project, got, c.want)
		}
	}
}

func TestCheckCredentialsRef(t *testing.T) {
	const repo = "https://git.example.com/team-a/app.git"
	cases := []struct {
		name    string
		secret  *corev1.Secret
		project string
		want    string // in the error; "" for none
	}{
		{"missing", nil, "team-a", "there is no repository Secret creds"},
		{"not a repository Secret", ptr(repoSecret("creds", "", repo, "", false)), "default", "there is no repository Secret creds"},
		{"other label value", ptr(repoSecret("creds", "cluster", repo, "", false)), "default", "there is no repository Secret creds"},
		{"another project's", ptr(repoSecret("creds", sollv1.SecretTypeRepository, repo, "team-b", false)), "team-a", "does not serve project team-a"},
		{"unscoped, for a project", ptr(repoSecret("creds", sollv1.SecretTypeRepository, repo, "", false)), "team-a", "does not serve project team-a"},
		{"another repository", ptr(repoSecret("creds", sollv1.SecretTypeRepository, "https://git.example.com/team-a/other.git", "team-a", false)), "team-a", "another repository"},
		{"no url", ptr(repoSecret("creds", sollv1.SecretTypeRepository, "", "team-a", false)), "team-a", "another repository"},
		{"template elsewhere", ptr(repoSecret("creds", sollv1.SecretTypeRepoCreds, "https://git.example.com/team-b", "team-a", false)), "team-a", "credential template for other repositories"},
		{"template at a name's prefix only", ptr(repoSecret("creds", sollv1.SecretTypeRepoCreds, "https://git.example.com/team", "team-a", false)), "team-a", "credential template for other repositories"},
		{"own repository", ptr(repoSecret("creds", sollv1.SecretTypeRepository, "https://GIT.example.com/team-a/app/", "team-a", false)), "team-a", ""},
		{"own template", ptr(repoSecret("creds", sollv1.SecretTypeRepoCreds, "https://git.example.com/team-a", "team-a", false)), "team-a", ""},
		{"shared", ptr(repoSecret("creds", sollv1.SecretTypeRepository, repo, "", true)), "team-a", ""},
		{"unscoped, default project", ptr(repoSecret("creds", sollv1.SecretTypeRepository, repo, "", false)), "", ""},
	}
	for _, c := range cases {
		err := CheckRef(c.secret, "creds", c.project, repo, "spec.sources[1].credentialsRef")
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want == "":
		case err == nil:
			t.Errorf("%s: no error, want one with %q", c.name, c.want)
		case !strings.HasPrefix(err.Error(), "spec.sources[1].credentialsRef: ") || !strings.Contains(err.Error(), c.want):
			t.Errorf("%s: error %q does not name the field and say %q", c.name, err, c.want)
		case strings.Contains(err.Error(), "pw-creds") || strings.Contains(err.Error(), "git.example.com"):
			t.Errorf("%s: error %q shows a value of the Secret", c.name, err)
		}
	}
}

func TestSelectCredentials(t *testing.T) {
	const repo = "https://git.example.com/team-a/app.git"
	all := []corev1.Secret{
		repoSecret("unlabelled", "", repo, "team-a", false),
		repoSecret("b-exact", sollv1.SecretTypeRepository, repo, "team-b", false),
		repoSecret("b-template", sollv1.SecretTypeRepoCreds, "https://git.example.com/team-a", "team-b", false),
		repoSecret("global-exact", sollv1.SecretTypeRepository, repo, "", false),
		repoSecret("shared-template", sollv1.SecretTypeRepoCreds, "https://git.example.com", "", true),
		repoSecret("a-template", sollv1.SecretTypeRepoCreds, "https://git.example.com/team-a", "team-a", false),
		repoSecret("a-other", sollv1.SecretTypeRepository, "https://git.example.com/team-a/other.git", "team-a", false),
	}
	cases := []struct {
		name    string
		secrets []string // by name, from all
		project string
		want    string // "" for none
	}{
		{"another project's exact Secret is never picked", []string{"b-exact", "b-template"}, "team-a", ""},
		{"own template over shared", []string{"b-exact", "shared-template", "a-template"}, "team-a", "a-template"},
		{"shared when nothing of its own", []string{"b-exact", "b-template", "shared-template", "global-exact"}, "team-a", "shared-template"},
		{"unscoped unshared serves the default project", []string{"global-exact", "shared-template", "b-exact"}, "default", "global-exact"},
		{"unlabelled Secrets are never picked", []string{"unlabelled", "a-other"}, "team-a", ""},
		{"team-b gets its own exact Secret", []string{"b-exact", "b-template", "global-exact", "shared-template"}, "team-b", "b-exact"},
	}
	for _, c := range cases {
		var list []corev1.Secret
		for _, n := range c.secrets {
			for _, s := range all {
				if s.Name == n {
					list = append(list, s)
				}
			}
		}
		got := ""
		if s := Select(list, c.project, repo); s != nil {
			got = s.Name
		}
		if got != c.want {
			t.Errorf("%s: picked %q, want %q", c.name, got, c.want)
		}
	}

	// Scoped wins over unscoped at the same URL, whatever the order.
	scoped := repoSecret("z-scoped", sollv1.SecretTypeRepository, repo, "team-a", false)
	shared := repoSecret("a-shared", sollv1.SecretTypeRepository, repo, "", true)
	for _, list := range [][]corev1.Secret{{scoped, shared}, {shared, scoped}} {
		if got := Select(list, "team-a", repo); got == nil || got.Name != "z-scoped" {
			t.Errorf("picked %v, want z-scoped", got)
		}
	}
}

func ptr[T any](v T) *T { return &v }
