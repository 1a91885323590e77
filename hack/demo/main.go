// Command demo runs soll's reference scenario on a local cluster: it starts
// the local Kubernetes control plane, serves the WordPress example from a
// local Git repository over smart HTTP, runs the soll binary, creates the
// Application, syncs it, and shows drift being healed. `make demo` runs it.
//
// With DEMO_EXIT_AFTER_SCENARIO=1 it exits after the scenario (status 0
// only if every step succeeded); otherwise it keeps everything running
// until Ctrl-C, then cleans up. SOLL_DEMO_DIR overrides the state
// directory (default .cluster/demo) and SOLL_BIN the soll binary (default
// bin/soll).
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/devenv"
	"soll.dev/localcluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "\ndemo failed:", err)
		os.Exit(1)
	}
}

type demo struct {
	root    string // repository root
	dir     string // demo state: cluster, git repo, logs
	kc      client.Client
	kube    kubernetes.Interface
	kubecfg string
	gitURL  string
	step    int
}

func (d *demo) say(format string, args ...any) {
	d.step++
	fmt.Printf("\n==> %d. %s\n", d.step, fmt.Sprintf(format, args...))
}

func run(ctx context.Context) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	d := &demo{root: root, dir: filepath.Join(root, ".cluster", "demo")}
	if dir := os.Getenv("SOLL_DEMO_DIR"); dir != "" {
		d.dir = dir
	}
	sollBin := filepath.Join(root, "bin", "soll")
	if bin := os.Getenv("SOLL_BIN"); bin != "" {
		sollBin = bin
	}
	if _, err := os.Stat(sollBin); err != nil {
		return fmt.Errorf("%s not found: run make demo (it builds soll first)", sollBin)
	}

	d.say("Starting a local Kubernetes cluster in %s (the first run builds it from source: several minutes)", d.dir)
	_ = localcluster.Down(d.dir)
	cluster, err := localcluster.Up(ctx, localcluster.Options{Dir: d.dir, Log: os.Stdout})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("\n==> Cleaning up: stopping soll, the Git server and the cluster")
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop cluster:", err)
		}
	}()
	d.kubecfg = cluster.Kubeconfig
	if err := d.connect(); err != nil {
		return err
	}

	d.say("Installing soll's CRDs and the soll namespace")
	if err := d.install(ctx); err != nil {
		return err
	}

	d.say("Serving examples/wordpress from a local Git repository over smart HTTP")
	stopGit, err := d.serveGit()
	if err != nil {
		return err
	}
	defer stopGit()
	fmt.Println("   repository:", d.gitURL)

	d.say("Starting soll (soll run), logs in %s", filepath.Join(d.dir, "logs", "soll.log"))
	stopSoll, err := d.startSoll(ctx, sollBin)
	if err != nil {
		return err
	}
	defer stopSoll()

	if err := d.scenario(ctx); err != nil {
		return err
	}

	fmt.Printf(`
==> The reference scenario passed. Things to try next:
   export KUBECONFIG=%s
   kubectl get applications -n soll
   kubectl get all,pvc,secret -n wordpress
   kubectl delete deployment wordpress -n wordpress   # watch soll heal it
   %s app list -n soll       # and: app get wordpress, app sync wordpress --wait
`, d.kubecfg, sollBin)
	if os.Getenv("DEMO_EXIT_AFTER_SCENARIO") == "1" {
		return nil
	}
	fmt.Println("\nsoll keeps running; press Ctrl-C to stop and clean up.")
	<-ctx.Done()
	return nil
}

func (d *demo) connect() error {
	cfg, err := clientcmd.BuildConfigFromFlags("", d.kubecfg)
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, sollv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return err
		}
	}
	if d.kc, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return err
	}
	d.kube, err = kubernetes.NewForConfig(cfg)
	return err
}

func (d *demo) install(ctx context.Context) error {
	if err := devenv.InstallCRDs(ctx, d.kc); err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "soll"}}
	if err := d.kc.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// serveGit creates a repository with the example and serves it over smart
// HTTP on a loopback port.
func (d *demo) serveGit() (func(), error) {
	gitDir := filepath.Join(d.dir, "git")
	src := filepath.Join(d.root, "examples", "wordpress")
	_, err := devenv.CreateRepo(gitDir, "demo", "WordPress and MySQL", func(work string) error {
		if err := os.MkdirAll(filepath.Join(work, "wordpress"), 0o755); err != nil {
			return err
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(work, "wordpress", e.Name()), b, 0o644); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	srv, err := devenv.ServeGit(gitDir)
	if err != nil {
		return nil, err
	}
	d.gitURL = srv.URL("demo")
	return srv.Close, nil
}

func (d *demo) startSoll(ctx context.Context, bin string) (func(), error) {
	logPath := filepath.Join(d.dir, "logs", "soll.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	// A free port for the API, so that the demo never collides with
	// another program on soll's default port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = logFile.Close() // empty: soll never started
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "run", "--kubeconfig", d.kubecfg, "--namespace", "soll",
		"--cache-dir", filepath.Join(d.dir, "soll-cache"), "--listen", addr, "--insecure-cookies")
	d.say("soll's web UI and API: http://%s/ (user admin; password: %s admin initial-password --kubeconfig %s -n soll)", addr, bin, d.kubecfg)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close() // empty: soll never started
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	return func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if err := logFile.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "close soll's log:", err)
		}
	}, nil
}

