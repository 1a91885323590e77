package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConfigPath(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, tc := range []struct {
		config, xdg, want string
	}{
		{config: "/etc/soll.yaml", xdg: "/xdg", want: "/etc/soll.yaml"},
		{xdg: "/xdg", want: "/xdg/soll/config"},
		{want: filepath.Join(home, ".config", "soll", "config")},
	} {
		t.Setenv(ConfigEnv, tc.config)
		t.Setenv("XDG_CONFIG_HOME", tc.xdg)
		if got, err := configPath(); err != nil || got != tc.want {
			t.Errorf("configPath with SOLL_CONFIG=%q XDG_CONFIG_HOME=%q = %q, %v; want %q", tc.config, tc.xdg, got, err, tc.want)
		}
	}
}

func TestConfigSaveIsPrivateAndAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "soll")
	path := filepath.Join(dir, "config")
	c := &Config{CurrentContext: "a", Contexts: []Context{{Name: "a", Server: "https://a.example.com", User: "admin", Token: "secret-a"}}}
	if err := c.save(path); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %04o", p, fi.Mode().Perm(), err, want)
		}
	}
	got, err := loadConfig(path, new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("loaded configuration (-saved +loaded):\n%s", diff)
	}

	// A file others could read is replaced by a new private one: a
	// rename, so that a reader sees the old or the new file, never a
	// half-written one, and no temporary file is left behind.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(path)
	c.set(Context{Name: "b", Server: "https://b.example.com"})
	if err := c.save(path); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(before, after) {
		t.Error("save wrote the file in place instead of renaming a new one over it")
	}
	if after.Mode().Perm() != 0o600 {
		t.Errorf("mode after save: %04o, want 0600", after.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want only the configuration: %v", len(entries), entries)
	}
}

func TestConfigWarnsWhenOthersMayRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	c := &Config{Contexts: []Context{{Name: "a", Server: "https://a.example.com", Token: "secret"}}}
	if err := c.save(path); err != nil {
		t.Fatal(err)
	}
	var warn bytes.Buffer
	if _, err := loadConfig(path, &warn); err != nil || warn.Len() != 0 {
		t.Errorf("private file: warning %q, %v", warn.String(), err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(path, &warn); err != nil || !strings.Contains(warn.String(), "other users may read it (mode 0640): run chmod 600 "+path) {
		t.Errorf("group-readable file: warning %q, %v", warn.String(), err)
	}
	if strings.Contains(warn.String(), "secret") {
		t.Error("the warning shows the token")
	}
}

func TestConfigRefusesBadFiles(t *testing.T) {
	for content, want := range map[string]string{
		"contexts: [{name: a, server: x, tokn: t}]": `unknown field "tokn"`,
		"contexts: [{name: a}]":                     "contexts[0] needs a name and a server",
		"contexts: {":                               "is not valid",
	} {
		path := filepath.Join(t.TempDir(), "config")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := loadConfig(path, new(bytes.Buffer)); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("config %q: got %v, want an error naming the file and containing %q", content, err, want)
		}
	}
	if c, err := loadConfig(filepath.Join(t.TempDir(), "missing"), new(bytes.Buffer)); err != nil || len(c.Contexts) != 0 {
		t.Errorf("a missing file: %+v, %v; want an empty configuration", c, err)
	}
}

