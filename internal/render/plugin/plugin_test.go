package plugin

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/render/rendertest"
)

const configMapYAML = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n"

// sh is a plugin that runs script with /bin/sh.
func sh(name, script string) Plugin {
	return Plugin{Name: name, Generate: []string{"/bin/sh", "-c", script}}.withDefaults()
}

func renderer(plugins ...Plugin) *Renderer {
	cfg := &Config{Plugins: plugins}
	return &Renderer{Config: func() *Config { return cfg }}
}

func TestContract(t *testing.T) {
	r := renderer(sh("cat", "cat manifest.txt"))
	rendertest.Contract(t, r, func(t *testing.T, dir string) {
		rendertest.WriteFile(t, filepath.Join(dir, "manifest.txt"), configMapYAML)
	}, func(req *render.Request) { req.Plugin = &sollv1.PluginSource{Name: "cat"} })
}

func request(root string, src *sollv1.PluginSource) render.Request {
	return render.Request{Root: root, Path: "apps/demo", Plugin: src, App: render.AppInfo{
		Name: "demo", Namespace: "soll", Project: "default", Revision: "abc123", DestinationNamespace: "web",
	}}
}

func TestEnvironmentIsClean(t *testing.T) {
	t.Setenv("SOLL_TEST_PARENT", "visible")
	// Prints a ConfigMap whose data is the environment.
	p := sh("env", `printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: env\ndata:\n'
env | sort | while IFS='=' read -r k v; do printf '  %s: "%s"\n' "$k" "$v"; done`)
	root := rendertest.Repo(t, nil)
	res, err := renderer(p).Render(context.Background(), request(root, &sollv1.PluginSource{
		Name: "env", Env: []sollv1.EnvEntry{{Name: "GREETING", Value: "hello"}},
	}))
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	data, _ := res.Objects[0].Unstructured.Object["data"].(map[string]any)
	if home, _ := data["HOME"].(string); !strings.HasPrefix(home, os.TempDir()) || strings.HasPrefix(home, root) {
		t.Errorf("HOME = %q, want a private temporary directory", home)
	}
	if pwd, _ := data["PWD"].(string); !strings.HasSuffix(pwd, "/repo/apps/demo") {
		t.Errorf("PWD = %q, want the application directory in the copy", pwd)
	}
	if tmp, _ := data["TMPDIR"].(string); filepath.Dir(tmp) != filepath.Dir(data["HOME"].(string)) {
		t.Errorf("TMPDIR = %q, want a private directory beside HOME", tmp)
	}
	for _, k := range []string{"HOME", "TMPDIR", "PWD", "SHLVL", "_"} { // set by the shell or checked above
		delete(data, k)
	}
	want := map[string]any{
		"PATH":                       "/usr/local/bin:/usr/bin:/bin",
		"LANG":                       "C",
		"SOLL_ENV_GREETING":          "hello",
		"ARGOCD_ENV_GREETING":        "hello",
		"SOLL_APP_NAME":              "demo",
		"SOLL_APP_NAMESPACE":         "soll",
		"SOLL_APP_PROJECT":           "default",
		"SOLL_APP_REVISION":          "abc123",
		"SOLL_DESTINATION_NAMESPACE": "web",
	}
	if diff := cmp.Diff(want, data); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
}