func (d *demo) scenario(ctx context.Context) error {
	d.say("Creating the Application wordpress (repo %s, path wordpress, namespace wordpress)", d.gitURL)
	app := &sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "wordpress", Namespace: "soll", Finalizers: []string{"soll.dev/resources-finalizer"}},
		Spec: sollv1.ApplicationSpec{
			Source:      &sollv1.ApplicationSource{RepoURL: d.gitURL, TargetRevision: "main", Path: "wordpress"},
			Destination: sollv1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: "wordpress"},
			SyncPolicy:  &sollv1.SyncPolicy{SyncOptions: &sollv1.SyncOptions{CreateNamespace: true}},
		},
	}
	if err := d.kc.Create(ctx, app); err != nil {
		return fmt.Errorf("create application: %w", err)
	}
	if err := d.waitApp(ctx, "OutOfSync", func(a *sollv1.Application) bool { return syncIs(a, sollv1.SyncStatusOutOfSync) }); err != nil {
		return err
	}

	d.say("Pressing Sync")
	if err := d.requestSync(ctx); err != nil {
		return err
	}
	if err := d.waitApp(ctx, "Synced and Healthy", syncedHealthy); err != nil {
		return err
	}

	d.say("kubectl delete deployment wordpress -n wordpress")
	if err := d.kube.AppsV1().Deployments("wordpress").Delete(ctx, "wordpress", metav1.DeleteOptions{}); err != nil {
		return err
	}
	if err := d.waitApp(ctx, "OutOfSync, with the Deployment Missing", func(a *sollv1.Application) bool {
		if !syncIs(a, sollv1.SyncStatusOutOfSync) {
			return false
		}
		for _, r := range a.Status.Resources {
			if r.Kind == "Deployment" && r.Name == "wordpress" && r.Health != nil && r.Health.Status == sollv1.HealthMissing {
				return true
			}
		}
		return false
	}); err != nil {
		return err
	}
	d.say("Pressing Sync again restores it")
	if err := d.requestSync(ctx); err != nil {
		return err
	}
	if err := d.waitApp(ctx, "Synced and Healthy", syncedHealthy); err != nil {
		return err
	}

	d.say("Enabling auto-sync and self-heal, then deleting the Deployment again")
	if err := d.kc.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
		return err
	}
	patch := client.MergeFrom(app.DeepCopy())
	app.Spec.SyncPolicy.Automated = &sollv1.AutomatedSyncPolicy{Prune: true, SelfHeal: true}
	if err := d.kc.Patch(ctx, app, patch); err != nil {
		return err
	}
	start := time.Now()
	if err := d.kube.AppsV1().Deployments("wordpress").Delete(ctx, "wordpress", metav1.DeleteOptions{}); err != nil {
		return err
	}
	if err := poll(ctx, time.Minute, func() (bool, error) {
		dep, err := d.kube.AppsV1().Deployments("wordpress").Get(ctx, "wordpress", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil && dep.DeletionTimestamp == nil, err
	}); err != nil {
		return fmt.Errorf("self-heal did not recreate the deployment: %w", err)
	}
	fmt.Printf("   soll recreated the Deployment %s after it was deleted\n", time.Since(start).Round(time.Millisecond))
	return d.waitApp(ctx, "Synced and Healthy", syncedHealthy)
}

func (d *demo) requestSync(ctx context.Context) error {
	var app sollv1.Application
	if err := d.kc.Get(ctx, client.ObjectKey{Namespace: "soll", Name: "wordpress"}, &app); err != nil {
		return err
	}
	patch := client.MergeFrom(app.DeepCopy())
	app.Operation = &sollv1.Operation{Sync: &sollv1.SyncOperation{Prune: true}, InitiatedBy: &sollv1.OperationInitiator{Username: "demo"}}
	return d.kc.Patch(ctx, &app, patch)
}

func syncIs(a *sollv1.Application, s sollv1.SyncStatusCode) bool {
	return a.Status.Sync != nil && a.Status.Sync.Status == s
}

func syncedHealthy(a *sollv1.Application) bool {
	return syncIs(a, sollv1.SyncStatusSynced) && a.Status.Health != nil && a.Status.Health.Status == sollv1.HealthHealthy
}

// waitApp waits until cond holds, printing the app's status as it changes.
func (d *demo) waitApp(ctx context.Context, what string, cond func(*sollv1.Application) bool) error {
	fmt.Printf("   waiting for %s ...\n", what)
	var last string
	var app sollv1.Application
	err := poll(ctx, 3*time.Minute, func() (bool, error) {
		if err := d.kc.Get(ctx, client.ObjectKey{Namespace: "soll", Name: "wordpress"}, &app); err != nil {
			return false, err
		}
		if line := statusLine(&app); line != last {
			fmt.Println("   " + line)
			last = line
		}
		return cond(&app), nil
	})
	if err != nil {
		return fmt.Errorf("waiting for %s: %w (last: %s)", what, err, last)
	}
	printResources(&app)
	return nil
}

func statusLine(a *sollv1.Application) string {
	sync, health, op := "-", "-", ""
	if a.Status.Sync != nil {
		sync = string(a.Status.Sync.Status)
	}
	if a.Status.Health != nil {
		health = string(a.Status.Health.Status)
	}
	if st := a.Status.OperationState; st != nil {
		op = fmt.Sprintf("  operation %s: %s", st.Phase, st.Message)
	}
	return fmt.Sprintf("app wordpress: sync %s, health %s%s", sync, health, op)
}

func printResources(a *sollv1.Application) {
	fmt.Printf("   %-24s %-28s %-11s %s\n", "KIND", "NAME", "SYNC", "HEALTH")
	for _, r := range a.Status.Resources {
		h := ""
		if r.Health != nil {
			h = string(r.Health.Status)
		}
		fmt.Printf("   %-24s %-28s %-11s %s\n", r.Kind, r.Name, r.Status, h)
	}
}

func poll(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, err := cond()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