// writeConfig saves c as the test's configuration file.
func writeConfig(t *testing.T, c *Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	t.Setenv(ConfigEnv, path)
	if err := c.save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func twoContexts() *Config {
	return &Config{CurrentContext: "prod", Contexts: []Context{
		{Name: "prod", Server: "https://soll.example.com", User: "admin", Token: "prod-token"},
		{Name: "staging", Server: "https://staging.example.com", User: "ci", InsecureSkipTLSVerify: true},
	}}
}

func TestContextCommand(t *testing.T) {
	path := writeConfig(t, twoContexts())
	r := soll(t, nil, "context")
	want := "CURRENT   NAME      SERVER                        USER    LOGGED IN\n" +
		"*         prod      https://soll.example.com      admin   yes\n" +
		"-         staging   https://staging.example.com   ci      no\n"
	if diff := cmp.Diff(want, r.out); r.err != nil || diff != "" {
		t.Errorf("soll context: %v (-want +got):\n%s", r.err, diff)
	}
	if strings.Contains(r.out, "prod-token") {
		t.Error("soll context shows a token")
	}

	if r := soll(t, nil, "context", "staging"); r.err != nil || r.out != "switched to context staging (https://staging.example.com)\n" {
		t.Errorf("soll context staging: %q, %v", r.out, r.err)
	}
	c, err := loadConfig(path, new(bytes.Buffer))
	if err != nil || c.CurrentContext != "staging" {
		t.Errorf("current context after the switch: %q, %v", c.CurrentContext, err)
	}

	r = soll(t, nil, "context", "nope")
	wantError(t, r.err, `context "nope" not found in `+path+": known contexts: prod, staging")

	if r := soll(t, nil, "context", "rm", "staging"); r.err != nil || !strings.Contains(r.out, "context staging removed") {
		t.Errorf("soll context rm staging: %q, %v", r.out, r.err)
	}
	if r := soll(t, nil, "context", "rm", "prod"); r.err != nil || !strings.Contains(r.out, "its session was not ended on the server") {
		t.Errorf("soll context rm of a logged-in context: %q, %v", r.out, r.err)
	}
	c, _ = loadConfig(path, new(bytes.Buffer))
	if len(c.Contexts) != 0 || c.CurrentContext != "" {
		t.Errorf("after removing both: %+v", c)
	}
	if r := soll(t, nil, "context"); r.out != "" || !strings.Contains(r.errOut, "no contexts in "+path+": log in with soll login SERVER") {
		t.Errorf("soll context without contexts: %q, %q", r.out, r.errOut)
	}
}

// TestTarget checks which server and token a command uses: flags win
// over the environment, which wins over the context; a context's token
// goes to its own server only.
func TestTarget(t *testing.T) {
	writeConfig(t, twoContexts())
	for _, tc := range []struct {
		name    string
		env     map[string]string
		g       globals
		want    *target
		wantErr string
	}{
		{name: "current context", want: &target{server: "https://soll.example.com", token: "prod-token", context: "prod"}},
		{name: "--context", g: globals{context: "staging"},
			want: &target{server: "https://staging.example.com", insecure: true, context: "staging"}},
		{name: "--auth-token over the context's", g: globals{authToken: "flag-token"},
			want: &target{server: "https://soll.example.com", token: "flag-token", context: "prod"}},
		{name: "$SOLL_AUTH_TOKEN", env: map[string]string{AuthTokenEnv: "env-token"},
			want: &target{server: "https://soll.example.com", token: "env-token", context: "prod"}},
		{name: "--server of another host: the context's token stays home", g: globals{server: "other.example.com"},
			want: &target{server: "https://other.example.com"}},
		{name: "$SOLL_SERVER and $SOLL_AUTH_TOKEN for CI", env: map[string]string{ServerEnv: "http://ci:8080", AuthTokenEnv: "ci-token"},
			want: &target{server: "http://ci:8080", token: "ci-token"}},
		{name: "--server over $SOLL_SERVER", env: map[string]string{ServerEnv: "http://ci:8080"}, g: globals{server: "soll.example.com"},
			want: &target{server: "https://soll.example.com", token: "prod-token", context: "prod"}},
		{name: "--plaintext", g: globals{server: "other:8080", plaintext: true}, want: &target{server: "http://other:8080"}},
		{name: "unknown --context", g: globals{context: "nope"}, wantErr: `context "nope" not found`},
		{name: "--context and another --server", g: globals{context: "prod", server: "other.example.com"}, wantErr: "give one of them"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			got, err := tc.g.target(newRootCommand(newGlobals(nil)))
			if tc.wantErr != "" {
				wantError(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(target{})); diff != "" {
				t.Errorf("target (-want +got):\n%s", diff)
			}
		})
	}

	t.Setenv(ConfigEnv, filepath.Join(t.TempDir(), "none"))
	if got, err := (&globals{}).target(newRootCommand(newGlobals(nil))); got != nil || err != nil {
		t.Errorf("without contexts, flags or environment: %+v, %v; want no server", got, err)
	}
	_, err := (&globals{authToken: "t"}).target(newRootCommand(newGlobals(nil)))
	wantError(t, err, "a token is given (--auth-token or $SOLL_AUTH_TOKEN) but no server")
}
