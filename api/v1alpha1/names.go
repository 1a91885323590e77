package v1alpha1

// The names soll's components share: annotations, labels, finalizers,
// Secret types, condition types and reasons. They live here, in the API
// package, so that every component (controller, API server, webhooks, CLI,
// renderers) shares one spelling without depending on another.

// Annotations users and soll's components set on an Application to talk to
// the controller.
const (
	// RefreshAnnotation asks the controller to compare the Application
	// now: "normal" lists its repositories' refs anew (coalesced per
	// repository), "hard" also bypasses the controller's caches. The
	// controller removes it once the request is handled.
	RefreshAnnotation = "soll.dev/refresh"
	// RefreshPushAnnotation names the webhook delivery (a random token)
	// that asked for a refresh, beside RefreshAnnotation. Every
	// Application refreshed for one push carries the same token, so the
	// controller lists the pushed repository once for all of them. Only
	// soll's webhook handler sets it; a refresh requested through the API
	// or the CLI removes it (its request is newer than the push).
	RefreshPushAnnotation = "soll.dev/refresh-push"
	// RestorePrunePendingAnnotation marks an Application whose automated
	// prune a restore (soll admin import -f) turned off because it was on
	// in the backup. After the Application's first successful comparison,
	// the controller turns prune on again and removes the annotation, so
	// that the first automated sync after a restore prunes nothing.
	RestorePrunePendingAnnotation = "soll.dev/restore-prune-pending"
)

// Labels, annotations and finalizers soll sets on the objects it manages
// and on Applications.
const (
	// ResourcesFinalizer on an Application makes deleting it delete its
	// resources first (cascade); without it they are left in place.
	ResourcesFinalizer = "soll.dev/resources-finalizer"
	// ManagedLabel ("true") marks every object soll applies, so that the
	// controller's watches of live objects can be filtered by the API
	// server to soll's objects only.
	ManagedLabel = "soll.dev/managed"
	// TrackingAnnotation marks an object as managed by an Application. Its
	// value names the Application and the object's own identity, so a copy
	// made by someone else (same annotation, other identity) is never
	// mistaken for soll's and never pruned.
	TrackingAnnotation = "soll.dev/tracking-id"
	// SyncOptionsAnnotation holds per-object sync options in the sources,
	// comma-separated (AdoptExisting=true lets soll take the object over
	// when it exists without soll's tracking annotation).
	SyncOptionsAnnotation = "soll.dev/sync-options"
)

// Hook annotations in the sources: an object that carries any of them is a
// hook, run at a point of a sync rather than applied with the other
// objects. soll's own comes first; Argo CD's and Helm's are honoured so
// that repositories written for those tools work unchanged. A hook may be
// named by metadata.generateName instead of metadata.name: each run
// creates an object of a new name.
const (
	HookAnnotation       = "soll.dev/hook"
	ArgoCDHookAnnotation = "argocd.argoproj.io/hook"
	HelmHookAnnotation   = "helm.sh/hook"
)

// Secrets in soll's namespace that soll reads are told apart by the label
// SecretTypeLabel.
const (
	// SecretTypeLabel names what a Secret in soll's namespace holds.
	SecretTypeLabel = "soll.dev/secret-type"
	// SecretTypeRepository holds the credentials of the one repository
	// named by its "url" key.
	SecretTypeRepository = "repository"
	// SecretTypeRepoCreds holds credentials for every repository whose URL
	// lies under its "url" key (a template).
	SecretTypeRepoCreds = "repo-creds"
	// SecretTypeSOPSKeys holds age keys for SOPS decryption.
	SecretTypeSOPSKeys = "sops-keys"
	// SharedLabel ("true") shares repository credentials that name no
	// Project with every Project.
	SharedLabel = "soll.dev/shared"
	// SOPSProjectsAnnotation lists, comma-separated, the Projects whose
	// Applications may decrypt with a Secret's age keys ("*": all).
	SOPSProjectsAnnotation = "soll.dev/sops-projects"
)

