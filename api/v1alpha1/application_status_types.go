package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ApplicationStatus is the observed state of an Application. Only the
// controller writes it, except that the API server may set
// operationState.phase to Terminating to cancel a running operation.
type ApplicationStatus struct {
	// ObservedGeneration is the metadata.generation the status describes.
	// When it is lower than metadata.generation, the controller has not
	// processed the latest change yet.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions describe the state of the reconciliation: Ready (synced
	// and healthy), Compared (the last comparison succeeded),
	// OperationSucceeded (the last operation succeeded), and, only while
	// they hold, SyncWindowBlocked, SharedResource and ExistingResource.
	// True is good for the first three; the reasons are listed in the
	// user guide (Applications, Conditions).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// Sync is the result of the last comparison of desired and live state.
	// +optional
	Sync *SyncStatus `json:"sync,omitempty"`

	// Health is the aggregated health of the Application's objects: the
	// worst health of any of them.
	// +optional
	Health *HealthStatus `json:"health,omitempty"`

	// Resources is the inventory of objects the Application manages, with
	// their sync and health status. Pruning uses this inventory, so soll
	// never lists the whole cluster to find what to delete.
	// +optional
	// +listType=atomic
	Resources []ResourceStatus `json:"resources,omitempty"`

	// OperationState is the state of the current or last operation.
	// +optional
	OperationState *OperationState `json:"operationState,omitempty"`

	// Deletion describes deleting the Application with its objects (the
	// finalizer soll.dev/resources-finalizer): the PreDelete and
	// PostDelete hooks of its sources, and, once the Application is being
	// deleted, how far the deletion got and what its hooks did.
	// +optional
	Deletion *DeletionStatus `json:"deletion,omitempty"`

	// History lists the last successful syncs, newest last, at most
	// spec.revisionHistoryLimit of them. Rollbacks refer to the entries'
	// ids.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	History []RevisionHistory `json:"history,omitempty"`

	// SourceRevisions describe the revisions that sync.revision(s) name, one
	// per source in order: commit, author, date and message for Git, chart
	// version for Helm.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	SourceRevisions []RevisionMetadata `json:"sourceRevisions,omitempty"`

	// SourceTypes are the detected types of the sources, one per source in
	// order.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	SourceTypes []SourceType `json:"sourceTypes,omitempty"`

	// ReconciledAt is when the controller last compared desired and live
	// state. A comparison that changes nothing else in status updates it
	// only when it is older than an hour, to spare the API server a write
	// per app and refresh; the soll_compare_duration_seconds metric counts
	// every comparison.
	// +optional
	ReconciledAt *metav1.Time `json:"reconciledAt,omitempty"`

	// Summary holds facts about the deployed objects for lists and
	// filters in the UI.
	// +optional
	Summary *ApplicationSummary `json:"summary,omitempty"`
}

// SyncStatus is the result of comparing desired and live state.
type SyncStatus struct {
	// Status says whether the live state matches the desired state.
	// +required
	Status SyncStatusCode `json:"status"`

	// Revision is the revision of the first (usually only) source that
	// was compared with: a commit SHA for Git, a chart version for Helm.
	// It repeats revisions[0] for display, for example in kubectl's
	// Revision column.
	// +optional
	Revision string `json:"revision,omitempty"`

	// Revisions are the revisions compared with, one per source in the
	// order of spec.sources (a single entry for spec.source).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	Revisions []string `json:"revisions,omitempty"`

	// ComparedTo is the part of the spec the comparison used. When it
	// differs from the current spec, the status is stale.
	// +optional
	ComparedTo *ComparedTo `json:"comparedTo,omitempty"`
}

// ComparedTo is a copy of the spec fields that a comparison depends on.
// Status always lists sources, also for an Application with spec.source, so
// that readers of the status need only one code path (and the CRD schema
// holds fewer copies of the source type).
type ComparedTo struct {
	// Sources are the compared sources: spec.sources, or spec.source as the
	// only entry.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	Sources []ApplicationSource `json:"sources,omitempty"`

	// Destination is the compared destination.
	// +optional
	Destination *ApplicationDestination `json:"destination,omitempty"`

	// IgnoreDifferences are the ignore rules in effect.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	IgnoreDifferences []ResourceIgnoreDifferences `json:"ignoreDifferences,omitempty"`
}

