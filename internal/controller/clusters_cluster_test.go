package controller_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

// remoteFiles is an app of a ConfigMap and a Deployment in namespace
// "demo", whatever the cluster.
func remoteFiles(greeting string) map[string]string {
	return map[string]string{
		"demo/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: greeting
  namespace: demo
data:
  greeting: ` + greeting + "\n",
		"demo/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.example/web:1
`,
	}
}

// registerCluster registers target with soll as a Cluster named name:
// a ServiceAccount with cluster-admin there, and a token of it in a
// Secret of soll's namespace named "cluster-<name>".
func registerCluster(t *testing.T, h *harness, name string, target *testenv.Env) {
	t.Helper()
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "soll-manager", Namespace: "kube-system"}}
	if err := target.Client.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "soll-manager"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "soll-manager", Namespace: "kube-system"}},
	}
	if err := target.Client.Create(ctx, crb); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-" + name, Namespace: h.sollNS, Labels: map[string]string{sollv1.SecretTypeLabel: sollv1.SecretTypeCluster, sollv1.ClusterSecretLabel: name}},
		Data:       map[string][]byte{"token": []byte(serviceAccountToken(t, target))},
	}
	if err := h.env.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	ca := target.Config.CAData
	if len(ca) == 0 && target.Config.CAFile != "" {
		var err error
		if ca, err = os.ReadFile(target.Config.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	c := &sollv1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.sollNS, Labels: map[string]string{"region": name}},
		Spec:       sollv1.ClusterSpec{Server: target.Config.Host, CAData: string(ca), SecretName: secret.Name},
	}
	if err := h.env.Client.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "demo"}}
	if err := target.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// serviceAccountToken returns a new token of soll-manager in target.
func serviceAccountToken(t *testing.T, target *testenv.Env) string {
	t.Helper()
	hour := int64(3600)
	tr, err := target.Kube.CoreV1().ServiceAccounts("kube-system").CreateToken(context.Background(), "soll-manager",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &hour}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

func clusterApp(h *harness, name string, dest sollv1.ApplicationDestination) {
	h.t.Helper()
	h.createAppNamed(name, "demo", func(a *sollv1.Application) {
		a.Spec.Destination = dest
		a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{SelfHeal: true, Prune: true}}
	})
}

func greetingIn(target *testenv.Env) string {
	var cm corev1.ConfigMap
	if err := target.Client.Get(context.Background(), client.ObjectKey{Namespace: "demo", Name: "greeting"}, &cm); err != nil {
		return ""
	}
	return cm.Data["greeting"]
}

func (h *harness) cluster(name string) *sollv1.Cluster {
	h.t.Helper()
	var c sollv1.Cluster
	if err := h.env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.sollNS, Name: name}, &c); err != nil {
		h.t.Fatal(err)
	}
	return &c
}

