package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/devenv"
	"soll.dev/localcluster"
)

// Namespaces of the run.
const (
	sollNamespace     = "soll"
	appsNamespace     = "bench"
	baselineNamespace = "bench-baseline"
)

// bench is one run: the cluster, the Git server, clients, and the report.
type bench struct {
	cfg    config
	root   string // soll repository root
	work   string // work directory: Git repository, caches, logs
	report *report

	cluster  *localcluster.Cluster
	restCfg  *rest.Config // admin, no client-side rate limit
	kube     kubernetes.Interface
	dyn      dynamic.Interface
	kc       client.Client
	git      *devenv.GitServer
	workload *workload
	sollBin  string

	// targets are the clusters the apps deploy to, the first being
	// cluster above; assign[i] is the index of app i's target.
	targets []*target
	assign  []int

	cleanups []func() // run in reverse order by closeAll
}

func (b *bench) step(format string, args ...any) {
	fmt.Printf("==> %s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (b *bench) onClose(f func()) { b.cleanups = append(b.cleanups, f) }

// closeAll stops everything that was started, newest first.
func (b *bench) closeAll() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
	b.cleanups = nil
}

// prepare builds soll, starts the cluster and the Git server, and installs
// soll's CRDs and the namespaces.
func (b *bench) prepare(ctx context.Context) error {
	b.sollBin = b.cfg.sollBin
	if b.sollBin == "" && b.cfg.controller == "process" {
		b.sollBin = filepath.Join(b.work, "soll")
		b.step("Building soll into %s", b.sollBin)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b.sollBin, "./cmd/soll")
		cmd.Dir = b.root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/soll: %w\n%s", err, out)
		}
	}

	b.step("Generating %d apps × %d objects and serving them over Git smart HTTP", b.cfg.apps, b.cfg.objectsPerApp)
	b.workload = newWorkload(b.cfg.apps, b.cfg.objectsPerApp)
	var err error
	gitDir := filepath.Join(b.work, "git")
	if _, err = devenv.CreateRepo(gitDir, "bench", fmt.Sprintf("%d apps", len(b.workload.apps)), b.workload.writeTree); err != nil {
		return err
	}
	if b.git, err = devenv.ServeGit(gitDir); err != nil {
		return err
	}
	b.onClose(b.git.Close)

	b.step("Starting a local cluster (2 nodes) in %s", b.cfg.clusterDir)
	logf, err := os.Create(filepath.Join(b.work, "cluster-up.log"))
	if err != nil {
		return err
	}
	c, err := localcluster.Up(ctx, localcluster.Options{Dir: b.cfg.clusterDir, Nodes: 2, Log: logf})
	if cerr := logf.Close(); cerr != nil {
		fmt.Fprintln(os.Stderr, "close the cluster's log:", cerr)
	}
	if err != nil {
		return fmt.Errorf("start local cluster: %w (log: %s)", err, logf.Name())
	}
	b.cluster = c
	b.onClose(func() { b.stopCluster(c) })
	if err := b.connect(); err != nil {
		return err
	}
	b.targets = []*target{{name: "in-cluster", cluster: c, restCfg: b.restCfg, kube: b.kube, dyn: b.dyn}}
	b.assign = spreadApps(len(b.workload.apps), b.cfg.clusters)
	b.step("Installing soll's CRDs and the namespaces %s and %s", sollNamespace, appsNamespace)
	if err := devenv.InstallCRDs(ctx, b.kc); err != nil {
		return err
	}
	for _, ns := range []string{sollNamespace, appsNamespace} {
		if err := b.createNamespace(ctx, ns); err != nil {
			return err
		}
	}
	return b.startRemotes(ctx)
}

// stopCluster stops c, or with -keep says how to.
func (b *bench) stopCluster(c *localcluster.Cluster) {
	if b.cfg.keep {
		fmt.Printf("cluster left running: KUBECONFIG=%s; stop it with: make cluster-down CLUSTER_DIR=%s\n", c.Kubeconfig, c.Dir)
		return
	}
	fmt.Println("==> stopping the local cluster in", c.Dir)
	if err := c.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop cluster:", err)
	}
}

func (b *bench) connect() error {
	// The benchmark's own clients log nothing; an in-process controller
	// sets its logger when it starts.
	ctrllog.SetLogger(logr.Discard())
	cfg, kube, dyn, err := adminClients(b.cluster.Kubeconfig)
	if err != nil {
		return err
	}
	b.restCfg, b.kube, b.dyn = cfg, kube, dyn
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, sollv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return err
		}
	}
	b.kc, err = client.New(cfg, client.Options{Scheme: scheme})
	return err
}

// createNamespace creates ns and waits for its default ServiceAccount, so
// that pods can be created in it at once.
func (b *bench) createNamespace(ctx context.Context, ns string) error {
	return createNamespace(ctx, b.kube, ns)
}

// createNamespace creates ns in the cluster of kube and waits for its
// default ServiceAccount.
func createNamespace(ctx context.Context, kube kubernetes.Interface, ns string) error {
	_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	return poll(ctx, time.Minute, 50*time.Millisecond, func() (bool, error) {
		_, err := kube.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
}

// poll calls cond every interval until it returns true, an error, or the
// timeout or ctx ends.
func poll(ctx context.Context, timeout, interval time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, err := cond()
		if ctx.Err() != nil {
			return fmt.Errorf("after %s: %w", timeout, ctx.Err())
		}
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %s: %w", timeout, ctx.Err())
		case <-time.After(interval):
		}
	}
}
