package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

// shardApps is the number of apps TestShardedControllers spreads.
const shardApps = 300

// replicaLease finds a sharded replica's identity in its log.
var replicaLease = regexp.MustCompile(`lease=\S+/(soll-controller-[a-z0-9-]+)`)

// TestShardedControllers runs `soll controller --shard` processes of the
// built binary on one namespace with 300 apps: every app is synced once,
// by one replica, and the three replicas share them out. A replica killed
// with SIGKILL while the apps sync a new commit has its apps taken over
// and synced by the others, none twice; a fourth replica takes a share; a
// replica whose API access is cut stops on its own, with an error, and
// the others take its apps.
func TestShardedControllers(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	ns, dest := env.Namespace(t), env.Namespace(t)
	ctx := context.Background()

	git := gitWithCreds(t, env, ns)
	commit := func(version int) string {
		files := map[string]string{}
		for i := range shardApps {
			files[fmt.Sprintf("apps/a%03d/cm.yaml", i)] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a%03d\ndata:\n  version: %q\n", i, fmt.Sprint(version))
		}
		return git.Commit(t, "config", gitserver.DefaultBranch, gitserver.Change{Message: fmt.Sprintf("version %d", version), Files: files})
	}
	rev := commit(1)

	// The third replica reaches the API server through a proxy the test
	// can cut.
	proxy := newCutProxy(t, env.Config.Host)
	start := func(kubeconfig string) (*server, string) {
		t.Helper()
		r := startProcess(t, "soll controller --shard", "controller", "--shard", "--kubeconfig", kubeconfig, "--namespace", ns,
			"--refresh-interval", "1h", "--log-format", "text")
		var id string
		waitFor(t, "a replica to hold its Lease", 30*time.Second, func() bool {
			if m := replicaLease.FindStringSubmatch(r.log(t)); m != nil {
				id = m[1]
			}
			return id != ""
		})
		return r, id
	}
	replicas := make([]*server, 3)
	ids := make([]string, 3)
	replicas[0], ids[0] = start(env.KubeconfigPath)
	replicas[1], ids[1] = start(env.KubeconfigPath)
	replicas[2], ids[2] = start(proxy.kubeconfig(t, env.KubeconfigPath))

	began := time.Now()
	for i := range shardApps {
		app := &sollv1.Application{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("a%03d", i), Namespace: ns},
			Spec: sollv1.ApplicationSpec{
				Source: &sollv1.ApplicationSource{RepoURL: git.HTTPURL("config"), TargetRevision: "main", Path: fmt.Sprintf("apps/a%03d", i),
					CredentialsRef: &sollv1.LocalSecretReference{Name: "git-creds"}},
				Destination: sollv1.ApplicationDestination{Server: sollv1.InClusterServer, Namespace: dest},
				SyncPolicy:  &sollv1.SyncPolicy{Automated: &sollv1.AutomatedSyncPolicy{}},
			},
		}
		if err := env.Client.Create(ctx, app); err != nil {
			t.Fatal(err)
		}
	}
	apps := func() []sollv1.Application {
		t.Helper()
		var l sollv1.ApplicationList
		if err := env.Client.List(ctx, &l, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		return l.Items
	}
	// syncedAt reports whether every app is synced to rev by its n-th
	// sync, none of them run twice.
	var lastProblem string
	syncedAt := func(rev string, n int) func() bool {
		return func() bool {
			done := 0
			for _, a := range apps() {
				h := a.Status.History
				if len(h) > n {
					t.Fatalf("app %s has %d history entries, want %d: a sync ran twice: %+v", a.Name, len(h), n, h)
				}
				st := a.Status.OperationState
				if len(h) == n && slices.Equal(h[n-1].Revisions, []string{rev}) && st != nil && st.Phase == sollv1.OperationSucceeded {
					done++
				} else {
					lastProblem = fmt.Sprintf("%s: %d history entries, operation %+v", a.Name, len(h), st)
				}
			}
			return done == shardApps
		}
	}
	owners := func() map[string]int {
		out := map[string]int{}
		for _, a := range apps() {
			out[a.Status.OperationState.Controller]++
		}
		return out
	}
	waitForOr(t, "every app synced once", 4*time.Minute, syncedAt(rev, 1), &lastProblem)
	t.Logf("%d apps created and synced by 3 replicas in %s", shardApps, time.Since(began).Round(100*time.Millisecond))
	first := owners()
	t.Logf("operations by replica: %v", first)
	for _, id := range ids {
		if first[id] < shardApps/10 {
			t.Errorf("replica %s ran %d of %d syncs: the apps are not shared out (%v)", id, first[id], shardApps, first)
		}
	}
	if len(first) != 3 {
		t.Errorf("syncs ran by %v, want the 3 replicas %v", first, ids)
	}

	refreshAll := func() {
		t.Helper()
		for _, a := range apps() {
			patch := client.MergeFrom(a.DeepCopy())
			if a.Annotations == nil {
				a.Annotations = map[string]string{}
			}
			a.Annotations[sollv1.RefreshAnnotation] = "normal"
			if err := env.Client.Patch(ctx, &a, patch); err != nil {
				t.Fatal(err)
			}
		}
	}

	// SIGKILL of replica 0 while the apps sync a new commit (right after
	// the refresh requests): its Lease is not released; the others take
	// its apps once it expired, and finish them, resuming an operation
	// it claimed where it stopped.
	byRev1 := map[string]string{}
	for _, a := range apps() {
		byRev1[a.Name] = a.Status.OperationState.Controller
	}
	rev2 := commit(2)
	refreshAll()
	if err := replicas[0].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-replicas[0].exited
	killed := time.Now()
	waitForOr(t, "every app synced to the new commit once", 3*time.Minute, syncedAt(rev2, 2), &lastProblem)
	t.Logf("every app synced %s after SIGKILL of a replica", time.Since(killed).Round(100*time.Millisecond))
	second := owners()
	taken := 0
	for _, a := range apps() {
		if byRev1[a.Name] == ids[0] && a.Status.OperationState.Controller != ids[0] {
			taken++
		}
	}
	t.Logf("operations by replica after the kill: %v; %d of the killed replica's apps synced by the others", second, taken)
	if taken == 0 {
		t.Errorf("no app the killed replica had synced was synced by another replica after the kill: before %v, after %v", first, second)
	}

	// A fourth replica joins: it takes a share.
	var id3 string
	replicas = append(replicas, nil)
	replicas[3], id3 = start(env.KubeconfigPath)
	ids = append(ids, id3)
	waitFor(t, "the fourth replica to take apps over", time.Minute, func() bool {
		return strings.Contains(replicas[3].log(t), "applications taken over")
	})
	rev3 := commit(3)
	refreshAll()
	waitForOr(t, "every app synced to the third commit once", 3*time.Minute, syncedAt(rev3, 3), &lastProblem)
	third := owners()
	t.Logf("operations by replica with a fourth: %v", third)
	if third[id3] < shardApps/10 {
		t.Errorf("the fourth replica ran %d of %d syncs: %v", third[id3], shardApps, third)
	}

	// Replica 2 loses its API access: it stops on its own once it cannot
	// renew its Lease; the others take its apps.
	proxy.cut()
	cut := time.Now()
	waitFor(t, "the cut-off replica to stop", 30*time.Second, func() bool {
		select {
		case <-replicas[2].exited:
			return true
		default:
			return false
		}
	})
	t.Logf("the cut-off replica stopped %s after its API access was cut", time.Since(cut).Round(100*time.Millisecond))
	if code := replicas[2].cmd.ProcessState.ExitCode(); code == 0 {
		t.Error("the cut-off replica exited with status 0")
	}
	if log := replicas[2].log(t); !strings.Contains(log, "lost the Lease "+ns+"/"+ids[2]) {
		t.Errorf("the cut-off replica does not say it lost its Lease:\n%s", replicas[2].logTail(t, 20))
	}
	rev4 := commit(4)
	refreshAll()
	waitForOr(t, "every app synced to the fourth commit once", 3*time.Minute, syncedAt(rev4, 4), &lastProblem)
	fourth := owners()
	t.Logf("operations by replica after the cut: %v", fourth)
	if fourth[ids[2]] != 0 {
		t.Errorf("the cut-off replica ran %d syncs of the fourth commit", fourth[ids[2]])
	}
}

