package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SyncPolicy controls when and how an Application is synced.
// +kubebuilder:validation:XValidation:rule="!has(self.operationTimeout) || !self.operationTimeout.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$') || (duration(self.operationTimeout) >= duration('10s') && duration(self.operationTimeout) <= duration('24h'))",message="operationTimeout must be between 10s and 24h",fieldPath=".operationTimeout"
type SyncPolicy struct {
	// Automated makes soll sync on its own whenever the Application is out
	// of sync. Without it, syncs happen only when requested.
	// +optional
	Automated *AutomatedSyncPolicy `json:"automated,omitempty"`

	// SyncOptions tune how objects are applied and pruned, for manual and
	// automated syncs alike.
	// +optional
	SyncOptions *SyncOptions `json:"syncOptions,omitempty"`

	// Retry retries a failed sync with exponential backoff. Without it, a
	// failed sync is not retried until the next change or request.
	// +optional
	Retry *RetryStrategy `json:"retry,omitempty"`

	// ManagedNamespaceMetadata is applied to the destination namespace when
	// soll creates it (syncOptions.createNamespace) and on later syncs.
	// +optional
	ManagedNamespaceMetadata *ManagedNamespaceMetadata `json:"managedNamespaceMetadata,omitempty"`

	// OperationTimeout bounds one sync operation, hooks and waits between
	// waves included; an operation still running then is stopped and
	// fails (SyncFail hooks run). Default 30m; at least 10s, at most 24h.
	// +optional
	OperationTimeout *metav1.Duration `json:"operationTimeout,omitempty"`
}

// AutomatedSyncPolicy configures automated sync.
type AutomatedSyncPolicy struct {
	// Enabled turns automated sync on or off without deleting the rest of
	// the settings. An automated block without it is enabled.
	// +optional
	// +kubebuilder:default=true
	Enabled *bool `json:"enabled,omitempty"`

	// Prune deletes objects that are no longer in the sources during
	// automated syncs. Without it, such objects are only reported, and
	// deleted by a manual sync with prune.
	// +optional
	Prune bool `json:"prune,omitempty"`

	// SelfHeal syncs again when live objects drift from the desired state
	// although the sources did not change, for example after a manual edit
	// or deletion. Without it, only new revisions trigger automated syncs.
	// +optional
	SelfHeal bool `json:"selfHeal,omitempty"`

	// AllowEmpty lets an automated sync with prune proceed when the
	// sources render no objects at all. Without it, such a sync is refused,
	// because an empty render is more often a mistake (a wrong path or
	// branch) than the wish to delete everything.
	// +optional
	AllowEmpty bool `json:"allowEmpty,omitempty"`
}

