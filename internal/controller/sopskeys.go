package controller

import (
	"context"
	"fmt"
	gosync "sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"soll.dev/internal/render"
	"soll.dev/internal/render/sops"
)

// sopsKeys returns the decrypter for soll's namespace ns: the age keys of
// the Secret sops.SecretName, parsed again only when it changes, or a
// decrypter that refuses every encrypted file when there is no such Secret.
func (r *Reconciler) sopsKeys(ctx context.Context, ns string) (d render.Decrypter, version string, err error) {
	var s corev1.Secret
	err = r.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: sops.SecretName}, &s)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, "", fmt.Errorf("read Secret %s/%s: %w", ns, sops.SecretName, err)
	default:
		version = string(s.UID) + "/" + s.ResourceVersion
	}
	r.sops.mu.Lock()
	defer r.sops.mu.Unlock()
	if r.sops.d != nil && r.sops.version == version {
		return r.sops.d, version, nil
	}
	d = sops.NoKeys(ns)
	if version != "" {
		keys, err := sops.FromSecretData(s.Data)
		if err != nil {
			return nil, "", fmt.Errorf("Secret %s/%s: %w", ns, sops.SecretName, err)
		}
		d = keys
	}
	r.sops.d, r.sops.version = d, version
	return d, version, nil
}

// sopsCache holds the decrypter of the last version of the keys Secret.
type sopsCache struct {
	mu      gosync.Mutex
	version string
	d       render.Decrypter
}
