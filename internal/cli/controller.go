package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	ctrl "sigs.k8s.io/controller-runtime"

	"soll.dev/internal/controller"
	"soll.dev/internal/serve"
	"soll.dev/internal/tracing"
	"soll.dev/internal/version"
)

// controllerFlags are shared by `soll controller` and `soll run`.
type controllerFlags struct {
	kube            kubeFlags
	cacheDir        string
	refreshInterval time.Duration
	refreshCoalesce time.Duration
	workers         int
	maxWrites       int
	maxRenders      int
	metricsAddr     string
	logLevel        string
	logFormat       string
	// listen and insecureCookies serve the API (soll run only).
	listen          string
	insecureCookies bool
	trustedProxies  []string
	serveAPI        bool
	noController    bool
	// leaderElect elects a leader among the replicas (soll run and soll
	// controller); shard spreads the apps over them instead.
	leaderElect bool
	shard       bool
}

func (f *controllerFlags) register(cmd *cobra.Command) {
	f.kube.register(cmd, "soll's namespace, where Applications live")
	cmd.Flags().StringVar(&f.cacheDir, "cache-dir", filepath.Join(os.TempDir(), "soll-cache"), "directory for Git caches and snapshots")
	cmd.Flags().DurationVar(&f.refreshInterval, "refresh-interval", 3*time.Minute, "default time between comparisons of an app with Git")
	cmd.Flags().DurationVar(&f.refreshCoalesce, "refresh-coalesce", 2*time.Second, "least time between two ref listings of one repository that refresh requests (webhooks, refresh buttons) cause; requests within it wait for its end, none is dropped")
	cmd.Flags().IntVar(&f.workers, "workers", controller.DefaultWorkers, "applications reconciled in parallel")
	cmd.Flags().IntVar(&f.maxRenders, "max-parallel-renders", 0, "renders (Kustomize, Helm, Jsonnet, plugins, directories) in flight at once over all applications; 0 for one per CPU")
	cmd.Flags().IntVar(&f.maxWrites, "max-parallel-writes", controller.DefaultMaxParallelWrites, "writes to the cluster (applies, dry runs, deletes) in flight at once over all applications; 0 for no limit")
	cmd.Flags().StringVar(&f.metricsAddr, "metrics-addr", "0", `address for Prometheus metrics ("0" disables)`)
	cmd.Flags().StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	cmd.Flags().StringVar(&f.logFormat, "log-format", "json", "log format: json (one JSON object a line) or text (key=value)")
}

// registerLeaderElection registers --leader-elect (soll run and soll
// controller; soll server runs no controller and needs no Lease).
func (f *controllerFlags) registerLeaderElection(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.leaderElect, "leader-elect", true, "elect a leader with the Lease "+controller.DefaultLeaderElectionID+
		" in soll's namespace: the controller runs on one replica at a time, the API server on every replica; false for a single process that runs alone")
	cmd.Flags().BoolVar(&f.shard, "shard", false, "spread the applications over the replicas instead of electing a leader: each replica holds a Lease of its own in soll's namespace and runs the apps that hash to it among the live replicas; a replica that dies is replaced within "+
		controller.ShardLeaseDuration.String()+" (--leader-elect is then ignored)")
}

// newLogger returns the logger of --log-level and --log-format, writing
// to w.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use json or text", format)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func (f *controllerFlags) run(cmd *cobra.Command) error {
	log, err := newLogger(cmd.ErrOrStderr(), f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	cfg, err := f.kube.restConfig()
	if err != nil {
		return err
	}
	cfg.UserAgent = "soll-controller/" + version.Version
	shutdown, err := tracing.Setup(cmd.Context(), version.Version)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			log.Warn("send the last traces", "error", err.Error())
		}
	}()
	if tracing.Configured() {
		log.Info("sending traces over OTLP")
	}
	log.Info("starting controller", "namespace", f.kube.namespace, "server", cfg.Host)
	opts := controller.Options{
		Namespace:          f.kube.namespace,
		CacheDir:           f.cacheDir,
		RefreshInterval:    f.refreshInterval,
		RefreshCoalesce:    f.refreshCoalesce,
		Workers:            f.workers,
		MaxParallelWrites:  f.maxWrites,
		MaxParallelRenders: f.maxRenders,
		MetricsAddr:        f.metricsAddr,
		Log:                log,
		NoController:       f.noController,
		LeaderElection:     f.leaderElect && !f.noController,
		Sharding:           f.shard && !f.noController,
	}
	if f.serveAPI {
		sopts, err := f.serveOptions(log)
		if err != nil {
			return err
		}
		opts.Extend = func(mgr ctrl.Manager) error { return serve.Add(cmd.Context(), mgr, sopts) }
	}
	return controller.Run(cmd.Context(), cfg, opts)
}

// serveOptions are the options of the API server, from the flags and the
// environment (the SSO client secret, serve.OIDCClientSecretEnv).
func (f *controllerFlags) serveOptions(log *slog.Logger) (serve.Options, error) {
	trusted, err := serve.ParseTrustedProxies(f.trustedProxies)
	if err != nil {
		return serve.Options{}, fmt.Errorf("--trusted-proxies: %w; give addresses or CIDR ranges, such as 10.0.0.0/8", err)
	}
	return serve.Options{
		Addr: f.listen, Namespace: f.kube.namespace, Version: version.Version,
		InsecureCookies: f.insecureCookies, TrustedProxies: trusted, Log: log,
		OIDCClientSecret: os.Getenv(serve.OIDCClientSecretEnv),
	}, nil
}

func newControllerCommand() *cobra.Command {
	var f controllerFlags
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the controller: keep Applications in sync with Git",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return f.run(cmd) },
	}
	f.register(cmd)
	f.registerLeaderElection(cmd)
	return cmd
}

func newServerCommand() *cobra.Command {
	var f controllerFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the API server alone, beside a controller running elsewhere",
		Long:  "Run the API server alone, beside a controller running elsewhere.\n\n" + ssoSecretHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.serveAPI, f.noController = true, true
			return f.run(cmd)
		},
	}
	f.register(cmd)
	f.registerServe(cmd)
	return cmd
}

// ssoSecretHelp says where the API server finds the SSO client secret.
const ssoSecretHelp = "The SSO client secret is the environment variable " + serve.OIDCClientSecretEnv +
	" when it is set (a Deployment takes it from a Secret of its choice with valueFrom.secretKeyRef), " +
	"else the key oidc.clientSecret of the Secret soll-secret in soll's namespace."

func (f *controllerFlags) registerServe(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.listen, "listen", ":8080", "address of the API server (/api/v1, /api/webhook, /auth) and the web UI (/)")
	cmd.Flags().BoolVar(&f.insecureCookies, "insecure-cookies", false, "send session cookies without the Secure flag (plain-HTTP local use only)")
	cmd.Flags().StringSliceVar(&f.trustedProxies, "trusted-proxies", nil, "reverse proxies (addresses or CIDR ranges, comma-separated) whose X-Forwarded-For header names the client, for login throttling and the logs; the header of any other peer is ignored")
}

func newRunCommand() *cobra.Command {
	var f controllerFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run soll in one process (the default deployment): the controller and the API server",
		Long:  "Run soll in one process (the default deployment): the controller and the API server.\n\n" + ssoSecretHelp,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { f.serveAPI = true; return f.run(cmd) },
	}
	f.register(cmd)
	f.registerServe(cmd)
	f.registerLeaderElection(cmd)
	return cmd
}
