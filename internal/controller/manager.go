package controller

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	goruntime "runtime"
	gosync "sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

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
	"soll.dev/internal/source/git"
)

// Options configure the controller process.
type Options struct {
	// Namespace is soll's namespace, where Applications live.
	Namespace string
	// CacheDir holds Git caches and snapshots.
	CacheDir string
	// RefreshInterval is the default time between comparisons.
	RefreshInterval time.Duration
	// Workers is the number of apps reconciled in parallel.
	Workers int
	// MaxParallelRenders bounds the renders in flight at once over all
	// apps; zero means one per CPU.
	MaxParallelRenders int
	// MaxParallelWrites bounds the controller's writes to the cluster in
	// flight at once, over all apps (see kube.Client.LimitWrites); zero
	// means no limit.
	MaxParallelWrites int
	// ErrorRetryInterval is the time before an app whose comparison
	// failed (Git unreachable, a broken manifest) is compared again;
	// zero means 30 seconds.
	ErrorRetryInterval time.Duration
	// QuietOperation is how long a new automated sync runs before its
	// state is written while it runs (it is always written at its end);
	// zero means 15 seconds. See Reconciler.QuietOperation.
	QuietOperation time.Duration
	// RefreshCoalesce is the least time between two ref listings of one
	// repository that refresh requests (webhooks, soll app diff
	// --refresh) cause; zero means 2 seconds. See
	// Reconciler.RefreshCoalesce.
	RefreshCoalesce time.Duration
	// MetricsAddr serves Prometheus metrics; "0" or "" disables them.
	MetricsAddr string
	// Log is the logger; nil means slog.Default().
	Log *slog.Logger
	// NoController builds the manager without the Application
	// reconciler (`soll server`: the API alone, beside a controller
	// running elsewhere).
	NoController bool
	// Extend, when set, adds more to the manager once the controller is
	// set up (the API server of `soll run`).
	Extend func(mgr ctrl.Manager) error
	// RenderLimits bound every render (sizes, time, memory); zero fields
	// take their defaults (see render.Limits).
	RenderLimits render.Limits
}

// Run runs the controller until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, opts Options) error {
	mgr, err := NewManager(cfg, opts)
	if err != nil {
		return err
	}
	return mgr.Start(ctx)
}

// NewManager builds a controller-runtime manager with the Application
// reconciler, watching Applications in opts.Namespace.
func NewManager(cfg *rest.Config, opts Options) (ctrl.Manager, error) {
	if opts.Namespace == "" {
		return nil, fmt.Errorf("controller: namespace is required")
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	ctrl.SetLogger(logrFromSlog(opts.Log))
	cfg = rest.CopyConfig(cfg)
	// client-go's default of 5 requests/s is far too low for a
	// controller that applies thousands of objects.
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 200, 400
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := sollv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	metricsAddr := opts.MetricsAddr
	if metricsAddr == "" {
		metricsAddr = "0"
	}
	// A process may build a manager again after stopping one (a restart
	// in-process, as the tests do); controller-runtime refuses a second
	// controller of the same name unless told that this is intended.
	skipNameValidation := true
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:     scheme,
		Cache:      cache.Options{DefaultNamespaces: map[string]cache.Config{opts.Namespace: {}}},
		Metrics:    metricsserver.Options{BindAddress: metricsAddr},
		Controller: config.Controller{SkipNameValidation: &skipNameValidation},
		// Every read of the cache looks up its kind's scope.
		MapperProvider: func(cfg *rest.Config, hc *http.Client) (meta.RESTMapper, error) {
			m, err := apiutil.NewDynamicRESTMapper(cfg, hc)
			if err != nil {
				return nil, err
			}
			return kube.MemoizeMappings(m), nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	m := &Manager{Manager: mgr}
	if opts.NoController {
		m.pipeline = standalonePipeline(cfg, mgr, opts)
	} else {
		r, err := setupController(cfg, mgr, opts)
		if err != nil {
			return nil, err
		}
		m.pipeline = func() (*Reconciler, error) { return r, nil }
	}
	if opts.Extend != nil {
		if err := opts.Extend(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Defaults of the controller's flags.
const (
	DefaultWorkers           = 64
	DefaultMaxParallelWrites = 32
)

// setupController adds the Application reconciler to mgr.
func setupController(cfg *rest.Config, mgr ctrl.Manager, opts Options) (*Reconciler, error) {
	fetcher, err := git.New(git.Options{CacheDir: opts.CacheDir, Logger: opts.Log})
	if err != nil {
		return nil, err
	}
	// Registering twice (several managers in one test process) keeps the
	// first collector; the error is expected then.
	_ = metrics.Registry.Register(newGitCollector(fetcher))
	r, err := newPipeline(cfg, mgr, opts, fetcher)
	if err != nil {
		return nil, err
	}
	r.APIReader = mgr.GetAPIReader()
	r.DryRuns = diff.NewDryRunCache(0)
	r.DryRuns.Manager = kube.FieldManager
	r.Recorder = mgr.GetEventRecorder("soll-controller")
	r.RefreshInterval = opts.RefreshInterval
	r.Workers = opts.Workers
	r.ErrorRetryInterval = opts.ErrorRetryInterval
	r.QuietOperation = opts.QuietOperation
	r.RefreshCoalesce = opts.RefreshCoalesce
	return r, r.SetupWithManager(mgr)
}

// newPipeline builds a Reconciler with what fetching and rendering need:
// the Kubernetes client, fetcher, the health checker (for the settings)
// and the render cache.
func newPipeline(cfg *rest.Config, mgr ctrl.Manager, opts Options, fetcher *git.Fetcher) (*Reconciler, error) {
	kc, err := kube.New(cfg)
	if err != nil {
		return nil, err
	}
	kc.LimitWrites(opts.MaxParallelWrites)
	hc, err := health.New(health.Options{})
	if err != nil {
		return nil, err
	}
	r := &Reconciler{
		Client:      mgr.GetClient(),
		Kube:        kc,
		Fetcher:     fetcher,
		ClusterInfo: clusterInfoCache(kc, 10*time.Minute),
		Health:      hc,
		Log:         opts.Log,
		tools:       newToolCache(),
	}
	parallel := opts.MaxParallelRenders
	if parallel <= 0 {
		parallel = goruntime.NumCPU()
	}
	r.Renderer = &render.Cache{Renderer: renderers(r.pluginConfig, opts.RenderLimits), Parallel: parallel}
	return r, nil
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

// clusterInfoCache returns the cluster's version and API versions, read
// through discovery at most once per ttl.
func clusterInfoCache(kc *kube.Client, ttl time.Duration) func() (string, []string) {
	var mu gosync.Mutex
	var version string
	var apis []string
	var at time.Time
	return func() (string, []string) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(at) > ttl || version == "" {
			if v, a, err := kc.ServerInfo(); err == nil {
				version, apis, at = v, a, time.Now()
			}
		}
		return version, apis
	}
}
