package appstate

import (
	"errors"
	"fmt"
	goruntime "runtime"
	"strings"
	gosync "sync"
	"time"

	"golang.org/x/sync/singleflight"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/diff"
	"soll.dev/internal/health"
	"soll.dev/internal/kube"
	"soll.dev/internal/render"
	"soll.dev/internal/render/directory"
	"soll.dev/internal/render/helm"
	"soll.dev/internal/render/jsonnet"
	"soll.dev/internal/render/kustomize"
	"soll.dev/internal/render/plugin"
	"soll.dev/internal/source"
)

// Pipeline renders Applications and compares them with the cluster. Its
// caches (settings, SOPS keys, detected tools, renders, dry runs) are
// shared by every caller: the controller's comparisons and the API's
// manifests and diffs. Build it with New, or fill in the fields; the zero
// values of the unexported caches are ready to use.
type Pipeline struct {
	// Client reads Projects, the settings ConfigMap and Secrets in soll's
	// namespace (a cache is enough).
	Client client.Reader
	// APIReader, when set, reads a Project the cache does not have (yet):
	// one created a moment ago, before the app that names it.
	APIReader client.Reader
	// Kube reads live objects and dry-runs applies in the cluster soll
	// runs in (see Targets).
	Kube    *kube.Client
	Fetcher source.Fetcher
	// Renderer renders each source; New sets a render.Cache over every
	// tool.
	Renderer render.Renderer
	// ClusterInfo returns the destination cluster's version and API
	// versions for Helm's capabilities; nil means Helm's defaults.
	ClusterInfo func() (version string, apiVersions []string)
	// Health is the health checker used unless the settings define Lua
	// checks.
	Health *health.Checker
	// DryRuns caches dry-run answers between comparisons; nil disables.
	DryRuns *diff.DryRunCache
	// Live answers reads of live objects from a watch; nil: every read
	// goes to the API server.
	Live LiveCache
	// Targets, when set, finds the registered clusters Applications
	// deploy to. The cluster soll runs in is reached through Kube, Live,
	// ClusterInfo and DryRuns; without Targets it is the only destination.
	Targets Targets
	// OnRemoteBases, when set, is told the repositories of the remote
	// Kustomize bases of source field of app each time a comparison
	// resolves them, also when resolving fails: a refresh of the app must
	// list them anew too.
	OnRemoteBases func(app *sollv1.Application, field string, repos []string)

	settingsCache settingsCache
	sops          sopsCache
	tools         toolCache
}

// LiveCache answers reads of live objects from a watch cache, with soll's
// own writes the watch has not delivered yet.
type LiveCache interface {
	// Get returns the live object, a copy the caller may change. ok is
	// false when the cache cannot answer: the caller reads the API
	// server.
	Get(gvk schema.GroupVersionKind, namespace, name string) (obj *unstructured.Unstructured, ok bool)
	// Version returns the resourceVersion Get would return the object at.
	Version(gvk schema.GroupVersionKind, namespace, name string) (string, bool)
	// Covers reports whether the watch of gvk's kind runs and has synced:
	// an object absent from it is absent from soll's managed objects.
	Covers(gvk schema.GroupVersionKind) bool
}

// Target is a destination cluster as the pipeline reads it: its client,
// its watch cache, its capabilities and its dry-run answers, and what soll
// may touch there.
type Target struct {
	// Name and Server are the cluster's registered name and its API
	// server's URL.
	Name, Server string
	// ID changes whenever the cluster's client is built anew (new
	// credentials, another server): comparisons made through another
	// client are not reused.
	ID string
	// Kube reads live objects and dry-runs applies.
	Kube *kube.Client
	// Live answers reads from a watch; nil: from the API server.
	Live LiveCache
	// ClusterInfo returns the cluster's version and API versions for
	// Helm's capabilities; nil means Helm's defaults.
	ClusterInfo func() (version string, apiVersions []string)
	// DryRuns caches dry-run answers of this cluster; nil disables.
	DryRuns *diff.DryRunCache
	// Namespaces, when not empty, are the only namespaces objects may be
	// in; ClusterScoped says whether cluster-scoped objects may be
	// deployed.
	Namespaces    []string
	ClusterScoped bool
}

// Targets finds registered destination clusters.
type Targets interface {
	// Target returns the cluster of d, which is not the cluster soll
	// runs in. An error says why it cannot be used now (not registered,
	// unreachable, bad credentials); it is reported with
	// ReasonClusterUnavailable unless it is an *Error.
	Target(d sollv1.ApplicationDestination) (*Target, error)
}

// IsInCluster reports whether d names the cluster soll runs in.
func IsInCluster(d sollv1.ApplicationDestination) bool {
	server := strings.TrimSuffix(d.Server, "/")
	return server == sollv1.InClusterServer && (d.Name == "" || d.Name == sollv1.InClusterName) ||
		server == "" && d.Name == sollv1.InClusterName
}

// Target returns the cluster of app's destination d, as Targets finds it,
// or (without Targets) the cluster soll runs in. Errors are *Error.
func (p *Pipeline) Target(d sollv1.ApplicationDestination) (*Target, error) {
	if IsInCluster(d) {
		return p.InCluster(), nil
	}
	if p.Targets != nil {
		t, err := p.Targets.Target(d)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return nil, err
			}
			return nil, &Error{ReasonClusterUnavailable, err}
		}
		return t, nil
	}
	return nil, &Error{ReasonClusterUnavailable, fmt.Errorf("spec.destination: %s is not registered: only the cluster soll runs in (server %s or name %s) can be a destination here",
		describeCluster(d), sollv1.InClusterServer, sollv1.InClusterName)}
}

