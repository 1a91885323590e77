package repocreds

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/project"
	"soll.dev/internal/source"
)

// KnownHostsConfigMap is the ConfigMap in soll's namespace whose
// "ssh_known_hosts" key lists the SSH host keys soll trusts for every
// repository, in known_hosts format. A Secret's own sshKnownHosts is added
// to it. Hosts in neither are refused: host keys are never skipped.
const (
	KnownHostsConfigMap = "soll-ssh-known-hosts"
	KnownHostsKey       = "ssh_known_hosts"
)

// ProjectKey is the data key of a repository Secret that scopes it to a
// Project. Repository credentials belong to Projects: a Secret whose
// ProjectKey names a Project serves the Applications of that Project
// only. A Secret that names no Project serves the Applications of the
// default Project, and those of every Project when it is labelled
// sollv1.SharedLabel="true" (shared credentials, which only someone who
// may write Secrets in soll's namespace or save credentials through the
// API can mark). A Secret that names a Project is never shared, whatever its
// labels. Unscoped Secrets keep serving the default Project, as they did
// before Projects scoped credentials.
const ProjectKey = "project"

// Lookup returns the credentials for src of app, found as the package
// documentation describes among the Secrets that serve app's Project; path
// names src in errors ("spec.source"). A
// credentialsRef is honoured only when it names a repository Secret of
// that Project (or a shared one) saved for src.RepoURL: a Secret is never
// sent to a repository it was not saved for. Values never leave this
// function except inside the returned Credentials, whose String form is
// redacted.
func Lookup(ctx context.Context, c client.Reader, app *sollv1.Application, src *sollv1.ApplicationSource, path string) (source.Credentials, error) {
	ns := app.Namespace
	var data map[string][]byte
	if src.CredentialsRef != nil {
		var s corev1.Secret
		key := client.ObjectKey{Namespace: ns, Name: src.CredentialsRef.Name}
		found := &s
		if err := c.Get(ctx, key, &s); apierrors.IsNotFound(err) {
			found = nil
		} else if err != nil {
			return source.Credentials{}, fmt.Errorf("%s.credentialsRef: read Secret %s: %w", path, key, err)
		}
		if err := CheckRef(found, src.CredentialsRef.Name, app.Spec.Project, src.RepoURL, path+".credentialsRef"); err != nil {
			return source.Credentials{}, err
		}
		if err := checkPassCredentials(found, src, path); err != nil {
			return source.Credentials{}, err
		}
		d, err := Data(ctx, c, &s)
		if err != nil {
			return source.Credentials{}, fmt.Errorf("%s.credentialsRef: %w", path, err)
		}
		data = d
	} else {
		s, err := match(ctx, c, ns, app.Spec.Project, src.RepoURL)
		if err != nil {
			return source.Credentials{}, err
		}
		if s != nil {
			if err := checkPassCredentials(s, src, path); err != nil {
				return source.Credentials{}, err
			}
			if data, err = Data(ctx, c, s); err != nil {
				return source.Credentials{}, fmt.Errorf("%s: %w", path, err)
			}
		}
	}
	return ForRepository(ctx, c, ns, src.RepoURL, data)
}

// checkPassCredentials refuses helm.passCredentials with shared
// credentials: it sends them to whatever hosts a chart index names, and an
// index is what a tenant may publish under a shared prefix. Credentials of
// the app's own Project (or unshared ones of the default Project) may be
// passed on.
func checkPassCredentials(s *corev1.Secret, src *sollv1.ApplicationSource, path string) error {
	if s == nil || src.Helm == nil || !src.Helm.PassCredentials || s.Labels[sollv1.SharedLabel] != "true" {
		return nil
	}
	return fmt.Errorf("%s.helm.passCredentials: the repository Secret %s is shared by every Project, and passCredentials would send it to the hosts a chart index names: turn passCredentials off, or save credentials for this Application's Project (soll repo add --project)", path, s.Name)
}