// ResourceStatus is the state of one object the Application manages.
type ResourceStatus struct {
	// Group is the API group; empty is the core group.
	// +optional
	Group string `json:"group,omitempty"`

	// Version is the API version the object is managed with.
	// +optional
	Version string `json:"version,omitempty"`

	// Kind is the kind.
	// +required
	Kind string `json:"kind"`

	// Namespace is the namespace; empty for cluster-scoped objects.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Name is the name.
	// +required
	Name string `json:"name"`

	// Status says whether the live object matches the desired one.
	// +optional
	Status SyncStatusCode `json:"status,omitempty"`

	// Health is the object's health, for kinds soll can assess.
	// +optional
	Health *HealthStatus `json:"health,omitempty"`

	// RequiresPruning is true when the object is no longer in the sources
	// and will be deleted by a sync with prune.
	// +optional
	RequiresPruning bool `json:"requiresPruning,omitempty"`

	// Hook is true when the object is a sync hook rather than a regular
	// object.
	// +optional
	Hook bool `json:"hook,omitempty"`

	// SyncWave is the object's sync wave; lower waves are applied first.
	// +optional
	SyncWave int32 `json:"syncWave,omitempty"`
}

// OperationPhase is the phase of a sync or rollback operation.
// +kubebuilder:validation:Enum=Running;Terminating;Succeeded;Failed;Error
type OperationPhase string

const (
	// OperationRunning means the operation is in progress.
	OperationRunning OperationPhase = "Running"
	// OperationTerminating means cancellation was requested; the controller
	// stops starting new steps and moves to Failed.
	OperationTerminating OperationPhase = "Terminating"
	// OperationSucceeded means all steps succeeded.
	OperationSucceeded OperationPhase = "Succeeded"
	// OperationFailed means a step failed, for example an object was
	// rejected, a hook failed or the operation was cancelled.
	OperationFailed OperationPhase = "Failed"
	// OperationError means the operation could not be carried out at all,
	// for example because the sources failed to render.
	OperationError OperationPhase = "Error"
)

// OperationState is the state of the current or last operation.
type OperationState struct {
	// Operation is a copy of the operation being run.
	// +required
	Operation Operation `json:"operation"`

	// Phase is the phase of the operation. Set it to Terminating (through
	// the status subresource) to cancel a running operation.
	// +required
	Phase OperationPhase `json:"phase"`

	// Message is a human-readable summary of the progress or the failure.
	// +optional
	Message string `json:"message,omitempty"`

	// SyncResult is the result of the sync, filled in as it progresses.
	// +optional
	SyncResult *SyncOperationResult `json:"syncResult,omitempty"`

	// StartedAt is when the operation started.
	// +required
	StartedAt metav1.Time `json:"startedAt"`

	// FinishedAt is when the operation finished; empty while running.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`

	// RetryCount is the number of retries made so far.
	// +optional
	// +kubebuilder:validation:Minimum=0
	RetryCount int32 `json:"retryCount,omitempty"`

	// Controller is the controller replica that runs the operation, when
	// the controller is sharded over replicas (the identity of its
	// Lease): another replica resumes it only once that one's Lease
	// expired.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Controller string `json:"controller,omitempty"`
}

// DeletionStatus describes the deletion of an Application with its
// objects: PreDelete hooks run (and must succeed) before any object is
// deleted, then the objects are deleted, then PostDelete hooks run; the
// Application goes once they succeeded.
type DeletionStatus struct {
	// Hooks are the PreDelete and PostDelete hooks of the sources, as the
	// last comparison found them. While there are any, a deletion whose
	// sources do not render waits for them (and retries) rather than
	// delete the objects without running the hooks.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=200
	Hooks []DeletionHook `json:"hooks,omitempty"`

	// Phase is the step the deletion is at; empty while the Application
	// is not being deleted with its objects.
	// +optional
	Phase DeletionPhase `json:"phase,omitempty"`

	// PhaseStartedAt is when the deletion entered Phase. The wait for the
	// objects to go is bounded from then on (10 minutes).
	// +optional
	PhaseStartedAt *metav1.Time `json:"phaseStartedAt,omitempty"`

	// Message says what the deletion waits for, or why it cannot go on
	// and what to do about it.
	// +optional
	Message string `json:"message,omitempty"`

	// Attempts counts the failed runs of the hooks of the current phase.
	// They are retried after 5 seconds, doubled with every failure up to
	// 3 minutes.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Attempts int32 `json:"attempts,omitempty"`

	// Revisions are the revisions the hooks were rendered at, one per
	// source: the sources' target revisions when the deletion ran them,
	// so that a hook fixed in Git is run as fixed.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	Revisions []string `json:"revisions,omitempty"`

	// Results are the outcomes of the hooks the deletion ran, as
	// operationState.syncResult.resources reports a sync's hooks (phase
	// PreDelete or PostDelete, hook phase Running, Succeeded or Failed).
	// +optional
	// +listType=atomic
	Results []ResourceResult `json:"results,omitempty"`
}

// DeletionPhase is a step of deleting an Application with its objects.
// +kubebuilder:validation:Enum=PreDelete;Deleting;PostDelete
type DeletionPhase string

