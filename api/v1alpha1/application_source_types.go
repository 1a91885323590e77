package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime"
)

// ApplicationSource is one place the desired state comes from: a path in a
// Git repository, or a Helm chart in a chart repository or OCI registry, and
// how to render it. At most one of directory, kustomize, helm, jsonnet and
// plugin may be set; without any, soll detects the type from the files
// (kustomization.yaml means Kustomize, Chart.yaml means Helm, otherwise a
// directory of manifests).
//
// +kubebuilder:validation:XValidation:rule="!(has(self.chart) && has(self.path))",message="chart and path are mutually exclusive: chart is for Helm repositories, path for Git repositories"
// +kubebuilder:validation:XValidation:rule="(has(self.directory)?1:0) + (has(self.kustomize)?1:0) + (has(self.helm)?1:0) + (has(self.jsonnet)?1:0) + (has(self.plugin)?1:0) <= 1",message="at most one of directory, kustomize, helm, jsonnet and plugin may be set"
// +kubebuilder:validation:XValidation:rule="!has(self.chart) || !(has(self.directory) || has(self.kustomize) || has(self.jsonnet) || has(self.plugin))",message="a chart source can only have helm settings"
type ApplicationSource struct {
	// RepoURL is the URL of the repository: a Git repository
	// (https://, ssh:// or git@host:path), a Helm chart repository
	// (https://) or an OCI registry (oci://).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	RepoURL string `json:"repoURL"`

	// TargetRevision is the revision to deploy. For Git: a branch, a tag, a
	// commit SHA or "HEAD" (the default branch). For a Helm chart: a version
	// or a semver range such as "1.2.x"; empty means the latest version.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	TargetRevision string `json:"targetRevision,omitempty"`

	// Path is the directory inside a Git repository to render, relative to
	// the repository root. Empty or "." is the root. Paths never leave the
	// repository: ".." components and symbolic links pointing outside are
	// rejected when rendering.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('/')",message="path must be relative to the repository root"
	Path string `json:"path,omitempty"`

	// Chart is the name of a Helm chart in the chart repository or OCI
	// registry at repoURL. Leave it empty for charts stored in Git (use path).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Chart string `json:"chart,omitempty"`

	// Ref names this source so that other sources of the same Application
	// can use its files: a Helm value file "$values/env/prod.yaml" reads
	// env/prod.yaml from the source whose ref is "values". A source with only
	// repoURL, targetRevision and ref renders nothing itself.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_-]+$`
	Ref string `json:"ref,omitempty"`

	// CredentialsRef names a repository Secret in soll's namespace with the
	// credentials for repoURL (keys "username" and "password", or
	// "sshPrivateKey", or "bearerToken"). The Secret must be labelled
	// soll.dev/secret-type=repository (its "url" is repoURL) or repo-creds
	// (its "url" is a prefix of repoURL), and serve the Application's
	// Project: its "project" key names that Project, or it names none and
	// the Application is of the default Project or the Secret is labelled
	// soll.dev/shared=true. Any other Secret is refused. Empty means soll
	// looks up credentials registered for the repository and the Project,
	// and otherwise fetches anonymously.
	// +optional
	CredentialsRef *LocalSecretReference `json:"credentialsRef,omitempty"`

	// Directory renders a directory of plain YAML or JSON manifests.
	// +optional
	Directory *DirectorySource `json:"directory,omitempty"`

	// Kustomize renders a kustomization, with optional overrides.
	// +optional
	Kustomize *KustomizeSource `json:"kustomize,omitempty"`

	// Helm renders a Helm chart, with optional values.
	// +optional
	Helm *HelmSource `json:"helm,omitempty"`

	// Jsonnet renders Jsonnet files in the directory.
	// +optional
	Jsonnet *JsonnetSource `json:"jsonnet,omitempty"`

	// Plugin renders the directory with a configured plugin program.
	// +optional
	Plugin *PluginSource `json:"plugin,omitempty"`
}

