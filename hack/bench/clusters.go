package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/localcluster"
)

// target is a cluster the apps deploy to: the first is the one soll runs
// against (destination server in-cluster), the others are registered as
// Clusters (destination by name).
type target struct {
	name    string // the Cluster's name; "in-cluster" for the first
	cluster *localcluster.Cluster
	restCfg *rest.Config // admin, no client-side rate limit
	kube    kubernetes.Interface
	dyn     dynamic.Interface
	apps    []app // the apps that deploy here
}

// remoteName is the name of the i-th registered cluster (i ≥ 1).
func remoteName(i int) string { return fmt.Sprintf("cluster-%d", i) }

// spreadApps assigns n apps round-robin to k clusters: app i goes to
// cluster i mod k, so the clusters' shares differ by one at most.
func spreadApps(n, k int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i % k
	}
	return out
}

// destination is where app i deploys: the in-cluster server for the
// first cluster, a registered Cluster by name for the others.
func (b *bench) destination(i int) sollv1.ApplicationDestination {
	t := b.targets[b.assign[i]]
	if b.assign[i] == 0 {
		return sollv1.ApplicationDestination{Server: sollv1.InClusterServer, Namespace: appsNamespace}
	}
	return sollv1.ApplicationDestination{Name: t.name, Namespace: appsNamespace}
}

// adminClients builds rate-limit-free clients of a cluster from its
// kubeconfig.
func adminClients(kubeconfig string) (*rest.Config, kubernetes.Interface, dynamic.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfig, err)
	}
	// A negative QPS turns client-go's rate limiter off.
	cfg.QPS, cfg.Burst = -1, 0
	cfg.Timeout = time.Minute
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, kube, dyn, nil
}

// startRemotes starts the clusters besides the first, one after the
// other, and registers each as a Cluster in soll's namespace.
func (b *bench) startRemotes(ctx context.Context) error {
	for i := 1; i < b.cfg.clusters; i++ {
		name := remoteName(i)
		dir := fmt.Sprintf("%s-%d", b.cfg.clusterDir, i)
		b.step("Starting local cluster %s (2 nodes) in %s", name, dir)
		logf, err := os.Create(filepath.Join(b.work, name+"-up.log"))
		if err != nil {
			return err
		}
		c, err := localcluster.Up(ctx, localcluster.Options{Dir: dir, Nodes: 2, Log: logf})
		if cerr := logf.Close(); cerr != nil {
			fmt.Fprintln(os.Stderr, "close the cluster's log:", cerr)
		}
		if err != nil {
			return fmt.Errorf("start local cluster %s: %w (log: %s)", name, err, logf.Name())
		}
		b.onClose(func() { b.stopCluster(c) })
		t := &target{name: name, cluster: c}
		if t.restCfg, t.kube, t.dyn, err = adminClients(c.Kubeconfig); err != nil {
			return err
		}
		b.targets = append(b.targets, t)
		if err := createNamespace(ctx, t.kube, appsNamespace); err != nil {
			return fmt.Errorf("cluster %s: %w", name, err)
		}
		b.step("Registering %s as a Cluster (ServiceAccount soll-manager with cluster-admin, a token in a Secret)", name)
		if err := b.register(ctx, t); err != nil {
			return fmt.Errorf("register cluster %s: %w", name, err)
		}
	}
	for i, c := range b.assign {
		b.targets[c].apps = append(b.targets[c].apps, b.workload.apps[i])
	}
	for _, t := range b.targets {
		b.report.clusterApps = append(b.report.clusterApps, len(t.apps))
	}
	return nil
}

// register makes a ServiceAccount with cluster-admin in t, a token for
// it in a Secret in soll's namespace, and a Cluster naming both, as
// docs/user/clusters.md does by hand.
func (b *bench) register(ctx context.Context, t *target) error {
	const sa = "soll-manager"
	_, err := t.kube.CoreV1().ServiceAccounts("kube-system").Create(ctx,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create ServiceAccount kube-system/%s: %w", sa, err)
	}
	_, err = t.kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: sa},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: "kube-system"}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create ClusterRoleBinding %s: %w", sa, err)
	}
	// Long enough for the longest run: every phase's timeout and more.
	expiry := int64((24 * time.Hour).Seconds())
	tr, err := t.kube.CoreV1().ServiceAccounts("kube-system").CreateToken(ctx, sa,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("request a token of kube-system/%s: %w", sa, err)
	}
	ca := t.restCfg.CAData
	if len(ca) == 0 && t.restCfg.CAFile != "" {
		if ca, err = os.ReadFile(t.restCfg.CAFile); err != nil {
			return err
		}
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-" + t.name, Namespace: sollNamespace, Labels: map[string]string{
			sollv1.SecretTypeLabel: sollv1.SecretTypeCluster, sollv1.ClusterSecretLabel: t.name,
		}},
		Data: map[string][]byte{"token": []byte(tr.Status.Token)},
	}
	if err := b.kc.Create(ctx, secret); err != nil {
		return fmt.Errorf("create Secret %s/%s: %w", sollNamespace, secret.Name, err)
	}
	c := &sollv1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: t.name, Namespace: sollNamespace},
		Spec:       sollv1.ClusterSpec{Server: t.restCfg.Host, CAData: string(ca), SecretName: secret.Name},
	}
	if err := b.kc.Create(ctx, c); err != nil {
		return fmt.Errorf("create Cluster %s/%s: %w", sollNamespace, t.name, err)
	}
	return nil
}

