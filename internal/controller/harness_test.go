package controller_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	gosync "sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/controller"
	"soll.dev/internal/render"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// harness is a running controller, a Git server with one repository, and
// a namespace for Applications.
type harness struct {
	t       *testing.T
	env     *testenv.Env
	git     *gitserver.HTTPServer
	repo    string
	sollNS  string
	destNS  string
	appName string
	// config and opts configure every controller the harness starts.
	config *rest.Config
	opts   controller.Options
	// stopController stops the running controller; nil when none runs.
	stopController func()
	// mgr is the running controller's manager.
	mgr *controller.Manager
}

// harnessOptions vary a harness; the zero value is the reference setup.
type harnessOptions struct {
	// env is the cluster; nil means the shared one.
	env *testenv.Env
	// files is the first commit of the repository, by path; nil means the
	// wordpress example under wordpress/.
	files map[string]string
	// errorRetryInterval is the controller's ErrorRetryInterval.
	errorRetryInterval time.Duration
	// clientQPS, when set, is the controller's client-side rate limit
	// (QPS and burst): a lower bound on how long its API calls take.
	clientQPS float32
	// renderLimits are the controller's RenderLimits.
	renderLimits render.Limits
	// log receives the controller's log; nil discards it.
	log *slog.Logger
	// refreshInterval is the controller's RefreshInterval.
	refreshInterval time.Duration
	// quietOperation is the controller's QuietOperation.
	quietOperation time.Duration
	// refreshCoalesce is the controller's RefreshCoalesce.
	refreshCoalesce time.Duration
	// deletionTimeout is the controller's DeletionTimeout.
	deletionTimeout time.Duration
	// installCRDs installs the CRDs into the cluster; nil installs the
	// current ones (env.InstallCRDs).
	installCRDs func(*testing.T, *testenv.Env)
	// leaderElection is the controller's LeaderElection.
	leaderElection bool
	// beforeStart runs once the namespaces, the repository and its
	// credentials exist, before the controller starts.
	beforeStart func(*harness)
}

// newHarness is the reference setup: the shared cluster, the wordpress
// example, a controller running.
func newHarness(t *testing.T) *harness {
	return newHarnessWith(t, harnessOptions{})
}

func newHarnessWith(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	env := o.env
	if env == nil {
		env = testenv.Cluster(t)
	}
	if o.installCRDs != nil {
		o.installCRDs(t, env)
	} else {
		env.InstallCRDs(t)
	}
	h := &harness{t: t, env: env, sollNS: env.Namespace(t), destNS: env.Namespace(t), appName: "wordpress"}
	h.git = gitserver.NewHTTP(t, gitserver.HTTPOptions{Username: "ci", Password: "s3cret-git-password"})
	h.repo = "config"
	h.git.CreateRepo(t, h.repo, "")
	files := o.files
	if files == nil {
		files = testenv.WordPress(t, h.destNS)
	}
	h.git.Commit(t, h.repo, gitserver.DefaultBranch, gitserver.Change{Message: "add wordpress", Files: files})

	// Repository credentials live in a Secret in soll's namespace: a
	// credential template for every repository of the Git server, shared
	// with every Project.
	creds := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "git-creds", Namespace: h.sollNS, Labels: map[string]string{
			sollv1.SecretTypeLabel: sollv1.SecretTypeRepoCreds, sollv1.SharedLabel: "true",
		}},
		StringData: map[string]string{"url": h.git.URL, "username": "ci", "password": "s3cret-git-password"},
	}
	if err := env.Client.Create(context.Background(), creds); err != nil {
		t.Fatal(err)
	}
	h.config = rest.CopyConfig(env.Config)
	if o.clientQPS > 0 {
		h.config.QPS, h.config.Burst = o.clientQPS, int(o.clientQPS)
	}
	h.opts = controller.Options{
		Namespace:          h.sollNS,
		CacheDir:           t.TempDir(),
		ErrorRetryInterval: o.errorRetryInterval,
		RenderLimits:       o.renderLimits,
		Log:                o.log,
		RefreshInterval:    o.refreshInterval,
		QuietOperation:     o.quietOperation,
		RefreshCoalesce:    o.refreshCoalesce,
		DeletionTimeout:    o.deletionTimeout,
		LeaderElection:     o.leaderElection,
	}
	if h.opts.Log == nil {
		h.opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.beforeStart != nil {
		o.beforeStart(h)
	}
	h.startController()
	return h
}

