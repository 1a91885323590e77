package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Project groups Applications and limits what they may do: which
// repositories they may deploy from, which clusters and namespaces they may
// deploy to, which kinds of resources they may create, who may operate them
// (roles) and when they may sync (sync windows). Projects live in soll's
// namespace. soll creates a Project named "default" that allows everything,
// for Applications that do not name one.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=projects,singular=project,scope=Namespaced,shortName=proj,categories=soll
// +kubebuilder:printcolumn:name="Description",type=string,JSONPath=`.spec.description`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Project struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec holds the restrictions and roles of the Project.
	// +required
	Spec ProjectSpec `json:"spec"`

	// Status is the observed state, written by soll.
	// +optional
	Status ProjectStatus `json:"status,omitempty"`
}

// ProjectList is a list of Projects.
//
// +kubebuilder:object:root=true
type ProjectList struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the Projects.
	Items []Project `json:"items"`
}

// ProjectSpec holds the restrictions of a Project. An empty spec allows
// nothing: no repository, no destination.
//
// The resource lists are named allow and deny lists (Argo CD calls them
// whitelists and blacklists); they have the same meaning. A kind is allowed
// when the allow list matches it and the deny list does not. An empty
// cluster allow list allows no cluster-scoped kinds; an empty namespace allow
// list allows all namespaced kinds.
type ProjectSpec struct {
	// Description says what the Project is for.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`

	// SourceRepos are the repository URLs Applications may deploy from, as
	// globs: "https://github.com/org/*" or "*" for all. A leading "!"
	// denies matching URLs even when another entry allows them.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=2048
	SourceRepos []string `json:"sourceRepos,omitempty"`

	// Destinations are the clusters and namespaces Applications may deploy
	// to.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	Destinations []ProjectDestination `json:"destinations,omitempty"`

	// SourceNamespaces are the namespaces, as globs, in which Applications
	// of this Project may be created besides soll's own namespace. Empty
	// means only soll's namespace.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=63
	SourceNamespaces []string `json:"sourceNamespaces,omitempty"`

	// ClusterResourceAllowList are the cluster-scoped kinds Applications
	// may manage. Empty allows none.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	ClusterResourceAllowList []GroupKind `json:"clusterResourceAllowList,omitempty"`

	// ClusterResourceDenyList are cluster-scoped kinds Applications may not
	// manage, even when the allow list matches them.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	ClusterResourceDenyList []GroupKind `json:"clusterResourceDenyList,omitempty"`

	// NamespaceResourceAllowList are the namespaced kinds Applications may
	// manage. Empty allows all.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	NamespaceResourceAllowList []GroupKind `json:"namespaceResourceAllowList,omitempty"`

	// NamespaceResourceDenyList are namespaced kinds Applications may not
	// manage, even when the allow list matches them.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	NamespaceResourceDenyList []GroupKind `json:"namespaceResourceDenyList,omitempty"`

	// Roles grant permissions on the Project's Applications to groups of
	// users and to API tokens.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Roles []ProjectRole `json:"roles,omitempty"`

	// SyncWindows allow or deny syncs at scheduled times.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	SyncWindows []SyncWindow `json:"syncWindows,omitempty"`

	// OrphanedResources enables reporting objects in the destination
	// namespaces that no Application manages.
	// +optional
	OrphanedResources *OrphanedResourcesMonitor `json:"orphanedResources,omitempty"`

	// AllowRemoteKustomizeBases lets the kustomizations of the Project's
	// Applications name remote bases in Git repositories
	// ("https://git.example.com/org/repo.git//deploy?ref=v1"). soll fetches
	// them itself, with the repository credentials and SSH known hosts of
	// Application sources, and only from repositories that sourceRepos
	// allows. It is off by default: a remote base makes an Application
	// depend on a repository and revision its own spec does not show.
	// +optional
	AllowRemoteKustomizeBases bool `json:"allowRemoteKustomizeBases,omitempty"`

	// SOPS sets how the Project's Applications may use data decrypted from
	// SOPS-encrypted files. Which age keys decrypt for the Project is set
	// on the Secrets that hold them, not here.
	// +optional
	SOPS *ProjectSOPS `json:"sops,omitempty"`

	// SignatureKeys are the GnuPG keys that commits must be signed with.
	// When set, soll refuses to sync a Git revision that is not signed by
	// one of them.
	// +optional
	// +listType=map
	// +listMapKey=keyID
	// +kubebuilder:validation:MaxItems=64
	SignatureKeys []SignatureKey `json:"signatureKeys,omitempty"`
}