// IsSecret reports whether s is labelled as repository
// credentials (sollv1.SecretTypeRepository or sollv1.SecretTypeRepoCreds); no other
// Secret of soll's namespace is ever used as credentials.
func IsSecret(s *corev1.Secret) bool {
	typ := s.Labels[sollv1.SecretTypeLabel]
	return typ == sollv1.SecretTypeRepository || typ == sollv1.SecretTypeRepoCreds
}

// Project returns the Project the repository Secret s is
// scoped to, "" when it names none.
func Project(s *corev1.Secret) string {
	return strings.TrimSpace(string(s.Data[ProjectKey]))
}

// ServesProject reports whether the repository Secret s may
// serve the Applications of Project proj ("" is the default Project), as
// described at ProjectKey.
func ServesProject(s *corev1.Secret, proj string) bool {
	proj = cmp.Or(proj, project.DefaultName)
	if p := Project(s); p != "" {
		return p == proj
	}
	return proj == project.DefaultName || s.Labels[sollv1.SharedLabel] == "true"
}

// ServesURL reports whether the repository Secret s was saved
// for repoURL: its url is repoURL for sollv1.SecretTypeRepository, and a prefix of
// it at a path boundary for sollv1.SecretTypeRepoCreds, both compared normalised
// (project.NormalizeRepoURL). Any other Secret serves no URL.
func ServesURL(s *corev1.Secret, repoURL string) bool {
	u := project.NormalizeRepoURL(string(s.Data["url"]))
	want := project.NormalizeRepoURL(repoURL)
	if u == "" || want == "" {
		return false
	}
	switch s.Labels[sollv1.SecretTypeLabel] {
	case sollv1.SecretTypeRepository:
		return u == want
	case sollv1.SecretTypeRepoCreds:
		return prefixMatch(want, u)
	}
	return false
}

// CheckRef returns nil when the Secret name, which field (an
// Application's credentialsRef) names and which is s (nil: it does not
// exist), may give its credentials to repoURL for an Application of
// Project proj: it is a repository Secret, it serves proj and it was saved
// for repoURL. Otherwise the error names field and the Secret and says
// what to do; it never shows a value of the Secret, its url included.
// A missing Secret and one that is not a repository Secret get the same
// error, so that credentialsRef cannot probe the other Secrets of soll's
// namespace.
func CheckRef(s *corev1.Secret, name, proj, repoURL, field string) error {
	proj = cmp.Or(proj, project.DefaultName)
	switch {
	case s == nil || !IsSecret(s):
		return fmt.Errorf("%s: there is no repository Secret %s in soll's namespace (a Secret labelled %s=%s or %s): "+
			"save the repository's credentials with soll repo add and name that Secret, or leave credentialsRef out to use the credentials saved for the repository",
			field, name, sollv1.SecretTypeLabel, sollv1.SecretTypeRepository, sollv1.SecretTypeRepoCreds)
	case !ServesProject(s, proj):
		return fmt.Errorf("%s: repository Secret %s does not serve project %s: "+
			"name credentials saved for project %s (soll repo add --project %s), or ask an admin to share these",
			field, name, proj, proj, proj)
	case !ServesURL(s, repoURL) && s.Labels[sollv1.SecretTypeLabel] == sollv1.SecretTypeRepoCreds:
		return fmt.Errorf("%s: repository Secret %s is a credential template for other repositories than this source's repoURL: "+
			"name the credentials saved for this repository, or leave credentialsRef out", field, name)
	case !ServesURL(s, repoURL):
		return fmt.Errorf("%s: repository Secret %s holds the credentials of another repository than this source's repoURL: "+
			"name the credentials saved for this repository, or leave credentialsRef out", field, name)
	}
	return nil
}

// ForRepository returns the credentials for repoURL held in the
// data of a repository Secret (nil: none), with, for SSH URLs, the known
// hosts of the ConfigMap KnownHostsConfigMap in namespace ns first, as the
// comparisons use them. The API's connection test uses it too.
func ForRepository(ctx context.Context, c client.Reader, ns, repoURL string, data map[string][]byte) (source.Credentials, error) {
	creds := credentialsFrom(data)
	if IsSSHURL(repoURL) {
		var cm corev1.ConfigMap
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: KnownHostsConfigMap}, &cm)
		if client.IgnoreNotFound(err) != nil {
			return source.Credentials{}, fmt.Errorf("read ConfigMap %s/%s: %w", ns, KnownHostsConfigMap, err)
		}
		if kh := cm.Data[KnownHostsKey]; kh != "" {
			creds.SSHKnownHosts = append([]byte(kh+"\n"), creds.SSHKnownHosts...)
		}
	}
	return creds, nil
}