// startController starts a controller in this process, as a new pod of
// soll would start: same namespace and cache directory, nothing else
// carried over. It is stopped when the test ends at the latest.
func (h *harness) startController() {
	h.t.Helper()
	if h.stopController != nil {
		h.t.Fatal("startController: a controller is running already")
	}
	mgr, err := controller.NewManager(h.config, h.opts)
	if err != nil {
		h.t.Fatal(err)
	}
	h.mgr, _ = mgr.(*controller.Manager)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var once gosync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("controller stopped with an error: %v", err)
			}
		})
	}
	h.stopController = func() {
		h.stopController = nil
		stop()
	}
	h.t.Cleanup(stop)
}

// createApp creates the harness's app, named h.appName, deploying the
// wordpress/ directory into h.destNS.
func (h *harness) createApp(mutate func(*sollv1.Application)) {
	h.t.Helper()
	h.createAppNamed(h.appName, "wordpress", mutate)
}

// createAppNamed creates an app deploying path of the harness's repository
// into h.destNS.
func (h *harness) createAppNamed(name, path string, mutate func(*sollv1.Application)) {
	h.t.Helper()
	app := &sollv1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.sollNS, Finalizers: []string{sollv1.ResourcesFinalizer}},
		Spec: sollv1.ApplicationSpec{
			Source: &sollv1.ApplicationSource{
				RepoURL: h.git.HTTPURL(h.repo), TargetRevision: "main", Path: path,
				CredentialsRef: &sollv1.LocalSecretReference{Name: "git-creds"},
			},
			Destination: sollv1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: h.destNS},
		},
	}
	if mutate != nil {
		mutate(app)
	}
	if err := h.env.Client.Create(context.Background(), app); err != nil {
		h.t.Fatalf("create application %s: %v", name, err)
	}
}

func (h *harness) app() *sollv1.Application {
	h.t.Helper()
	return h.appNamed(h.appName)
}

func (h *harness) appNamed(name string) *sollv1.Application {
	h.t.Helper()
	var app sollv1.Application
	if err := h.env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.sollNS, Name: name}, &app); err != nil {
		h.t.Fatalf("get application %s: %v", name, err)
	}
	return &app
}

// waitFor polls the app until cond holds, failing with the last status.
func (h *harness) waitFor(what string, timeout time.Duration, cond func(*sollv1.Application) bool) *sollv1.Application {
	h.t.Helper()
	return h.waitForApp(h.appName, what, timeout, cond)
}

// waitForApp polls the app name until cond holds, failing with the last
// status.
func (h *harness) waitForApp(name, what string, timeout time.Duration, cond func(*sollv1.Application) bool) *sollv1.Application {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last *sollv1.Application
	err := testenv.Eventually(ctx, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
		var app sollv1.Application
		if err := h.env.Client.Get(ctx, client.ObjectKey{Namespace: h.sollNS, Name: name}, &app); err != nil {
			return false, err
		}
		last = &app
		return cond(&app), nil
	})
	if err != nil {
		h.t.Fatalf("waiting for %s: %v\nlast status of %s: %s", what, err, name, describe(last))
	}
	return last
}

