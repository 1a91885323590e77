package apitypes

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	sollv1 "soll.dev/api/v1alpha1"
)

// List limits: a page holds DefaultLimit apps (or audit entries) unless
// the caller asks for up to MaxLimit.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// List is the answer of the API's unpaginated lists (clusters,
// repositories, accounts, resources, history, events).
type List[T any] struct {
	Items []T `json:"items"`
}

// AppList is the response of GET /api/v1/applications.
type AppList struct {
	Items []*sollv1.Application `json:"items"`
	// Continue is the token for the next page; empty on the last one.
	Continue string `json:"continue,omitempty"`
	// Previous is the token of the page before this one (pass it as
	// continue); empty on the first page.
	Previous string `json:"previous,omitempty"`
	// Total counts the apps that match the filters (and that the caller
	// may see) at the time of this request.
	Total int `json:"total"`
	// Counts count the apps by status, for a view's summary.
	Counts AppCounts `json:"counts"`
}

// AppCounts count the apps of a list by status: Sync those that pass
// every filter but syncStatus, by sync status; Health those that pass
// every filter but health, by health. So each count is what the list
// would total with that status chosen. Statuses without apps are left
// out.
type AppCounts struct {
	Sync   map[string]int `json:"sync"`
	Health map[string]int `json:"health"`
}

// ProjectList is the response of GET /api/v1/projects.
type ProjectList struct {
	Items []*sollv1.Project `json:"items"`
	// Total counts the projects the caller may get.
	Total int `json:"total"`
}

// SyncRequest is the body of POST /api/v1/applications/{name}/sync; every
// field is optional.
type SyncRequest struct {
	// Revision syncs a single-source app to this revision instead of its
	// target revision; it needs the override right besides sync.
	Revision string `json:"revision,omitempty"`
	// Revisions does the same for multi-source apps, one per source.
	Revisions   []string                       `json:"revisions,omitempty"`
	Prune       bool                           `json:"prune,omitempty"`
	DryRun      bool                           `json:"dryRun,omitempty"`
	Resources   []sollv1.SyncOperationResource `json:"resources,omitempty"`
	SyncOptions *sollv1.SyncOptions            `json:"syncOptions,omitempty"`
}

// RollbackRequest is the body of POST /api/v1/applications/{name}/rollback.
type RollbackRequest struct {
	// ID names the history entry to go back to.
	ID     int64 `json:"id"`
	Prune  bool  `json:"prune,omitempty"`
	DryRun bool  `json:"dryRun,omitempty"`
}

// Diff is the response of GET /api/v1/applications/{name}/diff.
type Diff struct {
	// Sync is the app's sync status and compared revision.
	Sync *sollv1.SyncStatus `json:"sync,omitempty"`
	// Resources are the managed resources that differ from Git: OutOfSync
	// ones and ones that would be pruned.
	Resources []sollv1.ResourceStatus `json:"resources"`
	// Diffs are the unified diffs of Resources, in their order, when the
	// server could compute them; absent otherwise (Note says why).
	Diffs []ResourceDiff `json:"diffs,omitempty"`
	// Note explains what the diff holds.
	Note string `json:"note"`
}

// ResourceDiff is the field-level difference of one resource.
type ResourceDiff struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Diff is a unified diff of the live object (---) and of what a sync
	// would make of it (+++), both as YAML without status and
	// server-maintained metadata, Secret values redacted. Empty when the
	// resource no longer differs.
	Diff string `json:"diff"`
	// Drift names each differing field and, when the live object's
	// managedFields tell, the field manager that last set it:
	// "spec.replicas changed by kubectl-edit".
	Drift []string `json:"drift,omitempty"`
}

// Manifests is the response of GET /api/v1/applications/{name}/manifests.
type Manifests struct {
	// Revisions are the rendered revisions, one per source.
	Revisions []string `json:"revisions"`
	// Items are the objects a sync would apply, Secret values masked.
	Items []*unstructured.Unstructured `json:"items"`
}

// ResourceRef names an object.
type ResourceRef struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// TreeNode is one object of an app's resource tree.
type TreeNode struct {
	ResourceRef
	Version string `json:"version,omitempty"`
	UID     string `json:"uid,omitempty"`
	// Managed is true for the app's own resources (from its status),
	// false for children found through ownerReferences.
	Managed bool                  `json:"managed"`
	Status  sollv1.SyncStatusCode `json:"status,omitempty"`
	Health  *sollv1.HealthStatus  `json:"health,omitempty"`
	// ParentRefs are the owners of a child.
	ParentRefs []ResourceRef `json:"parentRefs,omitempty"`
	// Info holds a few facts about a child: a Pod's phase, a
	// ReplicaSet's replicas.
	Info map[string]string `json:"info,omitempty"`
}

// Tree is the response of GET /api/v1/applications/{name}/tree.
type Tree struct {
	Nodes []TreeNode `json:"nodes"`
	// Truncated is true when a bound was reached and children may be
	// missing.
	Truncated bool `json:"truncated,omitempty"`
}

// Event is a Kubernetes Event about an app or one of its objects, an item
// of GET /api/v1/applications/{name}/events.
type Event struct {
	Type           string      `json:"type"`
	Reason         string      `json:"reason"`
	Message        string      `json:"message"`
	Count          int32       `json:"count,omitempty"`
	FirstTimestamp metav1.Time `json:"firstTimestamp,omitzero"`
	LastTimestamp  metav1.Time `json:"lastTimestamp,omitzero"`
	Source         string      `json:"source,omitempty"`
	InvolvedObject ResourceRef `json:"involvedObject"`
}