// TemplateMatches reports whether a credential template
// (sollv1.SecretTypeRepoCreds) whose url is prefix serves the repository repoURL.
func TemplateMatches(prefix, repoURL string) bool {
	return prefixMatch(project.NormalizeRepoURL(repoURL), project.NormalizeRepoURL(prefix))
}

// match finds the credentials for url of an Application of Project proj
// among the repository Secrets of namespace ns, as Select does; nil when
// none matches.
func match(ctx context.Context, c client.Reader, ns, proj, url string) (*corev1.Secret, error) {
	var list corev1.SecretList
	if err := c.List(ctx, &list, client.InNamespace(ns), client.HasLabels{sollv1.SecretTypeLabel}); err != nil {
		return nil, fmt.Errorf("list repository credentials in %s: %w", ns, err)
	}
	return Select(list.Items, proj, url), nil
}

// Select picks, among secrets, the credentials for repoURL of
// an Application of Project proj: only repository Secrets that serve proj
// (ServesProject) and repoURL (ServesURL) are
// candidates. A repository Secret for repoURL itself wins over templates,
// and among templates the longest URL wins; then a Secret scoped to proj
// wins over an unscoped one, and last the name decides, so the choice
// never depends on the order of the list. nil when none is a candidate.
func Select(secrets []corev1.Secret, proj, repoURL string) *corev1.Secret {
	var best *corev1.Secret
	for i := range secrets {
		s := &secrets[i]
		if !IsSecret(s) || !ServesProject(s, proj) || !ServesURL(s, repoURL) {
			continue
		}
		if best == nil || credentialsRank(s, best) < 0 {
			best = s
		}
	}
	return best
}

// credentialsRank orders two candidates of Select, the better
// first.
func credentialsRank(a, b *corev1.Secret) int {
	exact := func(s *corev1.Secret) int {
		if s.Labels[sollv1.SecretTypeLabel] == sollv1.SecretTypeRepository {
			return 0
		}
		return 1
	}
	scoped := func(s *corev1.Secret) int {
		if Project(s) != "" {
			return 0
		}
		return 1
	}
	urlLen := func(s *corev1.Secret) int { return len(project.NormalizeRepoURL(string(s.Data["url"]))) }
	return cmp.Or(
		cmp.Compare(exact(a), exact(b)),
		-cmp.Compare(urlLen(a), urlLen(b)),
		cmp.Compare(scoped(a), scoped(b)),
		strings.Compare(a.Name, b.Name),
	)
}

// prefixMatch reports whether the repository URL want lies under the
// template URL prefix, at a path boundary: a template for
// https://git.example.com/team matches .../team/app but not .../teams.
func prefixMatch(want, prefix string) bool {
	return want == prefix || strings.HasPrefix(want, prefix+"/") ||
		(strings.HasSuffix(prefix, ":") && strings.HasPrefix(want, prefix))
}

// IsSSHURL reports whether url is a Git URL over SSH (ssh://, or the
// scp-like user@host:path), whose host keys soll checks.
func IsSSHURL(url string) bool {
	return strings.HasPrefix(url, "ssh://") || (!strings.Contains(url, "://") && strings.Contains(url, "@"))
}

// credentialsFrom reads the keys soll documents for repository Secrets.
func credentialsFrom(d map[string][]byte) source.Credentials {
	return source.Credentials{
		Username:      string(d["username"]),
		Password:      string(d["password"]),
		BearerToken:   string(d["bearerToken"]),
		TLSClientCert: d["tlsClientCert"],
		TLSClientKey:  d["tlsClientKey"],
		CACert:        d["caCert"],
		SSHPrivateKey: d["sshPrivateKey"],
		SSHPassphrase: string(d["sshPassphrase"]),
		SSHKnownHosts: d["sshKnownHosts"],
	}
}