func describe(app *sollv1.Application) string {
	if app == nil {
		return "(none)"
	}
	var b strings.Builder
	s := app.Status
	if s.Sync != nil {
		fmt.Fprintf(&b, "sync=%s rev=%s ", s.Sync.Status, s.Sync.Revision)
	}
	if s.Health != nil {
		fmt.Fprintf(&b, "health=%s (%s) ", s.Health.Status, s.Health.Message)
	}
	if s.OperationState != nil {
		fmt.Fprintf(&b, "op=%s (%s) ", s.OperationState.Phase, s.OperationState.Message)
	}
	for _, c := range s.Conditions {
		fmt.Fprintf(&b, "\n  condition %s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
	}
	for _, r := range s.Resources {
		h := ""
		if r.Health != nil {
			h = string(r.Health.Status) + " " + r.Health.Message
		}
		fmt.Fprintf(&b, "\n  %s/%s %s/%s: %s %s", r.Group, r.Kind, r.Namespace, r.Name, r.Status, h)
	}
	return b.String()
}

func syncedHealthy(app *sollv1.Application) bool {
	return app.Status.Sync != nil && app.Status.Sync.Status == sollv1.SyncStatusSynced &&
		app.Status.Health != nil && app.Status.Health.Status == sollv1.HealthHealthy
}

func (h *harness) requestSync() {
	h.t.Helper()
	h.requestSyncOf(h.appName)
}

func (h *harness) requestSyncOf(name string) {
	h.t.Helper()
	app := h.appNamed(name)
	patch := client.MergeFrom(app.DeepCopy())
	app.Operation = &sollv1.Operation{Sync: &sollv1.SyncOperation{Prune: true}, InitiatedBy: &sollv1.OperationInitiator{Username: "alice"}}
	if err := h.env.Client.Patch(context.Background(), app, patch); err != nil {
		h.t.Fatal(err)
	}
}

func resourceStatus(app *sollv1.Application, kind, name string) *sollv1.ResourceStatus {
	for i, r := range app.Status.Resources {
		if r.Kind == kind && r.Name == name {
			return &app.Status.Resources[i]
		}
	}
	return nil
}

func condition(app *sollv1.Application, typ string) *metav1.Condition {
	for i, c := range app.Status.Conditions {
		if c.Type == typ {
			return &app.Status.Conditions[i]
		}
	}
	return nil
}

// comparisonFailure is app's Compared condition when the last comparison
// failed; nil when it succeeded or none was made.
func comparisonFailure(app *sollv1.Application) *metav1.Condition {
	if c := condition(app, sollv1.ConditionCompared); c != nil && c.Status == metav1.ConditionFalse {
		return c
	}
	return nil
}

// isComparisonFailure reports whether app's last comparison failed for
// reason ("": any).
func isComparisonFailure(app *sollv1.Application, reason string) bool {
	c := comparisonFailure(app)
	return c != nil && (reason == "" || c.Reason == reason)
}

func (h *harness) deleteDeployment(name string) {
	h.t.Helper()
	err := h.env.Kube.AppsV1().Deployments(h.destNS).Delete(context.Background(), name, metav1.DeleteOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) setAnnotation(k, v string) {
	h.t.Helper()
	h.setAnnotationOf(h.appName, k, v)
}

func (h *harness) setAnnotationOf(name, k, v string) {
	h.t.Helper()
	app := h.appNamed(name)
	patch := client.MergeFrom(app.DeepCopy())
	if app.Annotations == nil {
		app.Annotations = map[string]string{}
	}
	app.Annotations[k] = v
	if err := h.env.Client.Patch(context.Background(), app, patch); err != nil {
		h.t.Fatal(err)
	}
}

// settle returns once the controller has finished a reconcile of app name
// that started after settle was called. It asks for a refresh twice and
// waits for each to be taken: the work queue never runs two reconciles of
// one app at once, so when the second request is taken, the reconcile that
// took the first one (and any sync it started) has ended. mode is "normal"
// or "hard".
func (h *harness) settle(name, mode string) {
	h.t.Helper()
	for i := range 2 {
		h.setAnnotationOf(name, sollv1.RefreshAnnotation, mode)
		h.waitForApp(name, fmt.Sprintf("refresh %d of 2 taken", i+1), time.Minute, func(a *sollv1.Application) bool {
			_, pending := a.Annotations[sollv1.RefreshAnnotation]
			return !pending
		})
	}
}

func (h *harness) deploymentImage(name string) string {
	h.t.Helper()
	d, err := h.env.Kube.AppsV1().Deployments(h.destNS).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return d.Spec.Template.Spec.Containers[0].Image
}

// configMap reads the ConfigMap name in h.destNS.
func (h *harness) configMap(name string) *corev1.ConfigMap {
	h.t.Helper()
	cm, err := h.env.Kube.CoreV1().ConfigMaps(h.destNS).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatalf("read ConfigMap %s/%s: %v", h.destNS, name, err)
	}
	return cm
}