// DirectorySource renders plain manifests from a directory.
type DirectorySource struct {
	// Recurse includes manifests in subdirectories.
	// +optional
	Recurse bool `json:"recurse,omitempty"`

	// Include lists glob patterns (relative to path, for example "*.yaml"
	// or "prod/**") of files to render. Empty means all .yaml, .yml and
	// .json files.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=1024
	Include []string `json:"include,omitempty"`

	// Exclude lists glob patterns of files to skip. Exclusion wins over
	// inclusion.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=1024
	Exclude []string `json:"exclude,omitempty"`
}

// KustomizeSource holds overrides applied on top of the kustomization in the
// source directory, as `kustomize edit` would.
type KustomizeSource struct {
	// Images overrides container image names, tags or digests.
	// +optional
	// +listType=map
	// +listMapKey=name
	Images []KustomizeImage `json:"images,omitempty"`

	// Replicas overrides the replica counts of workloads by name.
	// +optional
	// +listType=map
	// +listMapKey=name
	Replicas []KustomizeReplica `json:"replicas,omitempty"`

	// NamePrefix is prepended to the names of all objects.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	NamePrefix string `json:"namePrefix,omitempty"`

	// NameSuffix is appended to the names of all objects.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	NameSuffix string `json:"nameSuffix,omitempty"`

	// Namespace sets the namespace of all namespaced objects.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`

	// CommonLabels are added to all objects and, as kustomize does, to
	// their selectors.
	// +optional
	CommonLabels map[string]string `json:"commonLabels,omitempty"`

	// CommonAnnotations are added to all objects.
	// +optional
	CommonAnnotations map[string]string `json:"commonAnnotations,omitempty"`

	// Patches are strategic-merge or JSON 6902 patches applied after the
	// kustomization's own.
	// +optional
	// +listType=atomic
	Patches []KustomizePatch `json:"patches,omitempty"`

	// Components are paths of kustomize components to add, relative to the
	// source path.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=1024
	Components []string `json:"components,omitempty"`

	// EnableHelm inflates the Helm charts that kustomizations list in
	// helmCharts, as `kustomize build --enable-helm` would, but in process
	// with soll's own Helm renderer (no helm program runs): charts from the
	// chart home in the repository, or from a chart repository at an exact
	// version, with the repository credentials and limits of Helm sources.
	// Without it, a kustomization with helmCharts fails to render.
	// +optional
	EnableHelm bool `json:"enableHelm,omitempty"`
}

// KustomizeImage overrides one container image, as the images field of a
// kustomization does. It is typed rather than Argo CD's "name=newName:tag"
// string so that the API server validates it.
//
// +kubebuilder:validation:XValidation:rule="has(self.newName) || has(self.newTag) || has(self.digest)",message="set at least one of newName, newTag and digest"
// +kubebuilder:validation:XValidation:rule="!(has(self.newTag) && has(self.digest))",message="newTag and digest are mutually exclusive"
type KustomizeImage struct {
	// Name is the image name to match, as written in the manifests, for
	// example "nginx" or "ghcr.io/org/app".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Name string `json:"name"`

	// NewName replaces the image name.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	NewName string `json:"newName,omitempty"`

	// NewTag replaces the tag.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	NewTag string `json:"newTag,omitempty"`

	// Digest replaces the tag with a digest, for example "sha256:4f3c...".
	// +optional
	// +kubebuilder:validation:Pattern=`^[a-z0-9]+:[a-f0-9]{32,}$`
	// +kubebuilder:validation:MaxLength=256
	Digest string `json:"digest,omitempty"`
}

// KustomizeReplica overrides the replica count of a workload.
type KustomizeReplica struct {
	// Name is the name of the Deployment, StatefulSet or ReplicaSet.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Count is the number of replicas.
	// +required
	// +kubebuilder:validation:Minimum=0
	Count int32 `json:"count"`
}