// Condition types of an Application (status.conditions[].type). The
// conditions every compared Application carries (Ready, Compared,
// OperationSucceeded once it has run an operation) read positively: True
// is good, and False says in its reason what is wrong. The conditions that
// name a problem (SyncWindowBlocked, SharedResource, ExistingResource,
// UnknownSyncOption) are present only while it lasts, and are then True.
// So no condition says "error" when there is none. docs/user/applications.md has the table.
const (
	// ConditionReady is True when the Application is synced to its
	// revision and healthy (ReasonSyncedAndHealthy). When False, the
	// reason says why: ReasonOutOfSync; the app's health status
	// (Progressing, Degraded, Suspended, Missing, Unknown: see
	// HealthStatusCode); ReasonReconciliationSuspended; the reason of a
	// failed comparison (see ConditionCompared); or, while the Application
	// is deleted with its objects, ReasonDeleting,
	// ReasonPreDeleteHooksFailed or ReasonPostDeleteHooksFailed.
	ConditionReady = "Ready"
	// ConditionCompared is True when the last comparison of the sources
	// with the cluster succeeded (ReasonSucceeded). When False, the reason
	// names the stage that failed (ReasonInvalidSpec,
	// ReasonProjectViolation, ReasonInvalidSettings, ReasonSourceError,
	// ReasonRenderError, ReasonDiffError, ReasonClusterUnavailable) and
	// the message has the error; status.sync is then Unknown (and
	// status.health too, when the cluster is unavailable).
	ConditionCompared = "Compared"
	// ConditionOperationSucceeded tells how the last operation (a sync or
	// a rollback, dry runs included) ended: True (ReasonSucceeded), or
	// False with ReasonSyncFailed, ReasonTimedOut, ReasonTerminated,
	// ReasonSyncWindowClosed, ReasonInvalidOperation,
	// ReasonDependencyMissing, ReasonDependencyCycle, or the reason of the
	// comparison the operation needed and that failed. The message is
	// status.operationState.message. It is not set before the first
	// operation ends.
	ConditionOperationSucceeded = "OperationSucceeded"
	// ConditionSyncWindowBlocked is present (True, ReasonSyncWindowClosed)
	// while the Project's sync windows hold an automated sync back.
	ConditionSyncWindowBlocked = "SyncWindowBlocked"
	// ApplicationSharedResource is present (True,
	// ReasonManagedByAnotherApplication) while an object of this
	// Application is also tracked by another Application; such objects
	// are never applied by this one, and its syncs are refused.
	ApplicationSharedResource = "SharedResource"
	// ConditionExistingResource is present (True, ReasonNotManagedBySoll)
	// while objects of the sources exist in the cluster without soll's
	// tracking annotation and may not be adopted; syncs are refused until
	// then.
	ConditionExistingResource = "ExistingResource"
	// ConditionDependenciesReady is present on Applications with
	// spec.dependsOn: True (ReasonSyncedAndHealthy) when every
	// Application depended on is Synced and Healthy at the revisions its
	// sources resolve to now, with no operation in flight; False while
	// they are not (ReasonDependencyNotReady: automated and requested
	// syncs wait, the message names what is waited for), when one does
	// not exist (ReasonDependencyMissing) or when the dependencies form
	// a cycle (ReasonDependencyCycle): a requested sync is then refused.
	ConditionDependenciesReady = "DependenciesReady"
)

// ConditionUnknownSyncOption is True while objects of the sources carry
// sync options (annotation soll.dev/sync-options or
// argocd.argoproj.io/sync-options) that soll does not know, or values an
// option does not take; the message names each object and entry. Such
// entries are ignored: the Application is compared and synced all the
// same. Its reason is ReasonSyncOptionIgnored.
const ConditionUnknownSyncOption = "UnknownSyncOption"