// TestDeclaredEnvNames: an Application's variables only ever arrive under
// the prefixes, so that PATH or SOLL_APP_NAME in env change nothing, and
// names that are no shell names, too many variables or too large ones
// are refused with the field.
func TestDeclaredEnvNames(t *testing.T) {
	p := sh("env", `printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: env\ndata:\n  path: "%s"\n  app: "%s"\n  soll: "%s"\n' "$PATH" "$SOLL_APP_NAME" "$SOLL_ENV_PATH"`)
	res, err := renderer(p).Render(context.Background(), request(rendertest.Repo(t, nil), &sollv1.PluginSource{
		Name: "env", Env: []sollv1.EnvEntry{{Name: "PATH", Value: "/evil"}, {Name: "SOLL_APP_NAME", Value: "other"}},
	}))
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	data, _ := res.Objects[0].Unstructured.Object["data"].(map[string]any)
	if diff := cmp.Diff(map[string]any{"path": cleanPath, "app": "demo", "soll": "/evil"}, data); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}

	many := make([]sollv1.EnvEntry, MaxEnv+1)
	for i := range many {
		many[i] = sollv1.EnvEntry{Name: "V" + strconv.Itoa(i)}
	}
	tests := []struct {
		env  []sollv1.EnvEntry
		want string
	}{
		{[]sollv1.EnvEntry{{Name: "OK"}, {Name: "LD-PRELOAD"}}, `plugin.env[1].name "LD-PRELOAD": a name is a letter or _ followed by letters, digits and _`},
		{[]sollv1.EnvEntry{{Name: "1X"}}, `plugin.env[0].name "1X"`},
		{[]sollv1.EnvEntry{{Name: ""}}, `plugin.env[0].name ""`},
		{[]sollv1.EnvEntry{{Name: "A=B"}}, `plugin.env[0].name "A=B"`},
		{[]sollv1.EnvEntry{{Name: strings.Repeat("A", MaxEnvNameBytes+1)}}, "plugin.env[0].name: longer than 253 characters"},
		{[]sollv1.EnvEntry{{Name: "A"}, {Name: "A"}}, `plugin.env[1].name "A": another variable has this name`},
		{[]sollv1.EnvEntry{{Name: "A", Value: "a\x00b"}}, "plugin.env[0].value of A: holds a NUL byte"},
		{[]sollv1.EnvEntry{{Name: "A", Value: strings.Repeat("x", 40<<10)}, {Name: "B", Value: strings.Repeat("x", 40<<10)}}, "plugin.env[1]: the names and values of plugin.env pass 65536 bytes together"},
		{many, "plugin.env: 101 variables, at most 100 are allowed"},
	}
	for _, tt := range tests {
		_, err := renderer(sh("cat", "true")).Render(context.Background(), request(rendertest.Repo(t, nil), &sollv1.PluginSource{Name: "cat", Env: tt.env}))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("env %.40v: error %v, want one saying %q", tt.env, err, tt.want)
		}
	}
}

func TestChoose(t *testing.T) {
	cue := sh("cue", "echo '"+strings.ReplaceAll(configMapYAML, "demo", "from-cue")+"'")
	cue.Discover = "*.cue"
	tanka := sh("tanka", "echo '"+strings.ReplaceAll(configMapYAML, "demo", "from-tanka")+"'")
	tanka.Discover = "Tanka.yaml"
	r := renderer(cue, tanka, sh("plain", "echo '"+configMapYAML+"'"))
	tests := []struct {
		name  string
		files []string
		src   *sollv1.PluginSource
		want  string // the ConfigMap's name, or a part of the error
	}{
		{"discovered", []string{"a.cue", "b.cue"}, nil, "from-cue"},
		{"discovered with empty name", []string{"Tanka.yaml"}, &sollv1.PluginSource{}, "from-tanka"},
		{"named wins over discovery", []string{"Tanka.yaml"}, &sollv1.PluginSource{Name: "cue"}, "from-cue"},
		{"none matches", []string{"x.yaml"}, nil, "no plugin's discover pattern matches a file in the application directory: set plugin.name (configured: cue, tanka, plain)"},
		{"several match", []string{"Tanka.yaml", "x.cue"}, nil, "several plugins match files in the application directory (cue, tanka)"},
		{"unknown name", nil, &sollv1.PluginSource{Name: "helmfile"}, "no plugin helmfile; configured: cue, tanka, plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			for _, f := range tt.files {
				files["apps/demo/"+f] = ""
			}
			res, err := r.Render(context.Background(), request(rendertest.Repo(t, files), tt.src))
			switch {
			case err != nil:
				if !strings.Contains(err.Error(), tt.want) {
					t.Errorf("error %q does not say %q", err, tt.want)
				}
			case len(res.Objects) != 1 || res.Objects[0].Unstructured.GetName() != tt.want:
				t.Errorf("got %d objects, want the ConfigMap %s", len(res.Objects), tt.want)
			}
		})
	}
	_, err := (&Renderer{}).Render(context.Background(), request(rendertest.Repo(t, nil), &sollv1.PluginSource{Name: "cue"}))
	if err == nil || !strings.Contains(err.Error(), "none is configured") {
		t.Errorf("Render without a config = %v, want an error saying none is configured", err)
	}
}

