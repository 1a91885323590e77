package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/testenv"
)

// execSetup is a test API server and a Cluster whose exec plugin is a
// shell script in dir. The script sees dir as $DIR.
type execSetup struct {
	api     *testAPI
	cluster *sollv1.Cluster
	dir     string
}

// newExec writes the plugin script body (run by /bin/sh) and returns the
// setup.
func newExec(t *testing.T, body string) *execSetup {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "get-token")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	api := newTestAPI(t, nil)
	c := api.cluster()
	c.Spec.SecretName = ""
	c.Spec.Exec = &sollv1.ClusterExec{Command: path, Env: []sollv1.ClusterExecEnv{{Name: "DIR", Value: dir}}}
	return &execSetup{api: api, cluster: c, dir: dir}
}

func (e *execSetup) config(t *testing.T) *rest.Config {
	t.Helper()
	cfg, err := RESTConfig(e.cluster, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runs is how often the plugin ran (scripts from countingPlugin append a
// line to $DIR/runs per run).
func (e *execSetup) runs(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, "runs"))
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

// gated makes a plugin touch $DIR/started and then hold until $DIR/go
// exists (see release).
const gated = `touch "$DIR/started"
while [ ! -e "$DIR/go" ]; do sleep 0.02; done
`

// release waits until the gated plugin has started, then lets it go on.
func (e *execSetup) release(t *testing.T) {
	t.Helper()
	e.waitStarted(t)
	if err := os.WriteFile(filepath.Join(e.dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitStarted waits until the gated plugin has started.
func (e *execSetup) waitStarted(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := testenv.Eventually(ctx, 10*time.Millisecond, func(context.Context) (bool, error) {
		_, err := os.Stat(filepath.Join(e.dir, "started"))
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("the plugin never started: %v", err)
	}
}

// credential is an ExecCredential's JSON with the given status fields.
func credential(version string, status map[string]any) string {
	b, _ := json.Marshal(map[string]any{"apiVersion": version, "kind": "ExecCredential", "status": status})
	return string(b)
}

// printCredential is a shell command printing the credential; $N in it is
// the shell's variable N.
func printCredential(cred string) string {
	return "printf '%s' \"" + strings.ReplaceAll(cred, `"`, `\"`) + "\""
}

// countingPlugin counts its runs in $DIR/runs and prints a credential with
// the token tok-<run>, and the expiry when it is not zero.
func countingPlugin(expiry time.Time) string {
	status := map[string]any{"token": "tok-$N"}
	if !expiry.IsZero() {
		status["expirationTimestamp"] = expiry.UTC().Format(time.RFC3339)
	}
	return `echo run >> "$DIR/runs"
N=$(( $(wc -l < "$DIR/runs") ))
` + printCredential(credential(ExecV1, status))
}

func TestExecToken(t *testing.T) {
	for _, version := range []string{"", ExecV1, ExecV1beta1} {
		t.Run("apiVersion "+version, func(t *testing.T) {
			want := version
			if want == "" {
				want = ExecV1
			}
			e := newExec(t, printCredential(credential(want, map[string]any{"token": "abc.def"})))
			e.cluster.Spec.Exec.APIVersion = version
			mustGet(t, e.config(t))
			if got := e.api.last(t).auth; got != "Bearer abc.def" {
				t.Errorf("server saw Authorization %q, want the plugin's token", got)
			}
		})
	}
}

func TestExecCleanEnvironment(t *testing.T) {
	t.Setenv("SOLL_TEST_LEAK", "the controller's own")
	// /proc/$$/environ is the environment the shell was started with;
	// `env` would also show what the shell adds (PWD).
	e := newExec(t, `tr '\0' '\n' < /proc/$$/environ > "$DIR/env"
`+printCredential(credential(ExecV1, map[string]any{"token": "abc"})))
	e.cluster.Spec.Exec.Env = append(e.cluster.Spec.Exec.Env, sollv1.ClusterExecEnv{Name: "GREETING", Value: "hello world"})
	mustGet(t, e.config(t))

	b, err := os.ReadFile(filepath.Join(e.dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		name, value, _ := strings.Cut(line, "=")
		env[name] = value
	}
	var names []string
	for name := range env {
		names = append(names, name)
	}
	slices.Sort(names)
	if want := []string{"DIR", "GREETING", "KUBERNETES_EXEC_INFO", "PATH"}; !slices.Equal(names, want) {
		t.Errorf("plugin's environment has %q, want exactly %q", names, want)
	}
	if env["PATH"] != os.Getenv("PATH") || env["GREETING"] != "hello world" {
		t.Errorf("plugin saw PATH=%q GREETING=%q, want soll's PATH and the spec's value", env["PATH"], env["GREETING"])
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(env["KUBERNETES_EXEC_INFO"]), &info); err != nil {
		t.Fatalf("KUBERNETES_EXEC_INFO is not JSON: %v", err)
	}
	want := map[string]any{"apiVersion": ExecV1, "kind": "ExecCredential", "spec": map[string]any{"interactive": false}}
	if fmt.Sprint(info) != fmt.Sprint(want) {
		t.Errorf("KUBERNETES_EXEC_INFO = %v, want %v", info, want)
	}
}

func TestExecTimeout(t *testing.T) {
	// The sleep is a child of the shell: the whole process group goes.
	e := newExec(t, "sleep 60; echo done")
	e.cluster.Spec.Exec.TimeoutSeconds = 1
	start := time.Now()
	_, err := get(t, e.config(t))
	took := time.Since(start)
	wantErrors(t, err, "cluster prod: exec plugin "+e.cluster.Spec.Exec.Command+": no credential within 1s, so it was killed", "spec.exec.timeoutSeconds")
	if took > 5*time.Second {
		t.Errorf("the request failed after %v, want about the 1s timeout", took)
	}
}

func TestExecCache(t *testing.T) {
	tests := []struct {
		name   string
		expiry time.Time
		runs   int
	}{
		{"no expiry", time.Time{}, 1},
		{"expiry in an hour", time.Now().Add(time.Hour), 1},
		{"expiry within 30s", time.Now().Add(20 * time.Second), 2},
		{"expiry past", time.Now().Add(-time.Minute), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newExec(t, countingPlugin(tt.expiry))
			cfg := e.config(t)
			mustGet(t, cfg)
			mustGet(t, cfg)
			if got := e.runs(t); got != tt.runs {
				t.Errorf("two requests ran the plugin %d times, want %d", got, tt.runs)
			}
			if got, want := e.api.last(t).auth, fmt.Sprintf("Bearer tok-%d", tt.runs); got != want {
				t.Errorf("second request sent %q, want %q", got, want)
			}
		})
	}
}

func TestExecConcurrentRequestsShareARun(t *testing.T) {
	// The credential is expired, so nothing is cached: only requests that
	// wait for the same run share it. The plugin holds until every
	// request is under way and it has started.
	e := newExec(t, gated+countingPlugin(time.Now().Add(-time.Hour)))
	client, err := rest.HTTPClientFor(e.config(t))
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var started, done sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			started.Done()
			resp, err := client.Get(e.api.URL + "/version")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != 200 {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			errs <- err
		}()
	}
	started.Wait()
	e.release(t)
	done.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("request: %v", err)
		}
	}
	if got := e.runs(t); got != 1 {
		t.Errorf("%d concurrent requests ran the plugin %d times, want once", n, got)
	}
	if got := e.api.count(); got != n {
		t.Errorf("server saw %d requests, want %d", got, n)
	}
}

func TestExecUnauthorizedRerunsOnce(t *testing.T) {
	e := newExec(t, countingPlugin(time.Time{}))
	e.api.reject["tok-1"] = true
	cfg := e.config(t)
	if code, err := get(t, cfg); err != nil || code != 401 {
		t.Fatalf("first request: status %d, error %v; want 401", code, err)
	}
	for i := range 2 {
		mustGet(t, cfg)
		if got := e.api.last(t).auth; got != "Bearer tok-2" {
			t.Errorf("request %d after the 401 sent %q, want the new token tok-2", i+2, got)
		}
	}
	if got := e.runs(t); got != 2 {
		t.Errorf("a 401 and two requests ran the plugin %d times, want 2", got)
	}
}

func TestExecBadCredentials(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"not JSON", `printf '%s' "` + secretValue + ` is not JSON"`, []string{"printed no ExecCredential JSON on standard output: invalid JSON at byte 1"}},
		{"wrong apiVersion", printCredential(credential(ExecV1beta1, map[string]any{"token": secretValue})),
			[]string{`printed apiVersion "client.authentication.k8s.io/v1beta1" kind "ExecCredential", want apiVersion client.authentication.k8s.io/v1`, "spec.exec.apiVersion"}},
		{"wrong kind", `printf '%s' '{"apiVersion":"client.authentication.k8s.io/v1","kind":"Secret"}'`, []string{`kind "Secret"`}},
		{"certificate only", printCredential(credential(ExecV1, map[string]any{"clientCertificateData": secretValue, "clientKeyData": secretValue})),
			[]string{"soll supports token credentials from exec plugins only"}},
		{"no status", `printf '%s' '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential"}'`, []string{"without status.token"}},
		{"token a number", `printf '%s' '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":12}}'`,
			[]string{"does not decode: field status.token is a JSON number, want string"}},
		{"token with a space", printCredential(credential(ExecV1, map[string]any{"token": secretValue + " x"})), []string{"status.token: the token has a space"}},
		{"output too large", "head -c 2000000 /dev/zero", []string{"printed more than 1048576 bytes on standard output"}},
		{"exit status", "echo 'no credentials for prod' >&2; echo second line >&2; exit 3", []string{": exit status 3: no credentials for prod"}},
		{"long standard error", "printf '%0300d\\n' 0 >&2; exit 1", []string{": exit status 1: " + strings.Repeat("0", 200) + "…"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newExec(t, tt.body)
			_, err := get(t, e.config(t))
			wantErrors(t, err, append(tt.want, "cluster prod: exec plugin "+e.cluster.Spec.Exec.Command+": ")...)
			if err != nil && strings.Contains(err.Error(), secretValue) {
				t.Errorf("error quotes the plugin's output: %v", err)
			}
			if err != nil && strings.Contains(err.Error(), "second line") || strings.Contains(fmt.Sprint(err), strings.Repeat("0", 201)) {
				t.Errorf("error quotes more than the first 200 characters of standard error: %v", err)
			}
			if e.api.count() != 0 {
				t.Error("a request went out without a credential")
			}
		})
	}
	t.Run("command not found", func(t *testing.T) {
		e := newExec(t, "")
		e.cluster.Spec.Exec.Command = "soll-test-no-such-plugin"
		_, err := get(t, e.config(t))
		wantErrors(t, err, "cluster prod: exec plugin soll-test-no-such-plugin:", "executable file not found")
	})
}

func TestExecFailureHeld(t *testing.T) {
	e := newExec(t, `echo run >> "$DIR/runs"; echo "expired login" >&2; exit 1`)
	src := newTokenSource("prod", e.cluster.Spec.Exec)
	now := time.Now()
	src.now = func() time.Time { return now }
	for range 2 {
		if _, err := src.Token(context.Background()); err == nil || !strings.Contains(err.Error(), "expired login") {
			t.Fatalf("got %v, want the plugin's failure", err)
		}
	}
	if got := e.runs(t); got != 1 {
		t.Errorf("two requests within %v of a failure ran the plugin %d times, want once", failureHold, got)
	}
	now = now.Add(failureHold)
	if _, err := src.Token(context.Background()); err == nil {
		t.Fatal("want the plugin's failure again")
	}
	if got := e.runs(t); got != 2 {
		t.Errorf("after %v the plugin ran %d times in all, want 2", failureHold, got)
	}
}

func TestExecWaitEndsWithRequest(t *testing.T) {
	// A request whose context ends stops waiting for the plugin; the run
	// goes on for other requests.
	e := newExec(t, gated+countingPlugin(time.Time{}))
	src := newTokenSource("prod", e.cluster.Spec.Exec)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := src.Token(ctx)
		errc <- err
	}()
	e.waitStarted(t)
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Fatalf("cancelled wait: got %v, want context.Canceled", err)
	}
	e.release(t)
	token, err := src.Token(context.Background())
	if err != nil || token != "tok-1" {
		t.Fatalf("after the cancelled wait: token %q, error %v; want tok-1 from the same run", token, err)
	}
	if got := e.runs(t); got != 1 {
		t.Errorf("plugin ran %d times, want once", got)
	}
}

func TestExecCommandInPATH(t *testing.T) {
	e := newExec(t, printCredential(credential(ExecV1, map[string]any{"token": "from-path"})))
	t.Setenv("PATH", e.dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	e.cluster.Spec.Exec.Command = "get-token"
	mustGet(t, e.config(t))
	if got := e.api.last(t).auth; got != "Bearer from-path" {
		t.Errorf("server saw Authorization %q, want the token of the plugin found in PATH", got)
	}
}