const (
	// DeletionPreDelete: the PreDelete hooks run; nothing is deleted
	// until they succeed.
	DeletionPreDelete DeletionPhase = "PreDelete"
	// DeletionDeleting: the objects (and the PreDelete hooks' own
	// objects) are being deleted.
	DeletionDeleting DeletionPhase = "Deleting"
	// DeletionPostDelete: the objects are gone and the PostDelete hooks
	// run; the Application goes once they succeeded.
	DeletionPostDelete DeletionPhase = "PostDelete"
)

// DeletionHook names a PreDelete or PostDelete hook of the sources.
type DeletionHook struct {
	// Group is the API group; empty is the core group.
	// +optional
	Group string `json:"group,omitempty"`

	// Kind is the kind.
	// +required
	Kind string `json:"kind"`

	// Namespace is the namespace; empty for cluster-scoped objects.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Name is the name; for a hook named by metadata.generateName, the
	// prefix followed by "*".
	// +required
	Name string `json:"name"`

	// Types are the deletion phases the hook runs in.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	Types []HookType `json:"types"`
}

// SyncOperationResult is the outcome of a sync.
type SyncOperationResult struct {
	// Revisions are the revisions synced to, one per source in order.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	Revisions []string `json:"revisions,omitempty"`

	// Resources are the results per object, in the order they were
	// processed.
	// +optional
	// +listType=atomic
	Resources []ResourceResult `json:"resources,omitempty"`
}

// ResultCode is the outcome of syncing one object.
// +kubebuilder:validation:Enum=Synced;SyncFailed;Pruned;PruneSkipped
type ResultCode string

const (
	// ResultSynced means the object was applied.
	ResultSynced ResultCode = "Synced"
	// ResultSyncFailed means applying the object failed.
	ResultSyncFailed ResultCode = "SyncFailed"
	// ResultPruned means the object was deleted.
	ResultPruned ResultCode = "Pruned"
	// ResultPruneSkipped means the object should be pruned but was kept,
	// because prune was off or the object asks not to be pruned.
	ResultPruneSkipped ResultCode = "PruneSkipped"
)

// SyncPhase is a phase of a sync, or of deleting the Application with its
// objects (PreDelete, PostDelete); hooks run in the phase they name.
// +kubebuilder:validation:Enum=PreSync;Sync;PostSync;SyncFail;PreDelete;PostDelete
type SyncPhase string

const (
	// SyncPhasePreSync runs before any object is applied.
	SyncPhasePreSync SyncPhase = "PreSync"
	// SyncPhaseSync applies the objects, wave by wave.
	SyncPhaseSync SyncPhase = "Sync"
	// SyncPhasePostSync runs after all objects are applied and healthy.
	SyncPhasePostSync SyncPhase = "PostSync"
	// SyncPhaseSyncFail runs when the sync failed.
	SyncPhaseSyncFail SyncPhase = "SyncFail"
	// SyncPhasePreDelete runs before the objects of an Application
	// deleted with them are deleted.
	SyncPhasePreDelete SyncPhase = "PreDelete"
	// SyncPhasePostDelete runs once they are gone.
	SyncPhasePostDelete SyncPhase = "PostDelete"
)

// HookType is the kind of hook an object is.
// +kubebuilder:validation:Enum=PreSync;Sync;PostSync;SyncFail;PreDelete;PostDelete
type HookType string

const (
	// HookPreSync runs before the objects are applied.
	HookPreSync HookType = "PreSync"
	// HookSync runs with the objects.
	HookSync HookType = "Sync"
	// HookPostSync runs after the objects are applied and healthy.
	HookPostSync HookType = "PostSync"
	// HookSyncFail runs when the sync failed.
	HookSyncFail HookType = "SyncFail"
	// HookPreDelete runs before the Application's objects are deleted.
	HookPreDelete HookType = "PreDelete"
	// HookPostDelete runs after the Application's objects were deleted.
	HookPostDelete HookType = "PostDelete"
)

// HookPhase is the state of a hook object.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Error;Terminating
type HookPhase string

const (
	// HookPhasePending means the hook has not started.
	HookPhasePending HookPhase = "Pending"
	// HookPhaseRunning means the hook is running.
	HookPhaseRunning HookPhase = "Running"
	// HookPhaseSucceeded means the hook completed successfully.
	HookPhaseSucceeded HookPhase = "Succeeded"
	// HookPhaseFailed means the hook failed.
	HookPhaseFailed HookPhase = "Failed"
	// HookPhaseError means the hook could not be run.
	HookPhaseError HookPhase = "Error"
	// HookPhaseTerminating means the hook is being stopped.
	HookPhaseTerminating HookPhase = "Terminating"
)

