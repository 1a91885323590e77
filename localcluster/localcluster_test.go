package localcluster

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWritePKI(t *testing.T) {
	dir := t.TempDir()
	server := "https://127.0.0.1:6443"
	if err := writePKI(dir, server); err != nil {
		t.Fatal(err)
	}
	ca := readCert(t, filepath.Join(dir, "pki", fileCACert))
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	serving := readCert(t, filepath.Join(dir, "pki", fileServingCert))
	for _, host := range []string{"127.0.0.1", "localhost", "kubernetes.default.svc", defaultServiceIP} {
		if _, err := serving.Verify(x509.VerifyOptions{DNSName: host, Roots: pool}); err != nil {
			t.Errorf("serving certificate does not verify for %s: %v", host, err)
		}
	}
	for _, id := range identities {
		c, err := newAPIClient(filepath.Join(dir, id.file))
		if err != nil {
			t.Fatalf("%s: %v", id.file, err)
		}
		if c.server != server {
			t.Errorf("%s: server %q, want %q", id.file, c.server, server)
		}
	}
	// Private keys must not be world-readable.
	fi, err := os.Stat(filepath.Join(dir, "pki", fileCAKey))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("CA key mode %v, want no group/other access", fi.Mode().Perm())
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientIdentities(t *testing.T) {
	dir := t.TempDir()
	if err := writePKI(dir, "https://127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	for _, id := range identities {
		c, err := newAPIClient(filepath.Join(dir, id.file))
		if err != nil {
			t.Fatal(err)
		}
		tr := c.http.Transport.(*http.Transport)
		leaf, err := x509.ParseCertificate(tr.TLSClientConfig.Certificates[0].Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		if leaf.Subject.CommonName != id.user {
			t.Errorf("%s: user %q, want %q", id.file, leaf.Subject.CommonName, id.user)
		}
		if strings.Join(leaf.Subject.Organization, ",") != strings.Join(id.groups, ",") {
			t.Errorf("%s: groups %v, want %v", id.file, leaf.Subject.Organization, id.groups)
		}
	}
}

func TestProcessLifecycle(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	p, err := startProcess(dir, "sleeper", sleep, []string{"300"})
	if err != nil {
		t.Fatal(err)
	}
	if !p.alive() {
		t.Fatal("process not alive right after start")
	}
	if err := p.exitedEarly(); err != nil {
		t.Fatalf("exitedEarly = %v for a running process", err)
	}
	// A record with the same PID but another start time is not ours.
	impostor := &process{Name: "impostor", PID: p.PID, StartTime: p.StartTime + 1}
	if impostor.alive() {
		t.Error("a process with a different start time counts as alive")
	}
	if err := impostor.stop(time.Second); err != nil {
		t.Errorf("stopping a process that is not ours: %v", err)
	}
	if !p.alive() {
		t.Fatal("stopping an impostor record killed the real process")
	}
	if err := p.stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if p.alive() {
		t.Fatal("process alive after stop")
	}
	if err := p.exitedEarly(); err == nil {
		t.Fatal("exitedEarly = nil after the process was stopped")
	}
	log, err := os.ReadFile(p.Log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), sleep+" 300") {
		t.Errorf("log does not record the command line: %q", log)
	}
}

func TestProcessExitIsReported(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	p, err := startProcess(dir, "crasher", sh, []string{"-c", "echo boom-from-component >&2; exit 3"})
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Dir: dir, Processes: []*process{p}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = c.waitFor(ctx, p, "crasher ready", func(context.Context) error { return os.ErrNotExist })
	if err == nil {
		t.Fatal("waitFor succeeded although the process died")
	}
	if !strings.Contains(err.Error(), "boom-from-component") || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("error should carry the exit status and log tail, got:\n%v", err)
	}
}

func TestDownRefusesForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "precious.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Down(dir); err == nil || !strings.Contains(err.Error(), "holds no local cluster") {
		t.Fatalf("Down on a foreign directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "precious.txt")); err != nil {
		t.Fatalf("Down removed a foreign directory: %v", err)
	}
	if err := Down(filepath.Join(dir, "missing")); err != nil {
		t.Fatalf("Down on a missing directory should be a no-op: %v", err)
	}
}

func TestFreePortsDistinct(t *testing.T) {
	ports, err := freePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("ports %v: want 5 distinct positive ports", ports)
		}
		seen[p] = true
	}
}

func TestBuildKeyFollowsPinnedVersions(t *testing.T) {
	src, err := SourceDir()
	if err != nil {
		t.Fatal(err)
	}
	// Copy the build modules' pin files and change one version.
	tmp := t.TempDir()
	for _, m := range buildModules() {
		for _, f := range []string{"go.mod", "go.sum"} {
			b, err := os.ReadFile(filepath.Join(src, "build", m.dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(tmp, "build", m.dir), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(tmp, "build", m.dir, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx := context.Background()
	k1, err := BuildKey(ctx, tmp)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := BuildKey(ctx, tmp)
	if err != nil {
		t.Fatal(err)
	}
	if k1 != k2 {
		t.Fatalf("build key not stable: %s vs %s", k1, k2)
	}
	mod := filepath.Join(tmp, "build", "etcd", "go.mod")
	b, _ := os.ReadFile(mod)
	if err := os.WriteFile(mod, []byte(strings.Replace(string(b), "v3.6.16", "v3.6.15", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	k3, err := BuildKey(ctx, tmp)
	if err != nil {
		t.Fatal(err)
	}
	if k3 == k1 {
		t.Fatal("build key did not change when a pinned version changed")
	}
}

func TestTail(t *testing.T) {
	if got := tail([]byte("a\nb\nc\n"), 2); got != "b\nc" {
		t.Errorf("tail = %q", got)
	}
	if got := tail([]byte("a"), 5); got != "a" {
		t.Errorf("tail = %q", got)
	}
}

func TestRestart(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	p, err := startProcess(dir, "kwok", sleep, []string{"301"})
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Dir: dir, Processes: []*process{p}}
	t.Cleanup(func() { _ = c.stopAll() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if err := c.Restart(ctx, "kube-scheduler"); err == nil || !strings.Contains(err.Error(), "the cluster runs kwok") {
		t.Errorf("restart of a component the cluster does not run: %v", err)
	}
	if err := c.Restart(ctx, "kwok"); err != nil {
		t.Fatal(err)
	}
	np := c.Processes[0]
	if p.alive() {
		t.Error("the old process still runs after Restart")
	}
	if !np.alive() || np.PID == p.PID {
		t.Fatalf("Restart did not start a new process: old pid %d, new pid %d, alive %v", p.PID, np.PID, np.alive())
	}
	if np.Bin != sleep || strings.Join(np.Args, " ") != "301" || np.Log != p.Log {
		t.Errorf("restarted with %s %v logging to %s, want %s [301] logging to %s", np.Bin, np.Args, np.Log, sleep, p.Log)
	}
	log, err := os.ReadFile(p.Log)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), sleep+" 301"); n != 2 {
		t.Errorf("the log records %d starts, want 2 (appended, not truncated):\n%s", n, log)
	}
	// The state file names the new process, so Down stops it.
	saved, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Processes[0].PID != np.PID {
		t.Errorf("cluster.json records pid %d, want %d", saved.Processes[0].PID, np.PID)
	}

	// A state file written before command lines were recorded.
	np.Bin = ""
	if err := c.Restart(ctx, "kwok"); err == nil || !strings.Contains(err.Error(), "does not record its command line") {
		t.Errorf("restart without a recorded command line: %v", err)
	}
}
