package repocreds

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
)

// CredentialsSecretKey is the data key of a repository Secret that keeps
// its secret values in another Secret of soll's namespace, named by the
// key's value: a Secret made by whatever manages the cluster's secrets
// (an operator syncing a vault, a sealed Secret, a Secret created by hand),
// which needs neither soll's label nor its url and project keys. The
// repository Secret still says, with its label, url, project key and
// shared label, which repositories and which Projects the credentials
// serve; the named Secret only lends the values (secretKeys), so the
// scoping of credentials stays where it is for every other repository
// Secret. Several repository Secrets, for several Projects, may name the
// same Secret.
//
// Only someone who may write Secrets in soll's namespace can set the key:
// the API saves repository Secrets with the keys of its request only.
const CredentialsSecretKey = "credentialsSecret"

// secretKeys are the keys of a repository Secret that hold credentials.
// With CredentialsSecretKey they are read from the named Secret, and the
// repository Secret itself holds none of them; its other keys (url,
// project, caCert, sshKnownHosts) stay its own.
var secretKeys = []string{"username", "password", "bearerToken", "tlsClientCert", "tlsClientKey", "sshPrivateKey", "sshPassphrase"}

// ownSecrets are the Secrets of soll's namespace that soll keeps for
// itself (token signing key, accounts, logouts, the initial admin
// password, SOPS keys): never lent as repository credentials.
var ownSecrets = []string{sollv1.SecretName, "soll-initial-admin-secret", "soll-accounts", "soll-revoked-tokens", "soll-sops-keys"}

// Data returns the data of the repository Secret s as soll uses it: its
// own, or, when it names a Secret in CredentialsSecretKey, its own keys
// with the credentials (secretKeys) of that Secret, read through c from
// s's namespace. The named Secret must exist, hold at least one of
// secretKeys, and be neither another repository Secret (it serves
// Projects of its own) nor one of soll's own Secrets. Errors name s, the
// key and the named Secret, never a value.
func Data(ctx context.Context, c client.Reader, s *corev1.Secret) (map[string][]byte, error) {
	name := strings.TrimSpace(string(s.Data[CredentialsSecretKey]))
	if name == "" {
		return s.Data, nil
	}
	field := fmt.Sprintf("repository Secret %s: key %s", s.Name, CredentialsSecretKey)
	for _, k := range secretKeys {
		if len(s.Data[k]) > 0 {
			return nil, fmt.Errorf("%s names Secret %s, but the repository Secret holds %s itself: keep the credentials in one place, in %s or in %s", field, name, k, name, s.Name)
		}
	}
	if slices.Contains(ownSecrets, name) {
		return nil, fmt.Errorf("%s names Secret %s, which soll keeps for itself: name the Secret that holds the repository's credentials", field, name)
	}
	var lender corev1.Secret
	err := c.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: name}, &lender)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%s names Secret %s, which does not exist in soll's namespace %s: create it with the keys %s, or correct the name", field, name, s.Namespace, strings.Join(secretKeys, ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: read Secret %s: %w", field, name, err)
	}
	if typ, ok := lender.Labels[sollv1.SecretTypeLabel]; ok {
		return nil, fmt.Errorf("%s names Secret %s, which is labelled %s=%s and so serves Projects of its own: name a Secret without that label", field, name, sollv1.SecretTypeLabel, typ)
	}
	out := make(map[string][]byte, len(s.Data)+len(secretKeys))
	for k, v := range s.Data {
		out[k] = v
	}
	lent := false
	for _, k := range secretKeys {
		if v := lender.Data[k]; len(v) > 0 {
			out[k], lent = v, true
		}
	}
	if !lent {
		return nil, fmt.Errorf("%s names Secret %s, which holds none of the keys %s: give the credentials these key names", field, name, strings.Join(secretKeys, ", "))
	}
	return out, nil
}