// waitForOr is waitFor that says what was still wrong.
func waitForOr(t *testing.T, what string, timeout time.Duration, cond func() bool, problem *string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := testenv.Eventually(ctx, 500*time.Millisecond, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		t.Fatalf("waiting for %s: %v (for instance %s)", what, err, *problem)
	}
}

// cutProxy forwards TCP connections to an API server until cut.
type cutProxy struct {
	l      net.Listener
	target string
	mu     gosync.Mutex
	conns  []net.Conn
	closed bool
}

func newCutProxy(t *testing.T, server string) *cutProxy {
	t.Helper()
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{l: l, target: u.Host}
	go p.serve()
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		p.mu.Lock()
		if err != nil || p.closed {
			p.mu.Unlock()
			_ = c.Close()
			if up != nil {
				_ = up.Close()
			}
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
		go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
	}
}

// cut closes the proxy and every connection through it.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	_ = p.l.Close()
	for _, c := range p.conns {
		_ = c.Close()
	}
}

// kubeconfig writes a copy of the kubeconfig at path whose clusters are
// reached through the proxy.
func (p *cutProxy) kubeconfig(t *testing.T, path string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfg.Clusters {
		c.Server = "https://" + p.l.Addr().String()
	}
	out := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, out); err != nil {
		t.Fatal(err)
	}
	return out
}
