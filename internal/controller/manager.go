package controller

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/appstate"
	"soll.dev/internal/diff"
	"soll.dev/internal/kube"
	"soll.dev/internal/metrics"
	"soll.dev/internal/render"
	"soll.dev/internal/source/git"
)

// Options configure the controller process.
type Options struct {
	// Namespace is soll's namespace, where Applications live.
	Namespace string
	// CacheDir holds Git caches and snapshots.
	CacheDir string
	// RefreshInterval is the default time between comparisons; zero
	// means 3 minutes.
	RefreshInterval time.Duration
	// Workers is the number of apps reconciled in parallel; zero means
	// DefaultWorkers.
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
	// DeletionTimeout bounds the wait for a deleted Application's
	// objects to go; zero means DefaultDeletionTimeout. See
	// Reconciler.DeletionTimeout.
	DeletionTimeout time.Duration
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
	// LeaderElection makes the replicas of the controller elect a leader
	// with a Lease in Namespace: only the leader runs the Application
	// reconciler and the live watches (everything that writes app
	// status and runs operations); what Extend adds without needing
	// leader election (the API server) runs on every replica. A replica
	// that loses the Lease stops: Start returns an error.
	LeaderElection bool
	// LeaderElectionID names the Lease; empty means
	// DefaultLeaderElectionID.
	LeaderElectionID string
	// Sharding spreads the Applications over the replicas of the
	// controller instead of electing a leader: each replica holds a
	// Lease of its own and runs the apps that hash to it among the live
	// replicas (see ShardLeaseDuration). LeaderElection is then ignored;
	// while a leader elected with LeaderElectionID still runs (an
	// upgrade), sharded replicas run nothing.
	Sharding bool
}

// Leader election: the Lease's name and timing. A leader that stops
// (SIGTERM) releases the Lease and another replica takes over within
// LeaderRetryPeriod; one that dies without releasing it is replaced once
// LeaderLeaseDuration has passed since its last renewal.
const (
	DefaultLeaderElectionID = "soll-controller"
	LeaderLeaseDuration     = 15 * time.Second
	LeaderRenewDeadline     = 10 * time.Second
	LeaderRetryPeriod       = 2 * time.Second
)

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
	cfg.Wrap(metrics.ClusterReachability(metrics.InCluster))
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
	leaseDuration, renewDeadline, retryPeriod := LeaderLeaseDuration, LeaderRenewDeadline, LeaderRetryPeriod
	leaseName := cmp.Or(opts.LeaderElectionID, DefaultLeaderElectionID)
	if opts.Sharding || opts.NoController {
		opts.LeaderElection = false
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		LeaderElection:          opts.LeaderElection,
		LeaderElectionID:        leaseName,
		LeaderElectionNamespace: opts.Namespace,
		LeaseDuration:           &leaseDuration,
		RenewDeadline:           &renewDeadline,
		RetryPeriod:             &retryPeriod,
		// soll's process ends right after its manager: the Lease is
		// released on SIGTERM, and the next leader need not wait for
		// it to expire.
		LeaderElectionReleaseOnCancel: true,
		Scheme:                        scheme,
		Cache:                         cache.Options{DefaultNamespaces: map[string]cache.Config{opts.Namespace: {}}},
		Metrics:                       metricsserver.Options{BindAddress: metricsAddr},
		Controller:                    config.Controller{SkipNameValidation: &skipNameValidation},
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
	m := &Manager{Manager: mgr, log: opts.Log}
	if opts.LeaderElection {
		m.lease = opts.Namespace + "/" + leaseName
	}
	if opts.NoController {
		m.pipeline = standalonePipeline(cfg, mgr, opts)
	} else {
		r, err := setupController(cfg, mgr, opts)
		if err != nil {
			return nil, err
		}
		m.reconciler = r
		m.pipeline = func() (*appstate.Pipeline, error) { return r.Pipeline, nil }
		if opts.Sharding {
			typed, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return nil, err
			}
			ring := newShardRing(typed.CoordinationV1(), opts.Namespace, leaseName, opts.Log)
			r.setShards(ring, mgr.GetCache().WaitForCacheSync)
			if err := mgr.Add(ring); err != nil {
				return nil, err
			}
		}
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
	p, err := newPipeline(cfg, mgr, opts, fetcher)
	if err != nil {
		return nil, err
	}
	p.DryRuns = diff.NewDryRunCache(0)
	p.DryRuns.Manager = kube.FieldManager
	src := &stateSources{client: mgr.GetClient(), ns: opts.Namespace, dryRuns: p.DryRuns, git: fetcher}
	if c, ok := p.Renderer.(*render.Cache); ok {
		src.render = c
	}
	r := &Reconciler{
		Client:             mgr.GetClient(),
		APIReader:          mgr.GetAPIReader(),
		Pipeline:           p,
		Recorder:           mgr.GetEventRecorder("soll-controller"),
		Log:                opts.Log,
		RefreshInterval:    opts.RefreshInterval,
		Workers:            opts.Workers,
		ErrorRetryInterval: opts.ErrorRetryInterval,
		QuietOperation:     opts.QuietOperation,
		RefreshCoalesce:    opts.RefreshCoalesce,
		DeletionTimeout:    opts.DeletionTimeout,
		Namespace:          opts.Namespace,
		MaxParallelWrites:  opts.MaxParallelWrites,
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return nil, err
	}
	src.clusters = r.clusters
	state.current.Store(src)
	return r, nil
}