// SyncOptions tune how a sync applies and prunes objects. Objects are always
// applied with server-side apply (field manager "soll"); there is no option
// to use client-side apply. An object that another Application tracks is
// never taken over: a sync that includes one fails before anything is
// applied (what Argo CD's FailOnSharedResource=true does). Objects of the
// sources tune their own sync with the annotation soll.dev/sync-options
// (Argo CD's argocd.argoproj.io/sync-options is understood too), for
// example Prune=false, Prune=confirm, Delete=false, PruneLast=true,
// Replace=true or AdoptExisting=true.
type SyncOptions struct {
	// CreateNamespace creates the destination namespace if it does not exist.
	// +optional
	CreateNamespace bool `json:"createNamespace,omitempty"`

	// ApplyOutOfSyncOnly applies only the objects that differ from the
	// desired state instead of all of them, which makes syncs of large
	// Applications much cheaper.
	// +optional
	ApplyOutOfSyncOnly bool `json:"applyOutOfSyncOnly,omitempty"`

	// Replace deletes and recreates an object when the API server rejects a
	// change to it because the changed field is immutable (for example a
	// Job's template or a Service's clusterIP). Without it such a sync
	// fails with the API server's error.
	// +optional
	Replace bool `json:"replace,omitempty"`

	// ForceConflicts takes over fields that other field managers set, as
	// server-side apply's force flag (kubectl apply --force-conflicts)
	// does. It is on unless set to false, because Git is the source of
	// truth: a field someone changed with kubectl edit is reset by the next
	// sync. When false, an object whose sources set such a field to
	// another value fails to sync, its result naming the fields and their
	// managers, and the operation fails as for any object that fails; hooks
	// are applied the same way. Fields matched by ignoreDifferences are
	// never taken over when respectIgnoreDifferences is set.
	// +optional
	// +kubebuilder:default=true
	ForceConflicts *bool `json:"forceConflicts,omitempty"`

	// PruneLast deletes pruned objects only after all other objects were
	// applied and are healthy, instead of in the wave they belong to.
	// +optional
	PruneLast bool `json:"pruneLast,omitempty"`

	// PrunePropagationPolicy is the deletion propagation used when pruning:
	// "foreground" waits for dependents to be deleted, "background" lets
	// the garbage collector delete them afterwards, "orphan" keeps them.
	// +optional
	// +kubebuilder:default=foreground
	PrunePropagationPolicy PrunePropagationPolicy `json:"prunePropagationPolicy,omitempty"`

	// RespectIgnoreDifferences leaves the fields that ignoreDifferences
	// (and the settings' ignore rules) match as they are in the cluster
	// when applying, instead of applying their values from the sources:
	// an autoscaler's replicas survive a sync. Right before each apply the
	// live object is read; a matched field it has keeps its live value (or
	// is left out of the apply, when soll does not own it, which leaves it
	// to its owner), a matched field it lacks is left out. An object that
	// does not exist yet is created with the values of the sources. Hooks
	// are applied as they are.
	// +optional
	RespectIgnoreDifferences bool `json:"respectIgnoreDifferences,omitempty"`

	// AdoptExisting lets a sync take over objects of the sources that
	// already exist in the cluster without soll's tracking annotation:
	// objects another tool, a person or a controller created. Without it
	// such an object is reported in the ExistingResource condition and
	// every sync of the Application is refused before anything is
	// applied, so soll never overwrites, and later prunes, an object it
	// was not asked to manage. An object can opt in on its own with the
	// annotation soll.dev/sync-options: AdoptExisting=true in the
	// sources; AdoptExisting=false there keeps that object out of an
	// Application that adopts. Objects tracked by another Application are
	// never taken over.
	// +optional
	AdoptExisting bool `json:"adoptExisting,omitempty"`
}

// PrunePropagationPolicy is the propagation policy of deletions during
// pruning.
// +kubebuilder:validation:Enum=foreground;background;orphan
type PrunePropagationPolicy string

const (
	// PropagationForeground deletes dependents before the owner.
	PropagationForeground PrunePropagationPolicy = "foreground"
	// PropagationBackground deletes the owner first and the dependents
	// asynchronously.
	PropagationBackground PrunePropagationPolicy = "background"
	// PropagationOrphan deletes the owner and leaves its dependents.
	PropagationOrphan PrunePropagationPolicy = "orphan"
)

// RetryStrategy retries failed syncs.
type RetryStrategy struct {
	// Limit is the number of retries after the first attempt.
	// +optional
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Limit *int32 `json:"limit,omitempty"`

	// Backoff is the wait between attempts.
	// +optional
	Backoff *Backoff `json:"backoff,omitempty"`
}

// Backoff is an exponential backoff: the n-th retry waits
// duration * factor^(n-1), at most maxDuration.
//
// +kubebuilder:validation:XValidation:rule="!has(self.duration) || !has(self.maxDuration) || !self.duration.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$') || !self.maxDuration.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$') || duration(self.maxDuration) >= duration(self.duration)",message="maxDuration must not be shorter than duration"
type Backoff struct {
	// Duration is the wait before the first retry, a Go duration such as
	// "5s" or "1m30s".
	// +optional
	// +kubebuilder:default="5s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	Duration *metav1.Duration `json:"duration,omitempty"`

	// Factor multiplies the wait after each retry. Integers only: the API
	// has no floating-point fields, so that values round-trip exactly.
	// +optional
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10
	Factor *int32 `json:"factor,omitempty"`

	// MaxDuration caps the wait between retries, a Go duration such as "3m".
	// +optional
	// +kubebuilder:default="3m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	MaxDuration *metav1.Duration `json:"maxDuration,omitempty"`
}

