package health

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// externalSecretsChecks: External Secrets Operator (group
// external-secrets.io). Stores report Ready True once the provider
// configuration validated; an ExternalSecret reports Ready True once its
// Secret was written (reason SecretSynced), False when the provider refused
// (SecretSyncedError). A deleted source secret is reported as Ready False,
// reason SecretDeleted, which needs a person too.
var externalSecretsChecks = map[schema.GroupKind]builtinCheck{
	{Group: "external-secrets.io", Kind: "ExternalSecret"}:        readyCheck{condition: "Ready"}.check,
	{Group: "external-secrets.io", Kind: "ClusterExternalSecret"}: readyCheck{condition: "Ready"}.check,
	{Group: "external-secrets.io", Kind: "PushSecret"}:            readyCheck{condition: "Ready"}.check,
	{Group: "external-secrets.io", Kind: "SecretStore"}:           readyCheck{condition: "Ready"}.check,
	{Group: "external-secrets.io", Kind: "ClusterSecretStore"}:    readyCheck{condition: "Ready"}.check,
}

// sealedSecretsChecks: Bitnami Sealed Secrets (group bitnami.com). The
// controller reports a Synced condition: True once it decrypted the data
// and wrote the Secret, False when it cannot (wrong key, a Secret of that
// name it does not own).
var sealedSecretsChecks = map[schema.GroupKind]builtinCheck{
	{Group: "bitnami.com", Kind: "SealedSecret"}: sealedSecretHealth,
}

func sealedSecretHealth(obj *unstructured.Unstructured) (Result, error) {
	return readyCheck{condition: "Synced"}.check(obj)
}