// hostOf is the host:port of an API server URL, as client-go's
// rest_client_requests_total labels it.
func hostOf(server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil {
		return "", fmt.Errorf("server %q: %w", server, err)
	}
	if u.Host == "" {
		return "", fmt.Errorf("server %q: no host", server)
	}
	return u.Host, nil
}

// remoteSnapshot is, for one registered cluster at one moment, soll's
// requests to it (by method, from soll's own client metrics) and its API
// server's requests from all clients (by verb).
type remoteSnapshot struct {
	soll, apiServer requestCounts
}

// snapshotRemotes reads, for every registered cluster, the requests so
// far.
func (b *bench) snapshotRemotes(ctx context.Context, ctls []controllerRun) ([]remoteSnapshot, error) {
	var out []remoteSnapshot
	for _, t := range b.targets[1:] {
		host, err := hostOf(t.restCfg.Host)
		if err != nil {
			return nil, err
		}
		s := remoteSnapshot{soll: requestCounts{}}
		for _, ctl := range ctls {
			m, err := scrape(ctx, ctl.MetricsURL(), "rest_client_requests_total")
			if err != nil {
				return nil, fmt.Errorf("read soll metrics: %w", err)
			}
			s.soll.add(requestsToHost(m["rest_client_requests_total"], host))
		}
		if s.apiServer, err = apiServerRequests(ctx, t.kube); err != nil {
			return nil, fmt.Errorf("cluster %s: %w", t.name, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// requestsToHost sums client-go's rest_client_requests_total samples of
// one host by method.
func requestsToHost(samples []sample, host string) requestCounts {
	return sumBy(samples, "method", func(l map[string]string) bool { return l["host"] == host })
}

// remoteRow is what the report shows of one registered cluster: soll's
// requests to it during the sync and the idle window, and what it
// watches there.
type remoteRow struct {
	name                  string
	apps                  int
	watchedKinds, objects int32
	statusAt              time.Time     // the Cluster status's lastContact the watch counts are from
	syncSoll              requestCounts // soll's requests during the sync
	soll, apiServer       requestCounts // in the idle window
}

// clusterStatusWait bounds the wait for a Cluster status written after
// the sync: soll checks each Cluster once a minute.
const clusterStatusWait = 3 * time.Minute

// idleRemotes fills the report's rows of the registered clusters from
// the snapshots around the sync and the idle window, and from the
// Clusters' status once soll wrote it after synced (it checks every
// Cluster once a minute, so this may wait up to that long).
func (b *bench) idleRemotes(ctx context.Context, syncBefore, before, after []remoteSnapshot, synced time.Time) error {
	for i, t := range b.targets[1:] {
		var c sollv1.Cluster
		err := poll(ctx, clusterStatusWait, time.Second, func() (bool, error) {
			if err := b.kc.Get(ctx, types.NamespacedName{Namespace: sollNamespace, Name: t.name}, &c); err != nil {
				return false, err
			}
			at := c.Status.LastContact
			return at != nil && !at.Time.Before(synced.Truncate(time.Second)), nil
		})
		if err != nil {
			return fmt.Errorf("cluster %s: no status written after the sync: %w", t.name, err)
		}
		b.report.remotes = append(b.report.remotes, remoteRow{
			name: t.name, apps: len(t.apps),
			watchedKinds: c.Status.WatchedKinds, objects: c.Status.WatchedObjects, statusAt: c.Status.LastContact.Time,
			syncSoll:  before[i].soll.sub(syncBefore[i].soll),
			soll:      after[i].soll.sub(before[i].soll),
			apiServer: after[i].apiServer.sub(before[i].apiServer),
		})
	}
	return nil
}
