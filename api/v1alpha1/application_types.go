package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Application is one deployable unit: the sources in Git (or a Helm or OCI
// repository) that describe the desired state, the cluster and namespace to
// deploy them to, and how soll keeps the two in sync. Its status reports the
// outcome of the last comparison and sync.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=applications,singular=application,scope=Namespaced,shortName=app;apps,categories=soll
// +kubebuilder:printcolumn:name="Project",type=string,JSONPath=`.spec.project`,priority=1
// +kubebuilder:printcolumn:name="Sync",type=string,JSONPath=`.status.sync.status`
// +kubebuilder:printcolumn:name="Health",type=string,JSONPath=`.status.health.status`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.sync.revision`
// +kubebuilder:printcolumn:name="Operation",type=string,JSONPath=`.status.operationState.phase`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Application struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state: what to deploy, where, and how to sync it.
	// +required
	Spec ApplicationSpec `json:"spec"`

	// Operation is a sync or rollback that a user or the automation has
	// requested and the controller has not started yet. It lives outside spec
	// and status because it is neither: the API server (or `kubectl patch`)
	// writes it to ask for work, and the controller removes it when it starts
	// the operation, recording a copy in status.operationState.
	// +optional
	Operation *Operation `json:"operation,omitempty"`

	// Status is the observed state, written by the controller only.
	// +optional
	Status ApplicationStatus `json:"status,omitempty"`
}

// ApplicationList is a list of Applications.
//
// +kubebuilder:object:root=true
type ApplicationList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the Applications.
	Items []Application `json:"items"`
}