// InCluster returns the cluster soll runs in as a Target.
func (p *Pipeline) InCluster() *Target {
	return &Target{
		Name: sollv1.InClusterName, Server: sollv1.InClusterServer, ID: sollv1.InClusterName,
		Kube: p.Kube, Live: p.Live, ClusterInfo: p.ClusterInfo, DryRuns: p.DryRuns, ClusterScoped: true,
	}
}

// describeCluster names d's cluster in messages.
func describeCluster(d sollv1.ApplicationDestination) string {
	if d.Name != "" {
		return "cluster " + d.Name
	}
	return "cluster " + d.Server
}

// Options configure the pipeline New builds.
type Options struct {
	// MaxParallelRenders bounds the renders in flight at once; zero
	// means one per CPU.
	MaxParallelRenders int
	// MaxParallelWrites bounds the writes of the Kubernetes client in
	// flight at once (see kube.Client.LimitWrites); zero means no limit.
	MaxParallelWrites int
	// RenderLimits bound every render; zero fields take their defaults.
	RenderLimits render.Limits
}

// New builds a pipeline that reads through c and cfg and fetches with
// fetcher: a Kubernetes client, the default health checker, the cluster's
// capabilities (read at most every 10 minutes) and a render cache over
// every tool. DryRuns and Live are the caller's to set.
func New(cfg *rest.Config, c client.Reader, fetcher source.Fetcher, opts Options) (*Pipeline, error) {
	kc, err := kube.New(cfg)
	if err != nil {
		return nil, err
	}
	kc.LimitWrites(opts.MaxParallelWrites)
	hc, err := health.New(health.Options{})
	if err != nil {
		return nil, err
	}
	p := &Pipeline{
		Client:      c,
		Kube:        kc,
		Fetcher:     fetcher,
		ClusterInfo: ClusterInfoCache(kc, 10*time.Minute),
		Health:      hc,
	}
	parallel := opts.MaxParallelRenders
	if parallel <= 0 {
		parallel = goruntime.NumCPU()
	}
	p.Renderer = &render.Cache{Renderer: renderers(p.pluginConfig, opts.RenderLimits), Parallel: parallel}
	return p, nil
}

// renderers routes each source to the renderer of its tool, each bounded
// by limits. Kustomize inflates helmCharts with the Helm renderer, so that
// downloaded charts are cached once.
func renderers(plugins func() *plugin.Config, limits render.Limits) *render.Mux {
	h := &helm.Renderer{Limits: limits}
	return &render.Mux{Renderers: map[render.Tool]render.Renderer{
		render.ToolDirectory: &directory.Renderer{Limits: limits},
		render.ToolKustomize: &kustomize.Renderer{Limits: limits, Helm: h},
		render.ToolHelm:      h,
		render.ToolJsonnet:   &jsonnet.Renderer{Limits: limits},
		render.ToolPlugin:    &plugin.Renderer{Config: plugins, Limits: limits},
	}}
}

// ClusterInfoCache returns the cluster's version and API versions, read
// through discovery at most once per ttl. Discovery runs without the lock
// held, once for all callers that want it at the same time.
func ClusterInfoCache(kc *kube.Client, ttl time.Duration) func() (string, []string) {
	var mu gosync.Mutex
	var version string
	var apis []string
	var at time.Time
	var reads singleflight.Group
	return func() (string, []string) {
		mu.Lock()
		fresh := version != "" && time.Since(at) <= ttl
		v, a := version, apis
		mu.Unlock()
		if fresh {
			return v, a
		}
		_, _, _ = reads.Do("", func() (any, error) {
			nv, na, err := kc.ServerInfo()
			if err == nil {
				mu.Lock()
				version, apis, at = nv, na, time.Now()
				mu.Unlock()
			}
			return nil, err
		})
		mu.Lock()
		defer mu.Unlock()
		return version, apis
	}
}

// Reason classifies an Error by the stage that failed; it is the reason
// of the conditions that report it.
type Reason string

// Reasons of Errors: the reasons of the Compared condition (see
// sollv1.ConditionCompared).
const (
	// ReasonInvalidSpec: the Application's spec cannot be compared.
	ReasonInvalidSpec Reason = sollv1.ReasonInvalidSpec
	// ReasonProjectViolation: the Application or its objects break the
	// rules of its Project.
	ReasonProjectViolation Reason = sollv1.ReasonProjectViolation
	// ReasonInvalidSettings: the settings ConfigMap or the SOPS keys do
	// not parse.
	ReasonInvalidSettings Reason = sollv1.ReasonInvalidSettings
	// ReasonSourceError: a source could not be resolved or fetched.
	ReasonSourceError Reason = sollv1.ReasonSourceError
	// ReasonRenderError: a source did not render.
	ReasonRenderError Reason = sollv1.ReasonRenderError
	// ReasonDiffError: the live objects could not be read or compared.
	ReasonDiffError Reason = sollv1.ReasonDiffError
	// ReasonClusterUnavailable: the destination cluster is not
	// registered, or cannot be reached now.
	ReasonClusterUnavailable Reason = sollv1.ReasonClusterUnavailable
)

// Error is an error of one stage of a comparison or render, with the
// condition reason it sets. Every error of Compare, Render and Diff about
// the Application is one; classify them with errors.As or ReasonOf.
type Error struct {
	Reason Reason
	Err    error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the reason of err when it is (or wraps) an *Error, and
// "" otherwise.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// IsProjectViolation reports whether err is a breach of the Application's
// Project rules.
func IsProjectViolation(err error) bool {
	return ReasonOf(err) == ReasonProjectViolation
}
