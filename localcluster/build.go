package localcluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// recipeVersion changes when the way binaries are built changes (flags,
// stage files) without a change of pinned versions, so caches are rebuilt.
const recipeVersion = "2"

// kubeVersion is the Kubernetes release pinned in build/kubernetes/go.mod. It
// is stamped into the binaries so that /version reports it, as a released
// kube-apiserver does.
const kubeVersion = "v1.37.2"

// component is one binary built from one of the pinned build modules.
type buildModule struct {
	dir      string   // directory under build/
	packages []string // main packages to build
	ldflags  string
}

func buildModules() []buildModule {
	kv := strings.TrimPrefix(kubeVersion, "v")
	major, rest, _ := strings.Cut(kv, ".")
	minor, _, _ := strings.Cut(rest, ".")
	kubeLD := strings.Join([]string{
		"-X k8s.io/component-base/version.gitVersion=" + kubeVersion,
		"-X k8s.io/component-base/version.gitMajor=" + major,
		"-X k8s.io/component-base/version.gitMinor=" + minor,
		"-X k8s.io/component-base/version.gitTreeState=clean",
		"-X k8s.io/client-go/pkg/version.gitVersion=" + kubeVersion,
		"-X k8s.io/client-go/pkg/version.gitMajor=" + major,
		"-X k8s.io/client-go/pkg/version.gitMinor=" + minor,
	}, " ")
	return []buildModule{
		{dir: "etcd", packages: []string{"go.etcd.io/etcd/server/v3"}},
		{dir: "kubernetes", packages: []string{
			"k8s.io/kubernetes/cmd/kube-apiserver",
			"k8s.io/kubernetes/cmd/kube-controller-manager",
			"k8s.io/kubernetes/cmd/kube-scheduler",
		}, ldflags: kubeLD},
		{dir: "kwok", packages: []string{"sigs.k8s.io/kwok/cmd/kwok"}},
	}
}

// Binary names inside a bin directory.
const (
	binEtcd              = "etcd"
	binAPIServer         = "kube-apiserver"
	binControllerManager = "kube-controller-manager"
	binScheduler         = "kube-scheduler"
	binKwok              = "kwok"
	kwokStagesFile       = "kwok-stages.yaml"
	completeMarker       = ".complete"
)

// kwokStages are the stage definitions shipped in the kwok module that the
// cluster uses: nodes become Ready and keep a fresh lease (so the
// node-lifecycle controller removes the not-ready taint), pods become Ready,
// pods of Jobs complete, and deleted pods go away.
var kwokStages = []string{
	"kustomize/stage/node/fast/node-initialize.yaml",
	"kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
	"kustomize/stage/pod/fast/pod-ready.yaml",
	"kustomize/stage/pod/fast/pod-complete.yaml",
	"kustomize/stage/pod/fast/pod-delete.yaml",
}