// ApplicationSpec is the desired state of an Application.
//
// +kubebuilder:validation:XValidation:rule="has(self.source) != has(self.sources)",message="exactly one of spec.source and spec.sources must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.pin) || size(self.pin.revisions) == (has(self.sources) ? size(self.sources) : 1)",message="spec.pin.revisions must have one entry per source"
type ApplicationSpec struct {
	// Project is the name of the Project, in soll's namespace, that this
	// Application belongs to. The Project decides which repositories,
	// clusters, namespaces and kinds of resources the Application may use.
	// +optional
	// +kubebuilder:default=default
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Project string `json:"project,omitempty"`

	// Source is where the desired state comes from. Set either source or
	// sources, not both.
	// +optional
	Source *ApplicationSource `json:"source,omitempty"`

	// Sources are several places whose rendered objects are deployed
	// together as one Application, for example a Helm chart from a chart
	// repository plus a Git repository holding its values files (referenced
	// through the ref field). Set either source or sources, not both.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:XValidation:rule="self.all(s, !has(s.ref) || self.filter(t, has(t.ref) && t.ref == s.ref).size() == 1)",message="the ref names of spec.sources must be unique"
	Sources []ApplicationSource `json:"sources,omitempty"`

	// Destination is the cluster and namespace to deploy to.
	// +required
	Destination ApplicationDestination `json:"destination"`

	// SyncPolicy controls when and how soll syncs. Without it, soll only
	// syncs when asked to.
	// +optional
	SyncPolicy *SyncPolicy `json:"syncPolicy,omitempty"`

	// IgnoreDifferences lists fields of live objects that soll does not
	// compare with the desired state. Fields the sources do not set never
	// show up as differences, because the comparison is a server-side apply
	// dry run; use this list for fields the sources do set but another
	// controller or webhook changes, such as replicas under an autoscaler.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	IgnoreDifferences []ResourceIgnoreDifferences `json:"ignoreDifferences,omitempty"`

	// DependsOn lists Applications that must be Synced and Healthy, at
	// the revisions their sources resolve to now and with no operation in
	// flight, before this one syncs: automated and requested syncs wait
	// for them (condition DependenciesReady says what for). It orders
	// syncs and does not sync the dependencies. A dependency that does
	// not exist, or a cycle, is reported as that condition's reason, and a
	// requested sync is then refused. When this Application and those it
	// depends on are deleted together, they wait for it to be gone.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	DependsOn []ApplicationDependency `json:"dependsOn,omitempty"`

	// RevisionHistoryLimit is how many past syncs status.history keeps,
	// which bounds how far back a rollback can go. Every entry holds a copy
	// of the sources, so a big limit with large inline Helm values makes the
	// object large.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`

	// Pin holds the Application at fixed revisions, overriding the sources'
	// targetRevision. A rollback sets it so that the next automated sync
	// does not undo the rollback; remove it (or sync to a new revision
	// explicitly) to follow targetRevision again.
	// +optional
	Pin *RevisionPin `json:"pin,omitempty"`

	// RefreshInterval is how often soll checks the sources for new
	// revisions when no webhook told it. Empty means the controller's
	// default (three minutes). Checks are shared by all Applications of a
	// repository, so the shortest interval among them wins.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$') || duration(self) >= duration('10s')",message="spec.refreshInterval must be at least 10s"
	RefreshInterval *metav1.Duration `json:"refreshInterval,omitempty"`

	// Suspend stops all reconciliation of this Application while true: no
	// refresh, no automated sync, no self-heal. Requested operations wait.
	// The deployed objects stay as they are.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// ApplicationDestination is the cluster and namespace an Application deploys
// to. Name the cluster either by its API server URL or by the name it was
// registered under, not both.
//
// +kubebuilder:validation:XValidation:rule="has(self.server) != has(self.name)",message="exactly one of destination.server and destination.name must be set"
type ApplicationDestination struct {
	// Server is the URL of the cluster's API server.
	// "https://kubernetes.default.svc" is the cluster soll runs in.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^\s]+$`
	Server string `json:"server,omitempty"`

	// Name is the name of a cluster registered with soll. "in-cluster" is
	// the cluster soll runs in.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`

	// Namespace is the namespace that namespaced objects without their own
	// namespace are deployed to. Objects that set a namespace keep it.
	// Empty means objects must name their namespace themselves.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`
}

// ApplicationDependency names another Application that must be synced and
// healthy before this one syncs.
type ApplicationDependency struct {
	// Name is the name of the Application depended on.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Namespace is the namespace of the Application depended on. Empty
	// means the namespace of this Application.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`
}

// RevisionPin fixes the revisions an Application deploys.
type RevisionPin struct {
	// Revisions are the pinned revisions, one per source in the order of
	// spec.sources (a single entry when spec.source is used). For a Git
	// source it is a commit SHA; for a Helm chart, a chart version.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=255
	Revisions []string `json:"revisions"`

	// HistoryID is the status.history entry that a rollback restored, when
	// the pin was set by a rollback.
	// +optional
	// +kubebuilder:validation:Minimum=0
	HistoryID *int64 `json:"historyID,omitempty"`

	// Reason says why the Application is pinned, for the people who will
	// wonder why it does not follow its branch.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Reason string `json:"reason,omitempty"`
}

// ResourceIgnoreDifferences selects objects and fields of them that are left
// out of the comparison between desired and live state.
//
// +kubebuilder:validation:XValidation:rule="has(self.jsonPointers) || has(self.jqPathExpressions) || has(self.managedFieldsManagers)",message="set at least one of jsonPointers, jqPathExpressions and managedFieldsManagers"
type ResourceIgnoreDifferences struct {
	// Group is the API group of the objects; empty is the core group.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Group string `json:"group,omitempty"`

	// Kind is the kind of the objects, for example "Deployment".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Kind string `json:"kind"`

	// Name restricts the rule to objects of this name. Empty matches all.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`

	// Namespace restricts the rule to objects in this namespace. Empty
	// matches all.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`

	// JSONPointers are RFC 6901 JSON pointers to ignored fields, for example
	// "/spec/replicas".
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:items:Pattern=`^(/.*)?$`
	// +kubebuilder:validation:items:MaxLength=1024
	JSONPointers []string `json:"jsonPointers,omitempty"`

	// JQPathExpressions are jq path expressions selecting ignored fields,
	// for example ".spec.template.spec.containers[] | select(.name ==
	// \"sidecar\")".
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=1024
	JQPathExpressions []string `json:"jqPathExpressions,omitempty"`

	// ManagedFieldsManagers are field managers (as in metadata.managedFields)
	// whose fields are ignored, for example "kube-controller-manager".
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	ManagedFieldsManagers []string `json:"managedFieldsManagers,omitempty"`
}
