package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// DurationPattern is the regular expression that every duration field of this
// API is validated against: a Go duration such as "30s", "1m30s" or "1.5h"
// (units ns, us, µs, ms, s, m, h; no sign, no spaces). It is repeated in the
// Pattern markers of those fields, because markers cannot refer to constants;
// a test in config/crd checks that the generated CRDs carry this exact pattern.
// CEL rules that compare durations first match the value against the same
// expression (spelled with [.] to avoid escaping) before calling duration(),
// so that a malformed value is reported once, by the pattern, and not again
// as a CEL evaluation error.
//
// Durations are typed as metav1.Duration, so Go code reads a time.Duration
// and the wire format is the string Kubernetes users know from other APIs.
const DurationPattern = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`

// GroupKind names a kind of Kubernetes resource by API group and kind, without
// version, as in Project resource allow and deny lists.
type GroupKind struct {
	// Group is the API group of the resource, for example "apps". The empty
	// string is the core group (Pods, Services, ConfigMaps ...). The glob "*"
	// matches every group.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Group string `json:"group"`

	// Kind is the kind of the resource, for example "Deployment". The glob "*"
	// matches every kind.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Kind string `json:"kind"`
}

// LocalSecretReference names a Secret in the namespace soll runs in. Secrets
// in other namespaces are never referenced, so that writing an Application
// does not give access to credentials its author could not read.
type LocalSecretReference struct {
	// Name is the name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// SyncStatusCode says whether the live state matches the desired state.
// +kubebuilder:validation:Enum=Synced;OutOfSync;Unknown
type SyncStatusCode string

const (
	// SyncStatusSynced means the live objects match what the sources render.
	SyncStatusSynced SyncStatusCode = "Synced"
	// SyncStatusOutOfSync means at least one object differs, is missing or
	// should be pruned.
	SyncStatusOutOfSync SyncStatusCode = "OutOfSync"
	// SyncStatusUnknown means the comparison could not be made, for example
	// because the sources failed to render.
	SyncStatusUnknown SyncStatusCode = "Unknown"
)

// HealthStatusCode is the health of an object or of a whole Application.
// The codes are the ones of Argo CD so that existing Lua health checks work
// unchanged.
// +kubebuilder:validation:Enum=Healthy;Progressing;Degraded;Suspended;Missing;Unknown
type HealthStatusCode string

const (
	// HealthHealthy means the object works as specified.
	HealthHealthy HealthStatusCode = "Healthy"
	// HealthProgressing means the object is not healthy yet but is expected
	// to become healthy, for example during a rollout.
	HealthProgressing HealthStatusCode = "Progressing"
	// HealthDegraded means the object failed or cannot reach a healthy state.
	HealthDegraded HealthStatusCode = "Degraded"
	// HealthSuspended means the object is paused on purpose, for example a
	// suspended CronJob or a paused rollout.
	HealthSuspended HealthStatusCode = "Suspended"
	// HealthMissing means the object does not exist in the cluster.
	HealthMissing HealthStatusCode = "Missing"
	// HealthUnknown means the health could not be determined.
	HealthUnknown HealthStatusCode = "Unknown"
)

// HealthStatus is the assessed health of an object or of an Application,
// with a human-readable explanation.
type HealthStatus struct {
	// Status is the health code.
	// +required
	Status HealthStatusCode `json:"status"`

	// Message explains the status, for example which condition of a
	// Deployment is not met.
	// +optional
	Message string `json:"message,omitempty"`

	// LastTransitionTime is when Status last changed. Only set on the
	// Application's own health, not on every resource.
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
}