// BuildOptions says where the build modules are and where binaries go.
type BuildOptions struct {
	// SourceDir is the localcluster source directory (holding build/).
	// Empty means the directory this package was compiled from, or
	// $SOLL_LOCALCLUSTER_SRC.
	SourceDir string
	// BinRoot holds one directory per build key. Empty means
	// SourceDir/bin, or $SOLL_LOCALCLUSTER_BIN.
	BinRoot string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// SourceDir returns the localcluster source directory: $SOLL_LOCALCLUSTER_SRC,
// or the directory this file was compiled from.
func SourceDir() (string, error) {
	if d := os.Getenv("SOLL_LOCALCLUSTER_SRC"); d != "" {
		return d, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", errors.New("cannot locate the localcluster sources: set SOLL_LOCALCLUSTER_SRC to the localcluster directory")
	}
	dir := filepath.Dir(file)
	if _, err := os.Stat(filepath.Join(dir, "build", "kubernetes", "go.mod")); err != nil {
		return "", fmt.Errorf("localcluster sources not found at %s: set SOLL_LOCALCLUSTER_SRC to the localcluster directory", dir)
	}
	return dir, nil
}

func (o *BuildOptions) defaults() error {
	if o.SourceDir == "" {
		d, err := SourceDir()
		if err != nil {
			return err
		}
		o.SourceDir = d
	}
	if o.BinRoot == "" {
		o.BinRoot = os.Getenv("SOLL_LOCALCLUSTER_BIN")
	}
	if o.BinRoot == "" {
		o.BinRoot = filepath.Join(o.SourceDir, "bin")
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return nil
}

// BuildKey identifies a set of binaries: it changes when a pinned version,
// the Go toolchain or the build recipe changes.
func BuildKey(ctx context.Context, sourceDir string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "recipe %s\n", recipeVersion)
	goVersion, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	fmt.Fprintf(h, "go %s\n", strings.TrimSpace(string(goVersion)))
	for _, m := range buildModules() {
		for _, f := range []string{"go.mod", "go.sum"} {
			b, err := os.ReadFile(filepath.Join(sourceDir, "build", m.dir, f))
			if err != nil {
				return "", fmt.Errorf("read pinned versions: %w", err)
			}
			fmt.Fprintf(h, "%s/%s %d\n", m.dir, f, len(b))
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Build builds the control-plane binaries unless binaries for the same
// pinned versions exist already, and returns their directory. Concurrent
// callers (several test processes) wait for one build through a file lock.
func Build(ctx context.Context, opts BuildOptions) (string, error) {
	if err := opts.defaults(); err != nil {
		return "", err
	}
	key, err := BuildKey(ctx, opts.SourceDir)
	if err != nil {
		return "", err
	}
	binDir := filepath.Join(opts.BinRoot, key)
	if complete(binDir) {
		return binDir, nil
	}
	if err := os.MkdirAll(opts.BinRoot, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(ctx, filepath.Join(opts.BinRoot, ".build.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if complete(binDir) { // another process built it while we waited
		return binDir, nil
	}

	tmp := binDir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	for _, m := range buildModules() {
		start := time.Now()
		logf(opts.Log, "building %s (first build of these versions takes several minutes)\n", strings.Join(m.packages, " "))
		args := []string{"build", "-o", tmp + string(filepath.Separator)}
		if m.ldflags != "" {
			args = append(args, "-ldflags", m.ldflags)
		}
		args = append(args, m.packages...)
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = filepath.Join(opts.SourceDir, "build", m.dir)
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("build %s: %w\n%s", m.dir, err, tail(out, 40))
		}
		logf(opts.Log, "built %s in %s\n", m.dir, time.Since(start).Round(100*time.Millisecond))
	}
	// The etcd server's main package is the module root
	// (go.etcd.io/etcd/server/v3), so go build names the binary "server".
	if err := os.Rename(filepath.Join(tmp, "server"), filepath.Join(tmp, binEtcd)); err != nil {
		return "", fmt.Errorf("name etcd binary: %w", err)
	}
	if err := writeKwokStages(ctx, opts.SourceDir, filepath.Join(tmp, kwokStagesFile)); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, completeMarker), []byte(key+"\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.RemoveAll(binDir); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, binDir); err != nil {
		return "", err
	}
	return binDir, nil
}

func complete(binDir string) bool {
	_, err := os.Stat(filepath.Join(binDir, completeMarker))
	return err == nil
}

// writeKwokStages copies the stage definitions from the pinned kwok module
// (read from the module cache) into one multi-document config file.
func writeKwokStages(ctx context.Context, sourceDir, dst string) error {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kwok")
	cmd.Dir = filepath.Join(sourceDir, "build", "kwok")
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("locate kwok module: %w", err)
	}
	modDir := strings.TrimSpace(string(out))
	var b strings.Builder
	for _, s := range kwokStages {
		data, err := os.ReadFile(filepath.Join(modDir, s))
		if err != nil {
			return fmt.Errorf("read kwok stage: %w", err)
		}
		b.WriteString("---\n")
		b.Write(data)
		if !strings.HasSuffix(b.String(), "\n") {
			b.WriteString("\n")
		}
	}
	return os.WriteFile(dst, []byte(b.String()), 0o644)
}

// lockFile takes an exclusive flock on path, polling so ctx can cancel.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logf writes a progress line to w. Progress only informs: a line that
// cannot be written must not fail a build or a start.
func logf(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, format, args...)
}