// KustomizePatch is a patch in a file or inline, with an optional target
// selector, as in a kustomization's patches field.
//
// +kubebuilder:validation:XValidation:rule="has(self.path) != has(self.patch)",message="exactly one of path and patch must be set"
type KustomizePatch struct {
	// Path is a file holding the patch, relative to the source path.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Path string `json:"path,omitempty"`

	// Patch is the patch itself, as YAML or JSON.
	// +optional
	// +kubebuilder:validation:MaxLength=262144
	Patch string `json:"patch,omitempty"`

	// Target selects the objects to patch. Without it, a strategic-merge
	// patch applies to the object it names.
	// +optional
	Target *KustomizeSelector `json:"target,omitempty"`

	// Options are kustomize patch options, for example
	// allowNameChange or allowKindChange.
	// +optional
	Options map[string]bool `json:"options,omitempty"`
}

// KustomizeSelector selects objects for a patch. Every field set must match;
// name and namespace are regular expressions.
type KustomizeSelector struct {
	// Group is the API group.
	// +optional
	Group string `json:"group,omitempty"`

	// Version is the API version.
	// +optional
	Version string `json:"version,omitempty"`

	// Kind is the kind.
	// +optional
	Kind string `json:"kind,omitempty"`

	// Name is a regular expression matching object names.
	// +optional
	Name string `json:"name,omitempty"`

	// Namespace is a regular expression matching namespaces.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// LabelSelector is a label selector, for example "app=web,tier!=db".
	// +optional
	LabelSelector string `json:"labelSelector,omitempty"`

	// AnnotationSelector is a selector over annotations, in label-selector
	// syntax.
	// +optional
	AnnotationSelector string `json:"annotationSelector,omitempty"`
}

// HelmSource holds the settings for rendering a Helm chart. Values are merged
// in this order, later wins: the chart's values.yaml, valueFiles in order,
// values or valuesObject, fileParameters, parameters.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.values) && has(self.valuesObject))",message="values and valuesObject are mutually exclusive"
type HelmSource struct {
	// ReleaseName is the Helm release name. Empty means the Application's
	// name.
	// +optional
	// +kubebuilder:validation:MaxLength=53
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	ReleaseName string `json:"releaseName,omitempty"`

	// Namespace is the release namespace the chart is rendered for
	// (.Release.Namespace). Empty means the destination namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`

	// ValueFiles are values files, relative to the chart directory, or
	// "$ref/path" to read from the source with that ref, or an http(s) URL.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=2048
	ValueFiles []string `json:"valueFiles,omitempty"`

	// IgnoreMissingValueFiles skips value files that do not exist instead
	// of failing the render, for per-environment files that are optional.
	// +optional
	IgnoreMissingValueFiles bool `json:"ignoreMissingValueFiles,omitempty"`

	// Values are values as a YAML string. Prefer valuesObject, which the
	// API server checks to be well-formed.
	// +optional
	// +kubebuilder:validation:MaxLength=1048576
	Values string `json:"values,omitempty"`

	// ValuesObject are values as a structured object. The API server keeps
	// every field of it as written.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	ValuesObject *runtime.RawExtension `json:"valuesObject,omitempty"`

	// Parameters set single values, as `helm --set` does.
	// +optional
	// +listType=map
	// +listMapKey=name
	Parameters []HelmParameter `json:"parameters,omitempty"`

	// FileParameters set single values to the content of a file, as
	// `helm --set-file` does.
	// +optional
	// +listType=map
	// +listMapKey=name
	FileParameters []HelmFileParameter `json:"fileParameters,omitempty"`

	// SkipCrds leaves out the chart's crds/ directory.
	// +optional
	SkipCrds bool `json:"skipCrds,omitempty"`

	// SkipTests is deprecated and has no effect: soll never applies a
	// chart's test hooks (helm.sh/hook test, test-success or test-failure),
	// with or without it, because a sync is not `helm test`. It is accepted
	// so that Applications written for Argo CD keep working.
	// +optional
	SkipTests bool `json:"skipTests,omitempty"`

	// KubeVersion is the Kubernetes version the chart is rendered for
	// (.Capabilities.KubeVersion). Empty means the destination cluster's.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^v?[0-9]+\.[0-9]+(\.[0-9]+)?([-+].*)?$`
	KubeVersion string `json:"kubeVersion,omitempty"`

	// APIVersions are the API versions the chart sees as available
	// (.Capabilities.APIVersions), for example "monitoring.coreos.com/v1".
	// Empty means the destination cluster's.
	// +optional
	// +listType=set
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=317
	APIVersions []string `json:"apiVersions,omitempty"`

	// PassCredentials sends the repository credentials to hosts other than
	// the chart repository's, for charts whose tarballs are served elsewhere.
	// +optional
	PassCredentials bool `json:"passCredentials,omitempty"`
}