// ResourceResult is the outcome of syncing one object.
type ResourceResult struct {
	// Group is the API group; empty is the core group.
	// +optional
	Group string `json:"group,omitempty"`

	// Version is the API version.
	// +optional
	Version string `json:"version,omitempty"`

	// Kind is the kind.
	// +required
	Kind string `json:"kind"`

	// Namespace is the namespace; empty for cluster-scoped objects.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Name is the name.
	// +required
	Name string `json:"name"`

	// Status is the outcome; empty while the object is still being
	// processed.
	// +optional
	Status ResultCode `json:"status,omitempty"`

	// Message is the API server's answer or the error, for example the
	// field manager that a conflict was with.
	// +optional
	Message string `json:"message,omitempty"`

	// SyncPhase is the phase the object was processed in.
	// +optional
	SyncPhase SyncPhase `json:"syncPhase,omitempty"`

	// SyncWave is the wave the object was processed in.
	// +optional
	SyncWave int32 `json:"syncWave,omitempty"`

	// HookType is set when the object is a hook.
	// +optional
	HookType HookType `json:"hookType,omitempty"`

	// HookPhase is the state of the hook, when the object is a hook.
	// +optional
	HookPhase HookPhase `json:"hookPhase,omitempty"`
}

// RevisionHistory records one successful sync.
type RevisionHistory struct {
	// ID identifies the entry; ids increase with every sync and are never
	// reused.
	// +required
	// +kubebuilder:validation:Minimum=0
	ID int64 `json:"id"`

	// Revisions are the revisions deployed, one per source in order.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	Revisions []string `json:"revisions,omitempty"`

	// Sources are the sources as they were at the time: spec.sources, or
	// spec.source as the only entry. A rollback restores them.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	Sources []ApplicationSource `json:"sources,omitempty"`

	// DeployStartedAt is when the sync started.
	// +optional
	DeployStartedAt *metav1.Time `json:"deployStartedAt,omitempty"`

	// DeployedAt is when the sync finished.
	// +required
	DeployedAt metav1.Time `json:"deployedAt"`

	// InitiatedBy records who requested the sync.
	// +optional
	InitiatedBy *OperationInitiator `json:"initiatedBy,omitempty"`

	// Commits describe the revisions deployed, in the order of
	// Revisions: author, date and subject of each commit, as the sync
	// compared them.
	// +optional
	// +listType=atomic
	Commits []RevisionMetadata `json:"commits,omitempty"`
}

// RevisionMetadata describes a revision of a source.
type RevisionMetadata struct {
	// Revision is the resolved revision: a commit SHA for Git, a chart
	// version for Helm.
	// +required
	Revision string `json:"revision"`

	// Author is the commit author, as "Name <email>".
	// +optional
	Author string `json:"author,omitempty"`

	// Date is the commit date.
	// +optional
	Date *metav1.Time `json:"date,omitempty"`

	// Message is the commit message, truncated to its first 1000
	// characters.
	// +optional
	Message string `json:"message,omitempty"`

	// Tags are the tags pointing at the commit.
	// +optional
	// +listType=atomic
	Tags []string `json:"tags,omitempty"`

	// SignatureInfo says whether the commit is signed by one of the
	// Project's signatureKeys, and by which.
	// +optional
	SignatureInfo string `json:"signatureInfo,omitempty"`
}

// SourceType is how a source is rendered.
// +kubebuilder:validation:Enum=Directory;Kustomize;Helm;Jsonnet;Plugin;Ref
type SourceType string

const (
	// SourceTypeDirectory is a directory of plain manifests.
	SourceTypeDirectory SourceType = "Directory"
	// SourceTypeKustomize is a kustomization.
	SourceTypeKustomize SourceType = "Kustomize"
	// SourceTypeHelm is a Helm chart.
	SourceTypeHelm SourceType = "Helm"
	// SourceTypeJsonnet is Jsonnet.
	SourceTypeJsonnet SourceType = "Jsonnet"
	// SourceTypePlugin is rendered by a plugin.
	SourceTypePlugin SourceType = "Plugin"
	// SourceTypeRef is a source that renders nothing itself and lends its
	// files to the others through its ref.
	SourceTypeRef SourceType = "Ref"
)

// ApplicationSummary holds facts about the deployed objects.
type ApplicationSummary struct {
	// Images are the container images the workloads use.
	// +optional
	// +listType=set
	Images []string `json:"images,omitempty"`

	// ExternalURLs are the URLs the Application is reachable at, taken
	// from Ingresses, Gateway routes, LoadBalancer Services and the
	// annotation soll.dev/external-url.
	// +optional
	// +listType=set
	ExternalURLs []string `json:"externalURLs,omitempty"`
}