// TestAppsAcrossClusters deploys apps to two registered clusters besides
// the one soll runs in, by cluster name and by server URL, one depending
// on the other across clusters: they sync in order,
// heal drift there, report their clusters' status; a cluster whose API
// server stops makes its apps Unknown with nothing applied, and within
// 30 s of it coming back they are compared and synced again; new
// credentials are taken at once; a removed cluster's apps get a condition
// and its objects stay.
func TestAppsAcrossClusters(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{files: remoteFiles("hello")})
	east, west := testenv.NewCluster(t, 1), testenv.NewCluster(t, 1)
	registerCluster(t, h, "east", east)
	registerCluster(t, h, "west", west)
	clusterApp(h, "to-east", sollv1.ApplicationDestination{Name: "east", Namespace: "demo"})
	// to-west depends on to-east, in another cluster: it syncs only once
	// to-east is Synced and Healthy.
	h.createAppNamed("to-west", "demo", func(a *sollv1.Application) {
		a.Spec.Destination = sollv1.ApplicationDestination{Server: west.Config.Host, Namespace: "demo"}
		a.Spec.SyncPolicy = &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{SelfHeal: true, Prune: true}}
		a.Spec.DependsOn = []sollv1.ApplicationDependency{{Name: "to-east"}}
	})

	for _, name := range []string{"to-east", "to-west"} {
		h.waitForApp(name, "synced and healthy in its cluster", 2*time.Minute, syncedHealthy)
	}
	eastSynced, westStarted := h.appNamed("to-east").Status.History[0].DeployedAt, h.appNamed("to-west").Status.History[0].DeployStartedAt
	if westStarted == nil || westStarted.Before(&eastSynced) {
		t.Errorf("to-west (depends on to-east) started its sync at %v, before to-east finished its own at %v", westStarted, eastSynced)
	}
	for name, env := range map[string]*testenv.Env{"east": east, "west": west} {
		if got := greetingIn(env); got != "hello" {
			t.Errorf("the ConfigMap in %s: greeting %q", name, got)
		}
		d, err := env.Kube.AppsV1().Deployments("demo").Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the Deployment in %s: %v", name, err)
		}
		if d.Labels[sollv1.ManagedLabel] != "true" || !strings.Contains(d.Annotations[sollv1.TrackingAnnotation], h.sollNS+"/to-"+name) {
			t.Errorf("the Deployment in %s is not tracked as the app's: labels %v annotations %v", name, d.Labels, d.Annotations)
		}
	}
	if _, err := h.env.Kube.AppsV1().Deployments("demo").Get(context.Background(), "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Deployment reached the cluster soll runs in: %v", err)
	}

	// Status of each Cluster: reachable, its version, its app, what soll
	// watches there.
	testenv.WaitFor(t, "the status of Cluster east", time.Minute, func() bool {
		c := h.cluster("east")
		return meta.IsStatusConditionTrue(c.Status.Conditions, sollv1.ClusterReachable) && c.Status.ServerVersion != "" &&
			c.Status.Applications == 1 && c.Status.WatchedKinds >= 2 && c.Status.WatchedObjects >= 2 && c.Status.LastContact != nil
	})

	// Drift in a remote cluster heals from its watch.
	if err := east.Kube.CoreV1().ConfigMaps("demo").Delete(context.Background(), "greeting", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the deleted ConfigMap in east healed", time.Minute, func() bool { return greetingIn(east) == "hello" })

	// Outage: west's API server stops. Its app turns Unknown with the
	// reason; a new commit is not applied anywhere meanwhile.
	if err := west.Local.StopComponent("kube-apiserver"); err != nil {
		t.Fatal(err)
	}
	down := h.waitForApp("to-west", "Unknown while its cluster is down", time.Minute, func(a *sollv1.Application) bool {
		return isComparisonFailure(a, sollv1.ReasonClusterUnavailable) && a.Status.Sync.Status == sollv1.SyncStatusUnknown &&
			a.Status.Health != nil && a.Status.Health.Status == sollv1.HealthUnknown
	})
	if msg := comparisonFailure(down).Message; !strings.Contains(msg, "cluster west") || !strings.Contains(msg, "does not answer") {
		t.Errorf("the condition of an app whose cluster is down: %q", msg)
	}
	testenv.WaitFor(t, "Cluster west reported unreachable", time.Minute, func() bool {
		c := meta.FindStatusCondition(h.cluster("west").Status.Conditions, sollv1.ClusterReachable)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == sollv1.ReasonClusterUnreachable
	})
	h.git.Commit(t, h.repo, gitserver.DefaultBranch, gitserver.Change{Message: "new greeting", Files: remoteFiles("bonjour")})
	h.settle("to-east", "normal")
	h.waitForApp("to-east", "east synced to the new commit", time.Minute, func(a *sollv1.Application) bool {
		return syncedHealthy(a) && greetingIn(east) == "bonjour"
	})
	h.settle("to-west", "normal")
	if a := h.appNamed("to-west"); a.Status.Sync.Status != sollv1.SyncStatusUnknown {
		t.Errorf("to-west while west is down: %s", describe(a))
	}

	// West answers again: within 30 s its app is compared and synced.
	if err := west.Local.StartComponent(context.Background(), "kube-apiserver"); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	h.waitForApp("to-west", "to-west synced once west is back", time.Minute, func(a *sollv1.Application) bool {
		return syncedHealthy(a) && greetingIn(west) == "bonjour"
	})
	if took := time.Since(back); took > 30*time.Second {
		t.Errorf("west's app took %s to sync again after its cluster came back; want within 30s", took)
	} else {
		t.Logf("west's app synced %s after its cluster came back", took.Round(time.Millisecond))
	}

	// New credentials (a rotated token) are used at once.
	var secret corev1.Secret
	if err := h.env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.sollNS, Name: "cluster-east"}, &secret); err != nil {
		t.Fatal(err)
	}
	secret.Data["token"] = []byte(serviceAccountToken(t, east))
	if err := h.env.Client.Update(context.Background(), &secret); err != nil {
		t.Fatal(err)
	}
	if err := east.Kube.CoreV1().ConfigMaps("demo").Delete(context.Background(), "greeting", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "east healed with the new token", time.Minute, func() bool { return greetingIn(east) == "bonjour" })

	// A removed cluster: its app says so, its objects stay.
	if err := h.env.Client.Delete(context.Background(), h.cluster("west")); err != nil {
		t.Fatal(err)
	}
	gone := h.waitForApp("to-west", "a condition once west is removed", time.Minute, func(a *sollv1.Application) bool {
		return isComparisonFailure(a, sollv1.ReasonClusterUnavailable)
	})
	if msg := comparisonFailure(gone).Message; !strings.Contains(msg, "no cluster with server "+west.Config.Host+" is registered") {
		t.Errorf("the condition of an app whose cluster was removed: %q", msg)
	}
	if got := greetingIn(west); got != "bonjour" {
		t.Errorf("the objects in west after the Cluster was removed: greeting %q", got)
	}
}