// newPipeline builds the comparison pipeline of mgr's process.
func newPipeline(cfg *rest.Config, mgr ctrl.Manager, opts Options, fetcher *git.Fetcher) (*appstate.Pipeline, error) {
	p, err := appstate.New(cfg, mgr.GetClient(), fetcher, appstate.Options{
		MaxParallelRenders: opts.MaxParallelRenders,
		MaxParallelWrites:  opts.MaxParallelWrites,
		RenderLimits:       opts.RenderLimits,
	})
	if err != nil {
		return nil, err
	}
	p.APIReader = mgr.GetAPIReader()
	return p, nil
}

// Manager is the manager NewManager builds. Besides running what was
// added to it, it renders and compares Applications for the API
// (RenderManifests, DiffManifests): with the controller's own pipeline
// (fetcher, render and dry-run caches) when it runs the controller, else
// (`soll server` alone) with a pipeline of its own built at the first
// request.
type Manager struct {
	ctrl.Manager
	pipeline func() (*appstate.Pipeline, error)
	// reconciler is the Application reconciler; nil without the
	// controller.
	reconciler *Reconciler
	log        *slog.Logger
	// lease is the namespace/name of the leader election Lease; empty
	// without leader election.
	lease string
}

// Start runs the manager until ctx ends. With leader election, it logs
// when this replica starts leading, and returns an error when it loses
// the Lease: its controller has stopped, and the process must end so that
// no two replicas write at once.
func (m *Manager) Start(ctx context.Context) error {
	if m.lease != "" {
		m.log.Info("waiting to lead: the controller runs on the replica that holds the Lease", "lease", m.lease)
		go func() {
			select {
			case <-m.Elected():
				m.log.Info("leading: this replica runs the controller", "lease", m.lease)
			case <-ctx.Done():
			}
		}()
	}
	err := m.Manager.Start(ctx)
	if err != nil && m.lease != "" && ctx.Err() == nil && strings.Contains(err.Error(), "leader election lost") {
		err = fmt.Errorf("lost the Lease %s (not renewed within %s, or taken by another replica): stopped the controller so that only one replica writes: %w",
			m.lease, LeaderRenewDeadline, err)
		m.log.Error("stopping", "error", err.Error())
	}
	return err
}

// RenderManifests renders app at revisions as appstate.Pipeline.Render
// does.
func (m *Manager) RenderManifests(ctx context.Context, app *sollv1.Application, revisions []string) (*appstate.Manifests, error) {
	p, err := m.pipeline()
	if err != nil {
		return nil, err
	}
	return p.Render(ctx, app, revisions)
}

// DiffManifests compares app at revisions with the live objects as
// appstate.Pipeline.Diff does.
func (m *Manager) DiffManifests(ctx context.Context, app *sollv1.Application, revisions []string) (*appstate.Diffs, error) {
	p, err := m.pipeline()
	if err != nil {
		return nil, err
	}
	return p.Diff(ctx, app, revisions)
}

// standalonePipeline returns the pipeline of a manager without the
// controller, built once at the first call. Its Git cache is a directory
// of its own (a subdirectory "api" of opts.CacheDir, or a new temporary
// one): a fetcher must not share its cache with another, and `soll
// controller` and `soll server` on one machine default to the same
// directory.
func standalonePipeline(cfg *rest.Config, mgr ctrl.Manager, opts Options) func() (*appstate.Pipeline, error) {
	return gosync.OnceValues(func() (*appstate.Pipeline, error) {
		dir := filepath.Join(opts.CacheDir, "api")
		if opts.CacheDir == "" {
			var err error
			if dir, err = os.MkdirTemp("", "soll-api-cache-"); err != nil {
				return nil, err
			}
		}
		fetcher, err := git.New(git.Options{CacheDir: dir, Logger: opts.Log})
		if err != nil {
			return nil, err
		}
		p, err := newPipeline(cfg, mgr, opts, fetcher)
		if err != nil {
			return nil, err
		}
		p.Targets = newClusterSet(mgr.GetClient(), opts.Namespace, opts.Log, opts.MaxParallelWrites)
		return p, nil
	})
}

// ClusterKube returns a typed client of the registered cluster d names
// (not the cluster soll runs in), for the API's reads of resource trees,
// Events and live objects.
func (m *Manager) ClusterKube(d sollv1.ApplicationDestination) (kubernetes.Interface, error) {
	p, err := m.pipeline()
	if err != nil {
		return nil, err
	}
	set, ok := p.Targets.(*clusterSet)
	if !ok {
		return nil, fmt.Errorf("no registered clusters here")
	}
	return set.Kube(d)
}