// Reasons of the Application's conditions (see the condition types).
const (
	// ReasonSucceeded: the comparison (Compared) or the operation
	// (OperationSucceeded) succeeded.
	ReasonSucceeded = "Succeeded"
	// ReasonSyncedAndHealthy: Ready; the objects match the sources and
	// are healthy.
	ReasonSyncedAndHealthy = "SyncedAndHealthy"
	// ReasonOutOfSync: not Ready; an object differs from the sources, is
	// missing, or is to be pruned. The message names the first.
	ReasonOutOfSync = "OutOfSync"
	// ReasonReconciliationSuspended: not Ready; spec.suspend stops the
	// controller from comparing and syncing the Application.
	ReasonReconciliationSuspended = "ReconciliationSuspended"

	// ReasonInvalidSpec: the Application's spec cannot be compared (no
	// source, a missing Project, objects outside the namespaces the
	// destination Cluster lets soll touch).
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonProjectViolation: the Application, or an object it renders,
	// breaks a rule of its Project; nothing was applied.
	ReasonProjectViolation = "ProjectViolation"
	// ReasonInvalidSettings: the settings ConfigMap or the SOPS keys do
	// not parse.
	ReasonInvalidSettings = "InvalidSettings"
	// ReasonSourceError: a source could not be resolved or fetched.
	ReasonSourceError = "SourceError"
	// ReasonRenderError: a source did not render.
	ReasonRenderError = "RenderError"
	// ReasonDiffError: the live objects could not be read or compared
	// with the rendered ones.
	ReasonDiffError = "DiffError"
	// ReasonClusterUnavailable: the destination cluster is not
	// registered, its credentials cannot be used, or its API server does
	// not answer; nothing is applied or pruned there until it does.
	ReasonClusterUnavailable = "ClusterUnavailable"

	// ReasonSyncFailed: the operation failed at a step (an object was
	// refused, a hook or a wave failed); status.operationState says which.
	ReasonSyncFailed = "SyncFailed"
	// ReasonTimedOut: the operation ran past
	// spec.syncPolicy.operationTimeout and was stopped.
	ReasonTimedOut = "TimedOut"
	// ReasonTerminated: the operation was terminated on request
	// (status.operationState.phase set to Terminating).
	ReasonTerminated = "Terminated"
	// ReasonSyncWindowClosed: the Project's sync windows do not allow
	// the sync now (a requested one is refused, an automated one held
	// back).
	ReasonSyncWindowClosed = "SyncWindowClosed"
	// ReasonInvalidOperation: the operation cannot be run as asked (no
	// sync nor rollback in it, a rollback to an unknown history entry).
	ReasonInvalidOperation = "InvalidOperation"

	// ReasonManagedByAnotherApplication: SharedResource.
	ReasonManagedByAnotherApplication = "ManagedByAnotherApplication"
	// ReasonNotManagedBySoll: ExistingResource.
	ReasonNotManagedBySoll = "NotManagedBySoll"
	// ReasonSyncOptionIgnored: UnknownSyncOption.
	ReasonSyncOptionIgnored = "SyncOptionIgnored"

	// ReasonDependencyNotReady: DependenciesReady is False while an
	// Application depended on is not yet Synced and Healthy.
	ReasonDependencyNotReady = "DependencyNotReady"
	// ReasonDependencyMissing: DependenciesReady is False because an
	// Application depended on does not exist.
	ReasonDependencyMissing = "DependencyMissing"
	// ReasonDependencyCycle: DependenciesReady is False because
	// spec.dependsOn leads back to this Application.
	ReasonDependencyCycle = "DependencyCycle"

	// ReasonDeleting: not Ready; the Application is being deleted with
	// its objects and waits for its PreDelete hooks, its objects to go,
	// or its PostDelete hooks (status.deletion says which).
	ReasonDeleting = "Deleting"
	// ReasonPreDeleteHooksFailed: not Ready; the PreDelete hooks failed
	// or could not be rendered: no object was deleted, and they are
	// retried with a growing delay.
	ReasonPreDeleteHooksFailed = "PreDeleteHooksFailed"
	// ReasonPostDeleteHooksFailed: not Ready; the objects are deleted,
	// but the PostDelete hooks failed or could not be rendered: the
	// Application stays, and they are retried with a growing delay.
	ReasonPostDeleteHooksFailed = "PostDeleteHooksFailed"
)

// The objects in soll's namespace that hold its settings. The controller,
// the API server and the CLI read them by these names.
const (
	// SettingsConfigMap holds cluster-wide customizations, in the key
	// format Argo CD users know (health checks, ignore rules, rendering
	// plugins, SSO settings); see internal/appstate for the keys the
	// comparison reads.
	SettingsConfigMap = "soll-config"
	// OIDCConfigKey is the key of SettingsConfigMap holding the SSO
	// settings as YAML (issuer, clientID, redirectURL, scopes,
	// groupsClaim). The client secret is the environment variable
	// SOLL_OIDC_CLIENT_SECRET of soll run or soll server when it is set,
	// else SecretName's "oidc.clientSecret" key.
	OIDCConfigKey = "oidc.config"
	// SecretName is the Secret that holds soll's token signing key, the
	// SSO client secret and the webhook shared secrets ("webhook.<kind>").
	SecretName = "soll-secret"
)

// The cluster soll runs in, as a destination names it: by server URL or
// by cluster name.
const (
	InClusterServer = "https://kubernetes.default.svc"
	InClusterName   = "in-cluster"
)
