package appstate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	gosync "sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/diff"
	"soll.dev/internal/render"
	"soll.dev/internal/render/sops"
)

// sopsKeys returns the decrypter of the apps of project in soll's
// namespace ns: the age keys of the Secrets that serve the project (the
// Secret sops.SecretName and the Secrets labelled sollv1.SecretTypeSOPSKeys, each
// scoped by its annotation sops.ProjectsAnnotation), and its version: a
// digest of the project's name and of those Secrets' versions. A change to
// one project's keys changes only that project's version, and since the
// version is part of every render request (render.Request.Keys), a render
// made with one project's keys is never reused for another project.
func (p *Pipeline) sopsKeys(ctx context.Context, ns, project string) (d render.Decrypter, version string, err error) {
	secrets, err := p.keySecrets(ctx, ns)
	if err != nil {
		return nil, "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "project %s\n", project)
	for _, s := range secrets {
		if s.parsed.Serves(project) {
			fmt.Fprintf(h, "secret %s %s %s\n", s.parsed.Name, s.uid, s.resourceVersion)
		}
	}
	version = hex.EncodeToString(h.Sum(nil))
	p.sops.mu.Lock()
	defer p.sops.mu.Unlock()
	if e, ok := p.sops.projects[project]; ok && e.version == version {
		return e.d, version, nil
	}
	parsed := make([]*sops.KeySecret, len(secrets))
	for i, s := range secrets {
		parsed[i] = s.parsed
	}
	keys, err := sops.ForProject(ns, project, parsed)
	if err != nil {
		return nil, "", err
	}
	if p.sops.projects == nil {
		p.sops.projects = map[string]sopsEntry{}
	}
	p.sops.projects[project] = sopsEntry{version: version, d: keys}
	return keys, version, nil
}

// keySecret is a Secret of age keys, parsed.
type keySecret struct {
	uid, resourceVersion string
	parsed               *sops.KeySecret
}

// keySecrets reads the Secrets of age keys in ns, parsing each version
// once.
func (p *Pipeline) keySecrets(ctx context.Context, ns string) ([]keySecret, error) {
	var list corev1.SecretList
	if err := p.Client.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{sollv1.SecretTypeLabel: sollv1.SecretTypeSOPSKeys}); err != nil {
		return nil, fmt.Errorf("list the Secrets of SOPS keys in %s: %w", ns, err)
	}
	items := list.Items
	if !slices.ContainsFunc(items, func(s corev1.Secret) bool { return s.Name == sops.SecretName }) {
		var s corev1.Secret
		err := p.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: sops.SecretName}, &s)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("read Secret %s/%s: %w", ns, sops.SecretName, err)
		default:
			items = append(items, s)
		}
	}
	p.sops.mu.Lock()
	defer p.sops.mu.Unlock()
	seen := map[string]*sops.KeySecret{}
	out := make([]keySecret, 0, len(items))
	for _, s := range items {
		id := s.Name + "/" + string(s.UID) + "/" + s.ResourceVersion
		k := p.sops.secrets[id]
		if k == nil {
			k = sops.ParseKeySecret(s.Namespace, s.Name, s.Annotations, s.Data)
		}
		seen[id] = k
		out = append(out, keySecret{uid: string(s.UID), resourceVersion: s.ResourceVersion, parsed: k})
	}
	p.sops.secrets = seen
	slices.SortFunc(out, func(a, b keySecret) int { return strings.Compare(a.parsed.Name, b.parsed.Name) })
	return out, nil
}

// sopsCache holds the parsed Secrets of age keys, by name, UID and
// resource version, and the decrypter of each project with its version.
type sopsCache struct {
	mu       gosync.Mutex
	secrets  map[string]*sops.KeySecret
	projects map[string]sopsEntry
}

type sopsEntry struct {
	version string
	d       render.Decrypter
}

// checkDecrypted keeps decrypted data in Secrets: an object of a render
// that is not a v1 Secret and came from a decrypted file, or holds a value
// that was encrypted (render.Decrypted), fails the render, naming the
// object and the files, unless the Project's spec.sops.allowNonSecretKinds
// allows it. It returns the decrypted values, which every diff and
// manifest soll shows then masks (diff.Masker).
func checkDecrypted(proj *sollv1.Project, dec *render.Decrypted, objs []render.Object) ([]string, error) {
	if dec == nil {
		return nil, nil
	}
	if proj.Spec.SOPS != nil && proj.Spec.SOPS.AllowNonSecretKinds {
		return dec.Values, nil
	}
	m := diff.NewMasker(dec.Values)
	for _, o := range objs {
		u := o.Unstructured
		if isV1Secret(u) {
			continue
		}
		fromFile := slices.Contains(dec.Files, o.Origin.File)
		if !fromFile && !m.Carries(u) {
			continue
		}
		what := fmt.Sprintf("%s %s", u.GetKind(), u.GetName())
		if u.GetNamespace() != "" {
			what = fmt.Sprintf("%s %s/%s", u.GetKind(), u.GetNamespace(), u.GetName())
		}
		how := fmt.Sprintf("holds a value decrypted from %s", strings.Join(dec.Files, ", "))
		if fromFile {
			how = "is in the SOPS-encrypted file " + o.Origin.File
		}
		return nil, fmt.Errorf("%s (from %s) %s, and decrypted data may only be applied in v1 Secrets: put the value in a Secret (a secretGenerator rather than a configMapGenerator), leave the value unencrypted if it is no secret, or have an admin set spec.sops.allowNonSecretKinds in project %s",
			what, o.Origin, how, proj.Name)
	}
	return nil, nil
}

// isV1Secret reports whether u is a core v1 Secret.
func isV1Secret(u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	return gvk.Group == "" && gvk.Version == "v1" && gvk.Kind == "Secret"
}
