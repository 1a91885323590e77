package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/localcluster"
)

// KubeconfigEnv names the variable that points tests at a running cluster.
const KubeconfigEnv = "SOLL_TEST_KUBECONFIG"

// howToStart is appended to every "no cluster" failure.
const howToStart = `start one with:
    make cluster-up CLUSTER_DIR=.cluster/dev
    export ` + KubeconfigEnv + `=$PWD/.cluster/dev/kubeconfig
or run the whole suite with "make test", which starts and stops one.`

// Env is a cluster and clients for it.
type Env struct {
	// KubeconfigPath is the kubeconfig file of the cluster.
	KubeconfigPath string
	// Config is the admin REST config; copy it before changing it.
	Config *rest.Config
	// Kube is a typed clientset.
	Kube kubernetes.Interface
	// Dynamic is a dynamic client.
	Dynamic dynamic.Interface
	// Client is a controller-runtime client that knows the core types and
	// CustomResourceDefinitions and soll's own types (see InstallCRDs).
	Client client.Client
	// Scheme is the scheme of Client.
	Scheme *runtime.Scheme
	// Local is the cluster's processes, for tests that restart a
	// component (Local.Restart); set for private clusters from NewCluster
	// only, never for the shared one.
	Local *localcluster.Cluster
}

var (
	mainActive bool
	sharedOnce sync.Once
	shared     *Env
	sharedErr  error
	sharedStop func()
)

// Main runs the package's tests; use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
//
// When SOLL_TEST_KUBECONFIG is unset, the first test that calls Cluster
// starts a local cluster, and Main stops it after the tests.
func Main(m *testing.M) int {
	mainActive = true
	code := m.Run()
	if sharedStop != nil {
		sharedStop()
	}
	return code
}

// Cluster returns the shared cluster of this test run. It fails the test
// when no cluster can be had. Under `go test -short` (the fast loop, which
// CI never uses) it skips the test instead: every test that needs the API
// server comes through here or NewCluster.
func Cluster(t testing.TB) *Env {
	t.Helper()
	skipShort(t)
	sharedOnce.Do(func() { shared, sharedErr = openShared() })
	if sharedErr != nil {
		t.Fatalf("testenv: no Kubernetes cluster for this test: %v\n%s", sharedErr, howToStart)
	}
	return shared
}

func openShared() (*Env, error) {
	if path := os.Getenv(KubeconfigEnv); path != "" {
		env, err := open(path)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %w", KubeconfigEnv, path, err)
		}
		if err := env.ping(context.Background()); err != nil {
			return nil, fmt.Errorf("%s=%s: cluster not reachable: %w", KubeconfigEnv, path, err)
		}
		return env, nil
	}
	if !mainActive {
		return nil, fmt.Errorf("%s is not set and this package's TestMain does not call testenv.Main, which would start a cluster", KubeconfigEnv)
	}
	dir, err := os.MkdirTemp("", "soll-testcluster-")
	if err != nil {
		return nil, err
	}
	c, err := localcluster.Up(context.Background(), localcluster.Options{Dir: dir, Log: os.Stderr})
	if err != nil {
		return nil, fmt.Errorf("start local cluster in %s: %w", dir, err)
	}
	sharedStop = func() {
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: stop local cluster: %v\n", err)
		}
	}
	return open(c.Kubeconfig)
}

// skipShort skips a test that needs a cluster under `go test -short`.
func skipShort(t testing.TB) {
	if testing.Short() {
		t.Skip("needs a Kubernetes cluster: run without -short (see internal/testenv)")
	}
}

// NewCluster starts a private cluster with the given number of nodes for
// this test alone and stops it when the test ends. Use it when a test needs
// more than one cluster; everything else shares Cluster.
func NewCluster(t testing.TB, nodes int) *Env {
	t.Helper()
	skipShort(t)
	dir, err := os.MkdirTemp("", "soll-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	c, err := localcluster.Up(context.Background(), localcluster.Options{Dir: dir, Nodes: nodes, Log: testWriter{t}})
	if err != nil {
		t.Fatalf("testenv: start a private local cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("testenv: stop private cluster in %s: %v", dir, err)
		}
	})
	env, err := open(c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	env.Local = c
	return env
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// open builds clients for the cluster behind a kubeconfig file.
func open(kubeconfig string) (*Env, error) {
	abs, err := filepath.Abs(kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", abs)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	// Tests are clients of a private cluster: client-go's default 5 QPS
	// would make them slow for no benefit.
	cfg.QPS = 200
	cfg.Burst = 400
	cfg.Timeout = 30 * time.Second
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := sollv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	return &Env{KubeconfigPath: abs, Config: cfg, Kube: kube, Dynamic: dyn, Client: c, Scheme: scheme}, nil
}

func (e *Env) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return e.Kube.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error()
}

// Namespace creates a namespace with a unique name for the test on the
// shared cluster and deletes it when the test ends. It returns once the
// namespace's default ServiceAccount exists, so pods can be created at once.
func Namespace(t testing.TB) string {
	t.Helper()
	return Cluster(t).Namespace(t)
}

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

// Namespace creates a unique namespace on this cluster; see the package
// function Namespace.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	base := strings.Trim(nonName.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(base) > 48 {
		base = strings.Trim(base[:48], "-")
	}
	name := "t-" + base + "-" + hex.EncodeToString(suffix)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   name,
		Labels: map[string]string{"soll.dev/test": "true"},
	}}
	if _, err := e.Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("testenv: create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := e.Kube.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("testenv: delete namespace %s: %v", name, err)
		}
	})
	err := Eventually(ctx, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := e.Kube.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		t.Fatalf("testenv: namespace %s: default ServiceAccount never appeared: %v", name, err)
	}
	return name
}

// Eventually polls cond every interval until it returns true or ctx ends.
// Errors from cond count as "not yet" (API servers have transient errors);
// the last one is reported when ctx ends. It is the way tests wait: never a
// bare sleep.
func Eventually(ctx context.Context, interval time.Duration, cond func(context.Context) (bool, error)) error {
	var lastErr error
	for {
		ok, err := cond(ctx)
		if err != nil && ctx.Err() == nil {
			lastErr = err
		}
		if ok && err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), lastErr)
			}
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}