// ProjectDestination is a cluster and namespace pattern Applications may
// deploy to. All fields are globs; "*" matches everything.
//
// +kubebuilder:validation:XValidation:rule="has(self.server) || has(self.name)",message="set server or name (use \"*\" for any cluster)"
type ProjectDestination struct {
	// Server matches the API server URL of the cluster.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Server string `json:"server,omitempty"`

	// Name matches the registered name of the cluster.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`

	// Namespace matches the namespace. A leading "!" denies matching
	// namespaces even when another destination allows them.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	Namespace string `json:"namespace"`
}

// ProjectRole is a set of permissions on the Project's Applications, granted
// to SSO groups and to API tokens issued for the role.
type ProjectRole struct {
	// Name identifies the role within the Project. RBAC policies refer to
	// it as "proj:<project>:<name>".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9]([-_a-zA-Z0-9]*[a-zA-Z0-9])?$`
	Name string `json:"name"`

	// Description says what the role is for.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`

	// Policies are RBAC policy lines in Casbin CSV form, for example
	// "p, proj:team-a:deployer, applications, sync, team-a/*, allow".
	// They may only grant access to this Project's objects.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=1024
	Policies []string `json:"policies,omitempty"`

	// Groups are the SSO groups (the OIDC groups claim) whose members have
	// this role.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	Groups []string `json:"groups,omitempty"`

	// JWTTokens are API tokens declared for this role, for example tokens
	// carried over from another installation. Tokens issued by the soll
	// server are recorded in status.jwtTokensByRole instead, so that a
	// Project managed from Git does not revoke them on every sync. A token
	// is accepted while it is listed in either place and not expired.
	// +optional
	// +listType=map
	// +listMapKey=id
	// +kubebuilder:validation:MaxItems=256
	JWTTokens []JWTToken `json:"jwtTokens,omitempty"`
}

// JWTToken identifies an API token issued for a Project role. The token
// itself is never stored; its id is, so that deleting the entry revokes it.
type JWTToken struct {
	// ID is the token's unique id (its jti claim).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	ID string `json:"id"`

	// IssuedAt is when the token was issued.
	// +required
	IssuedAt metav1.Time `json:"issuedAt"`

	// ExpiresAt is when the token expires; empty means never.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
}

// SyncWindowKind says whether a sync window allows or denies syncs.
// +kubebuilder:validation:Enum=allow;deny
type SyncWindowKind string

const (
	// SyncWindowAllow allows syncs while the window is open. When a Project
	// has allow windows, syncs outside all of them are denied.
	SyncWindowAllow SyncWindowKind = "allow"
	// SyncWindowDeny denies syncs while the window is open. Deny wins over
	// allow.
	SyncWindowDeny SyncWindowKind = "deny"
)