// ManagedNamespaceMetadata are labels and annotations soll sets on the
// destination namespace.
type ManagedNamespaceMetadata struct {
	// Labels are set on the namespace.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// Annotations are set on the namespace.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Operation is a requested sync or rollback. Exactly one of sync and
// rollback is set.
//
// +kubebuilder:validation:XValidation:rule="has(self.sync) != has(self.rollback)",message="exactly one of operation.sync and operation.rollback must be set"
type Operation struct {
	// Sync requests a sync to the sources' target revisions, or to the
	// given revisions.
	// +optional
	Sync *SyncOperation `json:"sync,omitempty"`

	// Rollback requests a sync to the revisions and sources recorded in a
	// status.history entry. The API server also sets spec.pin to those
	// revisions, so that automated sync keeps the rolled-back state. When
	// spec's sources changed since that entry, the Application shows
	// OutOfSync until spec is changed back or the pin is removed.
	// +optional
	Rollback *RollbackOperation `json:"rollback,omitempty"`

	// InitiatedBy records who asked for the operation.
	// +optional
	InitiatedBy *OperationInitiator `json:"initiatedBy,omitempty"`

	// Retry overrides spec.syncPolicy.retry for this operation.
	// +optional
	Retry *RetryStrategy `json:"retry,omitempty"`
}

// SyncOperation is a requested sync.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.revision) && has(self.revisions))",message="revision and revisions are mutually exclusive"
type SyncOperation struct {
	// Revision syncs to this revision instead of the source's
	// targetRevision, for single-source Applications.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Revision string `json:"revision,omitempty"`

	// Revisions syncs to these revisions, one per source in the order of
	// spec.sources, for multi-source Applications. An empty entry means
	// that source's targetRevision.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=255
	Revisions []string `json:"revisions,omitempty"`

	// Prune deletes objects that are no longer in the sources.
	// +optional
	Prune bool `json:"prune,omitempty"`

	// DryRun runs the sync with server-side dry run: the result shows what
	// would change, and nothing is changed.
	// +optional
	DryRun bool `json:"dryRun,omitempty"`

	// Resources limits the sync to these objects (selective sync). Empty
	// means all objects of the Application. Hooks do not run in a selective
	// sync.
	// +optional
	// +listType=atomic
	Resources []SyncOperationResource `json:"resources,omitempty"`

	// SyncOptions replace spec.syncPolicy.syncOptions for this sync when
	// set. They are not merged field by field.
	// +optional
	SyncOptions *SyncOptions `json:"syncOptions,omitempty"`

	// ConfirmPrune confirms the pruning of objects that ask for it (sync
	// option Prune=confirm in their soll.dev/sync-options annotation).
	// Without it such objects are left in place, reported PruneSkipped,
	// and automated syncs never prune them.
	// +optional
	ConfirmPrune bool `json:"confirmPrune,omitempty"`
}

// RollbackOperation is a requested rollback.
type RollbackOperation struct {
	// ID is the id of the status.history entry to roll back to.
	// +required
	// +kubebuilder:validation:Minimum=0
	ID int64 `json:"id"`

	// Prune deletes objects that the rolled-back state does not contain.
	// +optional
	Prune bool `json:"prune,omitempty"`

	// DryRun shows what the rollback would change without changing it.
	// +optional
	DryRun bool `json:"dryRun,omitempty"`
}

// SyncOperationResource names an object to sync in a selective sync.
type SyncOperationResource struct {
	// Group is the API group; empty is the core group.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Group string `json:"group,omitempty"`

	// Kind is the kind.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Kind string `json:"kind"`

	// Namespace is the namespace; empty for cluster-scoped objects.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`

	// Name is the name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// OperationInitiator records who requested an operation.
type OperationInitiator struct {
	// Username is the user who requested it, as authenticated by the soll
	// server (or the Kubernetes user for a kubectl patch).
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Username string `json:"username,omitempty"`

	// Automated is true when the controller's automated sync requested it.
	// +optional
	Automated bool `json:"automated,omitempty"`
}
