package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	filippoage "filippo.io/age"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/kube"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

const (
	// sollNS is soll's namespace in both clusters of the test.
	sollNS = "soll"
	// appDest is the namespace the test's app deploys to.
	appDest = "web"
	// gitPassword guards the app's repository; the restore must bring it
	// back (encrypted in the backup) for the app to compare again.
	gitPassword = "install-git-password-7c2e"
)

// TestInstallUpgradeRestore is an operator's whole path through a
// private registry and two clusters:
//
//  1. soll's image is built from the binary under test and pushed to a
//     registry served over TLS with basic auth.
//  2. Cluster A runs the previous release: its CRDs (recorded in
//     config/crd/testdata/previous), a Project, a repository Secret and an
//     Application stored by them.
//  3. The binary taken out of the image upgrades it with `soll install
//     --apply --image <registry>/soll@<digest> --image-pull-secret regcred`. The Pod the Deployment
//     gets is run as a kubelet would (the local cluster's nodes are
//     simulated): the image is pulled from the registry with the Pod's
//     reference, its entrypoint runs with the container's arguments and
//     environment and the ServiceAccount's own token, so soll works with
//     exactly the rights the install grants. The app compares and syncs.
//  4. `soll admin export --include-secrets` writes the backup, encrypted
//     to an age key. Then soll is rolled back to the previous CRDs, which
//     keep the app.
//  5. Cluster B, empty, gets soll from the Helm chart (the image by
//     digest, pulled with an imagePullSecret), then `soll admin import`.
//     Its Pod runs as above, and the restored app syncs to Git in B with
//     the restored credentials, its pending prune turned on again, and
//     nothing deleted on the way.
func TestInstallUpgradeRestore(t *testing.T) {
	reg := startRegistry(t)
	imageRef := pushSollImage(t, reg)
	t.Logf("image pushed as %s", imageRef)

	git := gitserver.NewHTTP(t, gitserver.HTTPOptions{Username: "deployer", Password: gitPassword})
	git.CreateRepo(t, "config", "")
	rev := git.Commit(t, "config", gitserver.DefaultBranch, gitserver.Change{Message: "web", Files: map[string]string{
		"web/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\ndata:\n  greeting: hello\n",
		"web/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: registry.example/web:1.0}]
`,
	}})
	repoURL := git.HTTPURL("config")

	// Cluster A, with what the previous release installed and stored.
	a := testenv.NewCluster(t, 1)
	ctx := context.Background()
	a.InstallPreviousCRDs(t)
	createYAML(t, a, fmt.Sprintf(`
apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: soll.dev/v1alpha1
kind: Project
metadata: {name: team, namespace: %[1]s}
spec:
  sourceRepos: ["*"]
  destinations: [{server: "*", namespace: "*"}]
---
apiVersion: v1
kind: Secret
metadata:
  name: repo-config
  namespace: %[1]s
  labels: {%[2]s: %[3]s}
stringData: {url: %[4]q, project: team, username: deployer, password: %[5]q}
---
apiVersion: soll.dev/v1alpha1
kind: Application
metadata:
  name: web
  namespace: %[1]s
  finalizers: [%[6]s]
spec:
  project: team
  source: {repoURL: %[4]q, path: web, targetRevision: main}
  destination: {server: "https://kubernetes.default.svc", namespace: %[7]s}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: {createNamespace: true}
`, sollNS, sollv1.SecretTypeLabel, sollv1.SecretTypeRepository, repoURL, gitPassword, sollv1.ResourcesFinalizer, appDest))

	// The upgrade, by the binary of the image, which the Pod pulls with
	// the registry's credentials.
	createPullSecret(t, a, reg)
	out, err := exec.Command(pullAndUnpack(t, reg, imageRef), "install", "--apply", "--kubeconfig", a.KubeconfigPath, "-n", sollNS,
		"--image", imageRef, "--image-pull-secret", "regcred").CombinedOutput()
	if err != nil {
		t.Fatalf("soll install --apply over the previous release: %v\n%s", err, out)
	}
	wantDeploymentImage(t, a, imageRef)
	stopA := runSollPod(t, a, reg)
	app := waitSyncedHealthy(t, a, rev)
	if len(app.Status.History) != 1 {
		t.Errorf("cluster A: history %+v, want the one sync", app.Status.History)
	}
	var cm corev1.ConfigMap
	if err := a.Client.Get(ctx, client.ObjectKey{Namespace: appDest, Name: "web-config"}, &cm); err != nil || cm.Data["greeting"] != "hello" {
		t.Fatalf("cluster A: the app's ConfigMap: %v %v", cm.Data, err)
	}

	// The backup, with the Secrets encrypted to an age key.
	id, err := filippoage.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	backupFile, keyFile := filepath.Join(dir, "backup.yaml"), filepath.Join(dir, "key.txt")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sollBin, "admin", "export", "--kubeconfig", a.KubeconfigPath, "-n", sollNS,
		"--include-secrets", "--age-recipient", id.Recipient().String(), "-o", backupFile).CombinedOutput(); err != nil {
		t.Fatalf("soll admin export: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(backupFile); err != nil || strings.Contains(string(b), gitPassword) {
		t.Fatalf("the backup holds the repository password in clear (or cannot be read: %v)", err)
	}
	stopA()

	// A rollback to the previous release keeps the app: its CRDs replace
	// the current ones, and the stored objects read back with their spec
	// and history.
	a.InstallPreviousCRDs(t)
	var rolledBack sollv1.Application
	if err := a.Client.Get(ctx, client.ObjectKey{Namespace: sollNS, Name: "web"}, &rolledBack); err != nil {
		t.Fatalf("cluster A after the rollback: %v", err)
	}
	if rolledBack.Spec.Source == nil || rolledBack.Spec.Source.Path != "web" || len(rolledBack.Status.History) != 1 || rolledBack.Status.History[0].Revisions[0] != rev {
		t.Errorf("cluster A after the rollback: spec.source %+v, history %+v", rolledBack.Spec.Source, rolledBack.Status.History)
	}

	// Cluster B: the chart, then the restore.
	b := testenv.NewCluster(t, 1)
	createYAML(t, b, fmt.Sprintf(`
apiVersion: v1
kind: Namespace
metadata: {name: %s}
`, sollNS))
	createPullSecret(t, b, reg)
	helmInstall(t, b, imageRef)
	wantDeploymentImage(t, b, imageRef)
	if out, err := exec.Command(sollBin, "admin", "import", "--kubeconfig", b.KubeconfigPath, "-n", sollNS,
		"-f", backupFile, "--age-identity", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("soll admin import: %v\n%s", err, out)
	} else if strings.Contains(string(out), gitPassword) {
		t.Errorf("soll admin import printed the repository password:\n%s", out)
	}
	var restored sollv1.Application
	if err := b.Client.Get(ctx, client.ObjectKey{Namespace: sollNS, Name: "web"}, &restored); err != nil {
		t.Fatal(err)
	}
	if restored.Spec.SyncPolicy == nil || restored.Spec.SyncPolicy.Automated == nil || restored.Spec.SyncPolicy.Automated.Prune ||
		restored.Annotations[sollv1.RestorePrunePendingAnnotation] == "" {
		t.Fatalf("the restored app should wait with prune off and %s set: %+v, annotations %v",
			sollv1.RestorePrunePendingAnnotation, restored.Spec.SyncPolicy, restored.Annotations)
	}
	runSollPod(t, b, reg)
	app = waitSyncedHealthy(t, b, rev)
	if app.Spec.SyncPolicy.Automated == nil || !app.Spec.SyncPolicy.Automated.Prune || app.Annotations[sollv1.RestorePrunePendingAnnotation] != "" {
		t.Errorf("cluster B: prune was not turned on again after the first comparison: %+v, annotations %v", app.Spec.SyncPolicy.Automated, app.Annotations)
	}
	if err := b.Client.Get(ctx, client.ObjectKey{Namespace: appDest, Name: "web-config"}, &cm); err != nil || cm.Data["greeting"] != "hello" {
		t.Errorf("cluster B: the app's ConfigMap: %v %v", cm.Data, err)
	}
}

// createYAML creates each object of a multi-document YAML string.
func createYAML(t *testing.T, env *testenv.Env, docs string) {
	t.Helper()
	for _, doc := range strings.Split(docs, "\n---\n") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		if err := env.Client.Create(context.Background(), u); err != nil {
			t.Fatalf("create %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}

// createPullSecret stores the registry's credentials as the imagePullSecret
// regcred in soll's namespace.
func createPullSecret(t *testing.T, env *testenv.Env, reg *testRegistry) {
	t.Helper()
	cfg, err := json.Marshal(map[string]any{"auths": map[string]any{reg.host: map[string]string{"username": reg.user, "password": reg.password}}})
	if err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "regcred", Namespace: sollNS},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: cfg},
	}
	if err := env.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// helmInstall installs the chart of deploy/chart/soll with the Helm SDK,
// CRDs included, as helm install does, with the image by digest and the
// pull secret.
func helmInstall(t *testing.T, env *testenv.Env, imageRef string) {
	t.Helper()
	repo, digest, ok := strings.Cut(imageRef, "@")
	if !ok {
		t.Fatalf("image %s has no digest", imageRef)
	}
	ch, err := loader.LoadDir(filepath.Join("..", "..", "deploy", "chart", "soll"))
	if err != nil {
		t.Fatal(err)
	}
	flags := genericclioptions.NewConfigFlags(false)
	ns, cacheDir := sollNS, t.TempDir()
	flags.KubeConfig, flags.Namespace, flags.CacheDir = &env.KubeconfigPath, &ns, &cacheDir
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.NewTextHandler(io.Discard, nil)))
	if err := cfg.Init(flags, ns, "secret"); err != nil {
		t.Fatal(err)
	}
	inst := action.NewInstall(cfg)
	inst.ReleaseName, inst.Namespace = "soll", ns
	inst.WaitStrategy, inst.Timeout = kube.HookOnlyStrategy, 2*time.Minute
	vals := map[string]any{
		"image":            map[string]any{"repository": repo, "digest": digest},
		"imagePullSecrets": []any{map[string]any{"name": "regcred"}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := inst.RunWithContext(ctx, ch, vals); err != nil {
		t.Fatalf("helm install: %v", err)
	}
}

// wantDeploymentImage checks that soll's Deployment runs imageRef.
func wantDeploymentImage(t *testing.T, env *testenv.Env, imageRef string) {
	t.Helper()
	var dep appsv1.Deployment
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: sollNS, Name: "soll"}, &dep); err != nil {
		t.Fatal(err)
	}
	if got := dep.Spec.Template.Spec.Containers[0].Image; got != imageRef {
		t.Fatalf("soll's Deployment runs %s, want %s", got, imageRef)
	}
}

// waitSyncedHealthy waits for the app web to be Synced to rev and Healthy.
func waitSyncedHealthy(t *testing.T, env *testenv.Env, rev string) *sollv1.Application {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var app sollv1.Application
	err := testenv.Eventually(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: sollNS, Name: "web"}, &app); err != nil {
			return false, err
		}
		st := app.Status
		return st.Sync != nil && st.Sync.Status == sollv1.SyncStatusSynced && st.Sync.Revision == rev &&
			st.Health != nil && st.Health.Status == sollv1.HealthHealthy, nil
	})
	if err != nil {
		b, _ := json.MarshalIndent(app.Status, "", "  ")
		t.Fatalf("app web never became Synced to %s and Healthy: %v\nstatus: %s", rev, err, b)
	}
	return &app
}

// testRegistry is a registry served over TLS with basic auth.
type testRegistry struct {
	host, user, password string
	transport            http.RoundTripper
}

// auth is the registry's credentials as go-containerregistry takes them.
func (r *testRegistry) auth() remote.Option {
	return remote.WithAuth(&authn.Basic{Username: r.user, Password: r.password})
}

// pushSollImage builds soll's image from the binary under test, for this
// machine's architecture, pushes it and returns its reference by digest.
func pushSollImage(t *testing.T, reg *testRegistry) string {
	t.Helper()
	idx := buildSollImage(t)
	ref, err := name.ParseReference(reg.host + "/soll/soll:v0.0.0-e2e")
	if err != nil {
		t.Fatal(err)
	}
	if err := pushImage(idx, ref, reg); err != nil {
		t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return reg.host + "/soll/soll@" + d.String()
}

// pullAndUnpack pulls ref for this machine's platform, unpacks its layers
// and returns the path of its entrypoint.
func pullAndUnpack(t *testing.T, reg *testRegistry, ref string, opts ...remote.Option) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(opts) == 0 {
		opts = []remote.Option{reg.auth()}
	}
	opts = append(opts, remote.WithTransport(reg.transport), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}))
	img, err := remote.Image(r, opts...)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cf.Config.Entrypoint) != 1 {
		t.Fatalf("image %s: entrypoint %q, want the soll binary", ref, cf.Config.Entrypoint)
	}
	root := t.TempDir()
	unpack(t, img, root)
	return filepath.Join(root, filepath.FromSlash(cf.Config.Entrypoint[0]))
}

// runSollPod runs soll's Pod as a kubelet would, since the local cluster's
// nodes are simulated: it waits for the Deployment's Pod to be scheduled
// and running, pulls the Pod's image with its imagePullSecrets, and runs
// the image's entrypoint with the container's arguments and environment,
// authenticated as the Pod's ServiceAccount with a token of its own.
// Paths of the Pod's emptyDir mounts map to a temporary directory, and
// the API listens on a free loopback port instead of the container's. It
// returns a function that stops the process (also called at the end of
// the test).
func runSollPod(t *testing.T, env *testenv.Env, reg *testRegistry) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var pod corev1.Pod
	err := testenv.Eventually(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		var pods corev1.PodList
		if err := env.Client.List(ctx, &pods, client.InNamespace(sollNS), client.MatchingLabels{"app.kubernetes.io/name": "soll"}); err != nil {
			return false, err
		}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
				pod = p
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("soll's Pod never ran: %v", err)
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("soll's Pod has %d containers, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]

	// The pull, with the Pod's reference and pull secrets only.
	var pullOpts []remote.Option
	for _, ps := range pod.Spec.ImagePullSecrets {
		var s corev1.Secret
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: sollNS, Name: ps.Name}, &s); err != nil {
			t.Fatalf("the Pod's imagePullSecret %s: %v", ps.Name, err)
		}
		var cfg struct {
			Auths map[string]struct{ Username, Password string } `json:"auths"`
		}
		if err := json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
			t.Fatalf("imagePullSecret %s: %v", ps.Name, err)
		}
		if a, ok := cfg.Auths[reg.host]; ok {
			pullOpts = append(pullOpts, remote.WithAuth(&authn.Basic{Username: a.Username, Password: a.Password}))
		}
	}
	if len(pullOpts) == 0 {
		pullOpts = append(pullOpts, remote.WithAuth(authn.Anonymous))
	}
	entrypoint := pullAndUnpack(t, reg, c.Image, pullOpts...)

	dir := t.TempDir()
	args := append([]string{}, c.Command...)
	if len(args) == 0 {
		args = []string{entrypoint}
	}
	args = append(args, c.Args...)
	for _, m := range c.VolumeMounts {
		local := filepath.Join(dir, "volumes", m.Name)
		if err := os.MkdirAll(local, 0o700); err != nil {
			t.Fatal(err)
		}
		for i, a := range args {
			args[i] = strings.ReplaceAll(a, "="+m.MountPath+"/", "="+local+"/")
		}
	}
	addr := freeAddr(t)
	args = append(args, "--listen="+addr)

	environ := []string{"HOME=" + dir, "KUBECONFIG=" + serviceAccountKubeconfig(t, env, pod.Spec.ServiceAccountName, dir)}
	for _, e := range c.Env {
		environ = append(environ, e.Name+"="+envValue(t, env, &pod, &c, e))
	}
	logPath := filepath.Join(dir, "soll.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env, cmd.Stdout, cmd.Stderr = environ, logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		stopProcess(t, cmd.Process, exited, "soll's Pod")
		_ = logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("soll's Pod %s/%s logged:\n%s", pod.Namespace, pod.Name, tail(string(b), 200))
		}
	}
	t.Cleanup(stop)

	err = testenv.Eventually(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		select {
		case <-exited:
			return false, fmt.Errorf("soll exited")
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/v1/version", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		stop()
		t.Fatalf("soll's Pod (%q) never served its API: %v", args, err)
	}
	return stop
}

// serviceAccountKubeconfig writes a kubeconfig for the cluster of env that
// authenticates as the ServiceAccount sa of soll's namespace, with a token
// from the TokenRequest API, and returns its path.
func serviceAccountKubeconfig(t *testing.T, env *testenv.Env, sa, dir string) string {
	t.Helper()
	if sa == "" {
		sa = "default"
	}
	expiry := int64(3600)
	tr, err := env.Kube.CoreV1().ServiceAccounts(sollNS).CreateToken(context.Background(), sa,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a token for ServiceAccount %s/%s: %v", sollNS, sa, err)
	}
	admin, err := clientcmd.LoadFromFile(env.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	cluster := admin.Clusters[admin.Contexts[admin.CurrentContext].Cluster]
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cluster"] = cluster
	cfg.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["sa"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: "sa", Namespace: sollNS}
	cfg.CurrentContext = "sa"
	path := filepath.Join(dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// envValue resolves a container's environment variable as the kubelet
// does, for the sources soll's manifests use.
func envValue(t *testing.T, env *testenv.Env, pod *corev1.Pod, c *corev1.Container, e corev1.EnvVar) string {
	t.Helper()
	switch {
	case e.ValueFrom == nil:
		return e.Value
	case e.ValueFrom.ResourceFieldRef != nil && e.ValueFrom.ResourceFieldRef.Resource == "limits.memory":
		return strconv.FormatInt(c.Resources.Limits.Memory().Value(), 10)
	case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
		return pod.Namespace
	case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
		return pod.Name
	case e.ValueFrom.SecretKeyRef != nil:
		var s corev1.Secret
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: pod.Namespace, Name: e.ValueFrom.SecretKeyRef.Name}, &s); err != nil {
			t.Fatalf("environment variable %s: %v", e.Name, err)
		}
		return string(s.Data[e.ValueFrom.SecretKeyRef.Key])
	}
	t.Fatalf("environment variable %s: a source the test does not resolve: %+v", e.Name, e.ValueFrom)
	return ""
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