// SyncWindow opens at the times its cron schedule matches and stays open for
// its duration. It applies to the Applications matching any of
// applications, namespaces and clusters.
//
// +kubebuilder:validation:XValidation:rule="has(self.applications) || has(self.namespaces) || has(self.clusters)",message="set at least one of applications, namespaces and clusters"
type SyncWindow struct {
	// Kind is "allow" or "deny".
	// +required
	Kind SyncWindowKind `json:"kind"`

	// Schedule is a cron expression with five fields (minute hour
	// day-of-month month day-of-week), for example "0 22 * * 1-5", or a
	// macro such as "@daily".
	// +required
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|\S+\s+\S+\s+\S+\s+\S+\s+\S+)$`
	Schedule string `json:"schedule"`

	// Duration is how long the window stays open after each start, a Go
	// duration such as "1h" or "30m".
	// +required
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	Duration metav1.Duration `json:"duration"`

	// TimeZone is the IANA time zone the schedule is read in, for example
	// "Europe/Berlin". Empty means UTC.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	TimeZone string `json:"timeZone,omitempty"`

	// Applications are globs matching Application names.
	// +optional
	// +listType=set
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	Applications []string `json:"applications,omitempty"`

	// Namespaces are globs matching destination namespaces.
	// +optional
	// +listType=set
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=63
	Namespaces []string `json:"namespaces,omitempty"`

	// Clusters are globs matching destination cluster names or servers.
	// +optional
	// +listType=set
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=2048
	Clusters []string `json:"clusters,omitempty"`

	// ManualSync allows manual syncs while a deny window is open (or
	// outside the allow windows); only automated syncs are held back.
	// +optional
	ManualSync bool `json:"manualSync,omitempty"`
}

// OrphanedResourcesMonitor configures the reporting of orphaned objects.
type OrphanedResourcesMonitor struct {
	// Warn sets the OrphanedResources condition on Applications whose
	// destination namespace holds orphaned objects.
	// +optional
	Warn bool `json:"warn,omitempty"`

	// Ignore lists objects that are never reported as orphaned.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	Ignore []OrphanedResourceKey `json:"ignore,omitempty"`
}

// OrphanedResourceKey matches objects by group, kind and name. Every field
// is a glob; an empty field matches everything.
type OrphanedResourceKey struct {
	// Group matches the API group.
	// +optional
	Group string `json:"group,omitempty"`

	// Kind matches the kind.
	// +optional
	Kind string `json:"kind,omitempty"`

	// Name matches the name.
	// +optional
	Name string `json:"name,omitempty"`
}

// SignatureKey is a GnuPG public key that may sign commits. The key material
// is registered with soll separately; the Project only names it.
type SignatureKey struct {
	// KeyID is the key's 16-hex-digit long id or its 40-hex-digit
	// fingerprint.
	// +required
	// +kubebuilder:validation:Pattern=`^([0-9A-Fa-f]{16}|[0-9A-Fa-f]{40})$`
	KeyID string `json:"keyID"`
}

// ProjectStatus is the observed state of a Project.
type ProjectStatus struct {
	// ObservedGeneration is the metadata.generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions describe the state of the Project; type "Valid" is False
	// when the spec has problems the API server cannot detect, such as an
	// unparsable policy line.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// JWTTokensByRole records the API tokens the soll server issued, per
	// role. Deleting an entry revokes the token.
	// +optional
	// +listType=map
	// +listMapKey=role
	JWTTokensByRole []RoleTokens `json:"jwtTokensByRole,omitempty"`
}

// RoleTokens are the tokens issued for one role.
type RoleTokens struct {
	// Role is the name of the role in spec.roles.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Role string `json:"role"`

	// Tokens are the issued tokens.
	// +optional
	// +listType=map
	// +listMapKey=id
	Tokens []JWTToken `json:"tokens,omitempty"`
}

// ProjectValid is the condition type that is True when soll could use the
// Project's spec as a whole.
const ProjectValid = "Valid"

// ProjectSOPS sets how a Project's Applications may use decrypted data.
type ProjectSOPS struct {
	// AllowNonSecretKinds lets decrypted data land in objects other than
	// v1 Secrets: an encrypted ConfigMap, a ConfigMap that a Kustomize
	// configMapGenerator makes from an encrypted file, a custom resource
	// with an encrypted field. Without it, a render fails when an object
	// that is not a v1 Secret comes from a decrypted file or holds a
	// value that was encrypted, since other kinds are readable more
	// widely than Secrets. With it, such values are still masked in soll's
	// diffs and in the manifests API, as Secret data is.
	// +optional
	AllowNonSecretKinds bool `json:"allowNonSecretKinds,omitempty"`
}