// HelmParameter sets one Helm value.
type HelmParameter struct {
	// Name is the value's path, as in `--set name=value`, for example
	// "image.tag" or "ingress.hosts[0]".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Name string `json:"name"`

	// Value is the value.
	// +optional
	Value string `json:"value,omitempty"`

	// ForceString keeps the value a string, as `helm --set-string` does,
	// instead of interpreting "true" or "1" as boolean or number.
	// +optional
	ForceString bool `json:"forceString,omitempty"`
}

// HelmFileParameter sets one Helm value to the content of a file.
type HelmFileParameter struct {
	// Name is the value's path, as in `--set-file name=path`.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Name string `json:"name"`

	// Path is the file, relative to the chart directory or "$ref/path".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	Path string `json:"path"`
}

// JsonnetSource holds the settings for rendering Jsonnet. Every .jsonnet file
// directly in the source directory is evaluated, in name order, and must
// produce an object or an array of objects.
type JsonnetSource struct {
	// ExtVars are external variables (std.extVar).
	// +optional
	// +listType=map
	// +listMapKey=name
	ExtVars []JsonnetVar `json:"extVars,omitempty"`

	// TLAs are top-level arguments passed to the top-level function.
	// +optional
	// +listType=map
	// +listMapKey=name
	TLAs []JsonnetVar `json:"tlas,omitempty"`

	// Libs are library directories added to the import path, relative to
	// the repository root.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=1024
	Libs []string `json:"libs,omitempty"`
}

// JsonnetVar is a Jsonnet external variable or top-level argument.
type JsonnetVar struct {
	// Name is the variable's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Value is the value: a string, or Jsonnet code when code is true.
	// +optional
	Value string `json:"value,omitempty"`

	// Code means value is Jsonnet code to evaluate rather than a string.
	// +optional
	Code bool `json:"code,omitempty"`
}

// PluginSource selects a configured rendering plugin. Plugins run as child
// processes in a private copy of the repository, with the source directory
// as working directory, a clean environment plus env, a sandbox that keeps
// them from other files where the kernel has Landlock, and time and
// memory limits; they print the manifests.
type PluginSource struct {
	// Name is the name of the plugin as configured in soll. Empty means
	// the plugin whose discovery rule matches the source directory.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`

	// Env are environment variables passed to the plugin, each under a
	// prefix: a variable named STAGE reaches the plugin as SOLL_ENV_STAGE,
	// and also as ARGOCD_ENV_STAGE for plugins written for Argo CD. The
	// prefix keeps an Application from setting variables that change how
	// the plugin's programs run (LD_PRELOAD, BASH_ENV, PATH). At most 100
	// variables, with names of letters, digits and underscores that do not
	// start with a digit, and at most 64 KiB of names and values together.
	// soll also sets PATH, LANG, HOME, TMPDIR, SOLL_APP_NAME,
	// SOLL_APP_NAMESPACE, SOLL_APP_PROJECT, SOLL_APP_REVISION and
	// SOLL_DESTINATION_NAMESPACE; nothing else of its own environment
	// reaches the plugin.
	// +optional
	// +listType=map
	// +listMapKey=name
	Env []EnvEntry `json:"env,omitempty"`
}

// EnvEntry is an environment variable.
type EnvEntry struct {
	// Name is the variable's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	Name string `json:"name"`

	// Value is the variable's value.
	// +optional
	Value string `json:"value,omitempty"`
}
