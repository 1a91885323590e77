package plugin

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/render/process"
	"soll.dev/internal/render/rendertest"
)

// TestHostilePlugin renders the repository testdata/hostile, whose
// generate.sh tries to leave its sandbox, with a plugin that runs it, as
// an Application would: the plugin's reads of a token outside its
// directory, its writes into the snapshot and into another directory, and
// the LD_PRELOAD and BASH_ENV of the Application's env all fail, its
// ordinary work succeeds, and the Application's variables arrive under
// their prefixes.
func TestHostilePlugin(t *testing.T) {
	if abi, err := process.Landlock(); err != nil {
		t.Fatalf("Landlock is unavailable, so the plugin's confinement cannot be tested: %v", err)
	} else {
		t.Logf("Landlock ABI %d", abi)
	}
	snapshot := t.TempDir()
	if err := os.CopyFS(snapshot, os.DirFS("testdata/hostile")); err != nil {
		t.Fatal(err)
	}
	before := tree(t, snapshot)
	secrets, other := t.TempDir(), t.TempDir()
	token := filepath.Join(secrets, "token")
	if err := os.WriteFile(token, []byte("service-account-token"), 0o600); err != nil {
		t.Fatal(err)
	}

	r := renderer(Plugin{Name: "hostile", Generate: []string{"/bin/bash", "generate.sh"}}.withDefaults())
	req := render.Request{Root: snapshot, Path: "apps/hostile", Plugin: &sollv1.PluginSource{Name: "hostile", Env: []sollv1.EnvEntry{
		{Name: "TOKEN_FILE", Value: token},
		{Name: "SNAPSHOT", Value: snapshot},
		{Name: "OTHER_DIR", Value: other},
		{Name: "GREETING", Value: "hello"},
		{Name: "LD_PRELOAD", Value: "./preload.so"},
		{Name: "BASH_ENV", Value: "./evil.sh"},
	}}, App: render.AppInfo{Name: "hostile", Namespace: "soll", Project: "default"}}
	res, err := r.Render(context.Background(), req)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if len(res.Objects) != 1 || res.Objects[0].Unstructured.GetName() != "hostile" {
		t.Fatalf("got %d objects, want the ConfigMap hostile", len(res.Objects))
	}
	data, _ := res.Objects[0].Unstructured.Object["data"].(map[string]any)
	want := map[string]any{
		"readToken":           "no",
		"listRunSecrets":      "no", // /var/run holds the service-account token in a pod
		"readParentEnviron":   "no", // soll's environment, through /proc
		"writeSnapshot":       "no",
		"changeSnapshot":      "no",
		"writeOther":          "no",
		"writeTmp":            "no", // the shared /tmp: TMPDIR is private
		"writeCopy":           "yes",
		"ldPreload":           "no",
		"bashEnv":             "no",
		"PATH":                cleanPath,
		"GREETING":            "unset",
		"LD_PRELOAD":          "unset",
		"SOLL_ENV_GREETING":   "hello",
		"ARGOCD_ENV_GREETING": "hello",
		"SOLL_ENV_LD_PRELOAD": "./preload.so",
	}
	if diff := cmp.Diff(want, data); diff != "" {
		t.Errorf("what the plugin could do (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, tree(t, snapshot)); diff != "" {
		t.Errorf("the plugin changed the snapshot (-before +after):\n%s", diff)
	}
	if entries, err := os.ReadDir(other); err != nil || len(entries) != 0 {
		t.Errorf("the plugin wrote into another directory: %v, %v", entries, err)
	}
}

// tree maps the files under dir to their contents.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		files[strings.TrimPrefix(p, dir)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestPluginMemoryLimit: each process of a plugin has the render's memory
// limit.
func TestPluginMemoryLimit(t *testing.T) {
	r := renderer(sh("big", `x=$(head -c 64000000 /dev/zero | tr '\0' a); echo "held ${#x} bytes" >&2`))
	r.Limits = render.Limits{MaxMemoryBytes: 16 << 20}
	_, err := r.Render(context.Background(), request(rendertest.Repo(t, nil), &sollv1.PluginSource{Name: "big"}))
	var pe *process.Error
	if !errors.As(err, &pe) || strings.Contains(err.Error(), "held 64000000 bytes") ||
		!strings.Contains(err.Error(), "probably ran out of memory: each process of a plugin may hold at most 16 MiB of data memory") {
		t.Errorf("Render = %v, want the plugin to fail for want of memory, and say so", err)
	}
}