// TestTimeoutKillsProcessGroup runs a plugin that starts a child and waits;
// at the timeout the whole process group goes, the child included.
func TestTimeoutKillsProcessGroup(t *testing.T) {
	p := sh("hang", `sleep 1000 & echo "child $!" >&2; wait`)
	p.Timeout = 300 * time.Millisecond
	_, err := renderer(p).Render(context.Background(), request(rendertest.Repo(t, nil), &sollv1.PluginSource{Name: "hang"}))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "ran longer than 300ms") {
		t.Fatalf("Render = %v, want a timeout", err)
	}
	m := regexp.MustCompile(`child (\d+)`).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("error %q does not quote the child's pid from standard error", err)
	}
	pid, _ := strconv.Atoi(m[1])
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("child %d still runs 10s after the timeout", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive tells whether pid runs; a zombie waiting for a parent that does not
// reap it has ended.
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	s := string(stat)
	rest := s[strings.LastIndexByte(s, ')')+1:]
	return !strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

func TestCanceledRunKillsProcessGroup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := renderer(sh("hang", "sleep 1000")).Render(ctx, request(rendertest.Repo(t, nil), &sollv1.PluginSource{Name: "hang"}))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Render = %v, want context.Canceled", err)
	}
}

func TestRunErrors(t *testing.T) {
	capped := sh("chatty", `while :; do echo "# a comment line that repeats"; done`)
	capped.MaxOutputBytes = 1024
	tests := []struct {
		name   string
		plugin Plugin
		want   []string // parts of the message
	}{
		{"output cap", capped, []string{"plugin chatty: generate: printed more than 1024 bytes, the plugin's maxOutputBytes"}},
		{"exit status", sh("fail", "echo starting >&2; echo the reason it failed >&2; exit 3"),
			[]string{"plugin fail: generate: exit status 3; standard error ends with: starting\nthe reason it failed"}},
		{"init fails", Plugin{Name: "init", Init: []string{"/bin/sh", "-c", "exit 4"}, Generate: []string{"true"}},
			[]string{"plugin init: init: exit status 4"}},
		{"missing program", Plugin{Name: "missing", Generate: []string{"no-such-program"}},
			[]string{"program no-such-program not found in /usr/local/bin:/usr/bin:/bin"}},
		{"stderr is long", sh("long", `i=0; while [ $i -lt 2000 ]; do echo "line $i" >&2; i=$((i+1)); done; exit 1`),
			[]string{"line 1999", "exit status 1"}},
		{"invalid YAML", sh("bad", "echo 'a: [b'"), []string{"render apps/demo (plugin bad):", "invalid YAML"}},
		{"not objects", sh("text", "echo hello"), []string{"render apps/demo (plugin text):1: document is a string"}},
		{"stderr names no temporary path", sh("pwd", "pwd >&2; exit 1"), []string{"ends with: apps/demo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderer(tt.plugin).Render(context.Background(), request(rendertest.Repo(t, nil), &sollv1.PluginSource{Name: tt.plugin.Name}))
			if err == nil {
				t.Fatal("no error")
			}
			var re *render.Error
			if !errors.As(err, &re) {
				t.Errorf("error %v is not a *render.Error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "line 0\n") {
				t.Errorf("error %q keeps more than the tail of standard error", err)
			}
		})
	}
}

// TestCopy checks that the plugin works in a copy: its writes do not reach
// the snapshot, symlinks inside the repository work, symlinks out are left
// out, and the copy is removed afterwards.
func TestCopy(t *testing.T) {
	outside := t.TempDir()
	rendertest.WriteFile(t, filepath.Join(outside, "secret"), "s3cr3t")
	root := rendertest.Repo(t, map[string]string{
		"apps/demo/manifest.yaml": configMapYAML,
		"shared/extra.yaml":       strings.ReplaceAll(configMapYAML, "demo", "extra"),
	})
	for target, name := range map[string]string{
		filepath.Join(outside, "secret"):                 "apps/demo/abs-out",
		"../../../" + filepath.Base(outside) + "/secret": "apps/demo/rel-out",
		"../../shared/extra.yaml":                        "apps/demo/extra.yaml",
		"loop":                                           "apps/demo/loop",
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	script := `for f in abs-out rel-out loop; do if [ -e "$f" ] || [ -L "$f" ]; then echo "$f was copied" >&2; exit 1; fi; done
echo "$HOME" > ../../home
echo changed > manifest.yaml; echo new > ../../new-file; rm -f ../../shared/extra.yaml.orig
cat extra.yaml; echo ---; echo '` + configMapYAML + `'`
	res, err := renderer(sh("copy", script)).Render(context.Background(), request(root, &sollv1.PluginSource{Name: "copy"}))
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if len(res.Objects) != 2 || res.Objects[0].Unstructured.GetName() != "extra" {
		t.Errorf("got %d objects, want extra (through the symlink) and demo", len(res.Objects))
	}
	if got, _ := os.ReadFile(filepath.Join(root, "apps/demo/manifest.yaml")); string(got) != configMapYAML {
		t.Errorf("the plugin changed the snapshot: manifest.yaml = %q", got)
	}
	for _, f := range []string{"new-file", "home"} {
		if _, err := os.Lstat(filepath.Join(root, f)); err == nil {
			t.Errorf("the plugin wrote %s into the snapshot", f)
		}
	}
	if res.Objects[0].Origin.File != "apps/demo (plugin copy)" {
		t.Errorf("Origin.File = %q", res.Objects[0].Origin.File)
	}
}

func TestCopyRemoved(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	// Takes away write permission, which must not keep the copy from going.
	p := sh("ro", `chmod -R a-w "$HOME/.." 2>/dev/null; echo '`+configMapYAML+`'`)
	if _, err := renderer(p).Render(context.Background(), request(rendertest.Repo(t, nil), &sollv1.PluginSource{Name: "ro"})); err != nil {
		t.Fatalf("Render: %v", err)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil || len(entries) != 0 {
		t.Errorf("left in TMPDIR: %v, %v", entries, err)
	}
}

func TestCopyLimits(t *testing.T) {
	root := rendertest.Repo(t, map[string]string{"apps/demo/a.yaml": configMapYAML, "big": strings.Repeat("x", 4096)})
	r := renderer(sh("cat", "cat a.yaml"))
	r.Limits = render.Limits{MaxFileBytes: 1024}
	_, err := r.Render(context.Background(), request(root, &sollv1.PluginSource{Name: "cat"}))
	var le *render.LimitError
	var re *render.Error
	if !errors.As(err, &le) || !errors.As(err, &re) || re.File != "big" {
		t.Errorf("Render = %v, want a LimitError about big", err)
	}
}

// TestPluginTimeoutNotRenderTimeout checks that the plugin's Timeout, not
// the render's, bounds its programs.
func TestPluginTimeoutNotRenderTimeout(t *testing.T) {
	r := renderer(sh("slow", "sleep 0.3; echo '"+configMapYAML+"'"))
	r.Limits = render.Limits{Timeout: 100 * time.Millisecond}
	if _, err := r.Render(context.Background(), request(rendertest.Repo(t, nil), &sollv1.PluginSource{Name: "slow"})); err != nil {
		t.Errorf("Render: %v", err)
	}
}
