package controller

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/project"
	"soll.dev/internal/source"
)

// Repository credentials live in Secrets in soll's namespace. A Secret
// labelled SecretTypeLabel=SecretTypeRepository holds the credentials of the
// one repository named by its "url" key; SecretTypeRepoCreds makes it a
// template for every repository whose URL starts with "url". An exact
// repository Secret wins over templates, and the longest matching prefix
// wins among templates. An Application's credentialsRef wins over both.
const (
	SecretTypeLabel      = "soll.dev/secret-type"
	SecretTypeRepository = "repository"
	SecretTypeRepoCreds  = "repo-creds"
)

// KnownHostsConfigMap is the ConfigMap in soll's namespace whose
// "ssh_known_hosts" key lists the SSH host keys soll trusts for every
// repository, in known_hosts format. A Secret's own sshKnownHosts is added
// to it. Hosts in neither are refused: host keys are never skipped.
const (
	KnownHostsConfigMap = "soll-ssh-known-hosts"
	KnownHostsKey       = "ssh_known_hosts"
)

// credentials returns the credentials for src of app, found as described at
// SecretTypeLabel. Values never leave this function except inside the
// returned Credentials, whose String form is redacted.
func (r *Reconciler) credentials(ctx context.Context, app *sollv1.Application, src *sollv1.ApplicationSource, path string) (source.Credentials, error) {
	ns := app.Namespace
	var data map[string][]byte
	if src.CredentialsRef != nil {
		var s corev1.Secret
		key := client.ObjectKey{Namespace: ns, Name: src.CredentialsRef.Name}
		if err := r.Client.Get(ctx, key, &s); err != nil {
			return source.Credentials{}, fmt.Errorf("%s.credentialsRef: read Secret %s: %w", path, key, err)
		}
		data = s.Data
	} else {
		s, err := r.matchCredentials(ctx, ns, src.RepoURL)
		if err != nil {
			return source.Credentials{}, err
		}
		if s != nil {
			data = s.Data
		}
	}
	return RepositoryCredentials(ctx, r.Client, ns, src.RepoURL, data)
}

// RepositoryCredentials returns the credentials for repoURL held in the
// data of a repository Secret (nil: none), with, for SSH URLs, the known
// hosts of the ConfigMap KnownHostsConfigMap in namespace ns first, as the
// controller uses them. The API's connection test uses it too.
func RepositoryCredentials(ctx context.Context, c client.Reader, ns, repoURL string, data map[string][]byte) (source.Credentials, error) {
	creds := credentialsFrom(data)
	if isSSH(repoURL) {
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

// CredentialsTemplateMatches reports whether a credential template
// (SecretTypeRepoCreds) whose url is prefix serves the repository repoURL.
func CredentialsTemplateMatches(prefix, repoURL string) bool {
	return prefixMatch(project.NormalizeRepoURL(repoURL), project.NormalizeRepoURL(prefix))
}

// matchCredentials finds the repository Secret for url, or the credential
// template with the longest matching prefix; nil when none matches.
func (r *Reconciler) matchCredentials(ctx context.Context, ns, url string) (*corev1.Secret, error) {
	var list corev1.SecretList
	if err := r.Client.List(ctx, &list, client.InNamespace(ns), client.HasLabels{SecretTypeLabel}); err != nil {
		return nil, fmt.Errorf("list repository credentials in %s: %w", ns, err)
	}
	want := project.NormalizeRepoURL(url)
	var best *corev1.Secret
	bestLen := -1
	for i := range list.Items {
		s := &list.Items[i]
		u := project.NormalizeRepoURL(string(s.Data["url"]))
		if u == "" {
			continue
		}
		switch s.Labels[SecretTypeLabel] {
		case SecretTypeRepository:
			if u == want {
				return s, nil
			}
		case SecretTypeRepoCreds:
			if prefixMatch(want, u) && len(u) > bestLen {
				best, bestLen = s, len(u)
			}
		}
	}
	return best, nil
}

// prefixMatch reports whether the repository URL want lies under the
// template URL prefix, at a path boundary: a template for
// https://git.example.com/team matches .../team/app but not .../teams.
func prefixMatch(want, prefix string) bool {
	return want == prefix || strings.HasPrefix(want, prefix+"/") ||
		(strings.HasSuffix(prefix, ":") && strings.HasPrefix(want, prefix))
}

func isSSH(url string) bool {
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
