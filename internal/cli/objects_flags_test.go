package cli

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

// wantErrIs checks that err contains want ("" for no error).
func wantErrIs(t *testing.T, what string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: %v", what, err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("%s: error %v, want one containing %q", what, err, want)
	}
}

func TestWindowFlags(t *testing.T) {
	ok := windowFlags{kind: "deny", schedule: "0 22 * * 1-5", duration: time.Hour, timeZone: "Europe/Berlin", namespaces: []string{"prod-*"}, manualSync: true}
	w, err := ok.window()
	if err != nil {
		t.Fatal(err)
	}
	want := sollv1.SyncWindow{Kind: "deny", Schedule: "0 22 * * 1-5", Duration: metav1.Duration{Duration: time.Hour}, TimeZone: "Europe/Berlin", Namespaces: []string{"prod-*"}, ManualSync: true}
	if diff := cmp.Diff(want, w); diff != "" {
		t.Errorf("window (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		name   string
		change func(*windowFlags)
		want   string
	}{
		{"kind", func(f *windowFlags) { f.kind = "maybe" }, `--kind "maybe": want allow or deny`},
		{"no schedule", func(f *windowFlags) { f.schedule = "" }, "--schedule is required"},
		{"bad schedule", func(f *windowFlags) { f.schedule = "0 25 * * *" }, `--schedule: "0 25 * * *" is not a cron schedule`},
		{"every", func(f *windowFlags) { f.schedule = "@every 1h" }, "--schedule: "},
		{"no duration", func(f *windowFlags) { f.duration = 0 }, "--duration is required"},
		{"time zone", func(f *windowFlags) { f.timeZone = "Mars/Olympus" }, `--time-zone: "Mars/Olympus" is not an IANA time zone`},
		{"no scope", func(f *windowFlags) { f.namespaces = nil }, "give the apps the window applies to: --applications, --namespaces or --clusters"},
	} {
		f := ok
		tc.change(&f)
		_, err := f.window()
		wantErrIs(t, tc.name, err, tc.want)
	}
}

func TestPolicyFlags(t *testing.T) {
	for _, tc := range []struct {
		f       policyFlags
		want    string
		wantErr string
	}{
		{f: policyFlags{action: "sync", object: "*", resource: "applications", permission: "allow"}, want: "p, proj:team-a:ci, applications, sync, team-a/*, allow"},
		{f: policyFlags{action: "get", object: "team-a/web-*", resource: "logs", permission: "deny"}, want: "p, proj:team-a:ci, logs, get, team-a/web-*, deny"},
		{f: policyFlags{object: "*", resource: "applications", permission: "allow"}, wantErr: "--action is required"},
		{f: policyFlags{action: "get", object: "*", resource: "applications", permission: "maybe"}, wantErr: `--permission "maybe": want allow or deny`},
	} {
		got, err := tc.f.line("team-a", "ci")
		wantErrIs(t, tc.want, err, tc.wantErr)
		if got != tc.want {
			t.Errorf("line %+v = %q, want %q", tc.f, got, tc.want)
		}
	}
	if got := normalPolicy("p,proj:team-a:ci ,applications,  get, team-a/*,allow"); got != "p, proj:team-a:ci, applications, get, team-a/*, allow" {
		t.Errorf("normalPolicy = %q", got)
	}
}

func TestProjFlags(t *testing.T) {
	f := projFlags{description: "d", sources: []string{"a", "a", "b"}, destinations: []string{"https://kubernetes.default.svc,web", "in-cluster,web-*", "*,!kube-*"}}
	var spec sollv1.ProjectSpec
	set, err := f.apply(&spec, func(flag string) bool { return flag == "description" || flag == "source" || flag == "dest" })
	if err != nil || !set {
		t.Fatalf("apply: %v, %v", set, err)
	}
	want := sollv1.ProjectSpec{Description: "d", SourceRepos: []string{"a", "b"}, Destinations: []sollv1.ProjectDestination{
		{Server: "https://kubernetes.default.svc", Namespace: "web"}, {Name: "in-cluster", Namespace: "web-*"}, {Server: "*", Namespace: "!kube-*"}}}
	if diff := cmp.Diff(want, spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	for _, d := range []string{"web", ",web", "in-cluster,", "a,b,c"} {
		f := projFlags{destinations: []string{d}}
		_, err := f.apply(&sollv1.ProjectSpec{}, func(flag string) bool { return flag == "dest" })
		wantErrIs(t, d, err, "want CLUSTER,NAMESPACE")
	}
	if set, _ := (&projFlags{}).apply(&sollv1.ProjectSpec{}, func(string) bool { return false }); set {
		t.Error("apply without flags reports a change")
	}
}

// TestAllowAndDenyKinds: each command makes the smallest change to reach
// what it says, and never widens a namespaced allow list by emptying it.
func TestAllowAndDenyKinds(t *testing.T) {
	deploy := sollv1.GroupKind{Group: "apps", Kind: "Deployment"}
	secret := sollv1.GroupKind{Kind: "Secret"}
	all := sollv1.GroupKind{Group: "*", Kind: "*"}
	for _, tc := range []struct {
		name       string
		spec       sollv1.ProjectSpec
		allow      bool
		namespaced bool
		gk         sollv1.GroupKind
		want       sollv1.ProjectSpec
		done       string
		wantErr    string
	}{
		{name: "allow cluster kind", gk: deploy, allow: true,
			want: sollv1.ProjectSpec{ClusterResourceAllowList: []sollv1.GroupKind{deploy}}, done: "added to spec.clusterResourceAllowList"},
		{name: "allow a denied namespaced kind", gk: secret, allow: true, namespaced: true,
			spec: sollv1.ProjectSpec{NamespaceResourceDenyList: []sollv1.GroupKind{secret}},
			want: sollv1.ProjectSpec{NamespaceResourceDenyList: []sollv1.GroupKind{}}, done: "removed from spec.namespaceResourceDenyList"},
		{name: "allowed already", gk: secret, allow: true, namespaced: true, wantErr: "unchanged"},
		{name: "denied by a glob", gk: secret, allow: true, namespaced: true,
			spec:    sollv1.ProjectSpec{NamespaceResourceDenyList: []sollv1.GroupKind{all}},
			wantErr: `Secret stays denied by the entry {group: "*", kind: "*"} of spec.namespaceResourceDenyList: remove that entry first with soll proj allow-namespace-resource p "*" "*"`},
		{name: "deny a namespaced kind", gk: secret, namespaced: true,
			want: sollv1.ProjectSpec{NamespaceResourceDenyList: []sollv1.GroupKind{secret}}, done: "added to spec.namespaceResourceDenyList"},
		{name: "deny the last allowed namespaced kind", gk: deploy, namespaced: true,
			spec: sollv1.ProjectSpec{NamespaceResourceAllowList: []sollv1.GroupKind{deploy}},
			want: sollv1.ProjectSpec{NamespaceResourceAllowList: []sollv1.GroupKind{deploy}, NamespaceResourceDenyList: []sollv1.GroupKind{deploy}},
			done: "added to spec.namespaceResourceDenyList"},
		{name: "deny one of two allowed namespaced kinds", gk: deploy, namespaced: true,
			spec: sollv1.ProjectSpec{NamespaceResourceAllowList: []sollv1.GroupKind{deploy, secret}},
			want: sollv1.ProjectSpec{NamespaceResourceAllowList: []sollv1.GroupKind{secret}}, done: "removed from spec.namespaceResourceAllowList"},
		{name: "deny the last allowed cluster kind", gk: deploy,
			spec: sollv1.ProjectSpec{ClusterResourceAllowList: []sollv1.GroupKind{deploy}},
			want: sollv1.ProjectSpec{ClusterResourceAllowList: []sollv1.GroupKind{}}, done: "removed from spec.clusterResourceAllowList"},
		{name: "deny a kind a glob allows", gk: deploy,
			spec: sollv1.ProjectSpec{ClusterResourceAllowList: []sollv1.GroupKind{all}},
			want: sollv1.ProjectSpec{ClusterResourceAllowList: []sollv1.GroupKind{all}, ClusterResourceDenyList: []sollv1.GroupKind{deploy}},
			done: "added to spec.clusterResourceDenyList"},
		{name: "denied already", gk: deploy, wantErr: "unchanged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &sollv1.Project{Spec: tc.spec}
			p.Name = "p"
			change := denyKind
			if tc.allow {
				change = allowKind
			}
			done, err := change(p, tc.gk, tc.namespaced)
			if tc.wantErr != "" {
				wantErrIs(t, tc.name, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if done != tc.done {
				t.Errorf("done %q, want %q", done, tc.done)
			}
			if diff := cmp.Diff(tc.want, p.Spec); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRepoCredFlags(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	if err := os.WriteFile(key, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n...\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		f       repoCredFlags
		stdin   string
		want    apitypes.RepositoryRequest
		wantErr string
	}{
		{name: "password", f: repoCredFlags{username: "ci", passwordStdin: true}, stdin: "s3cret\n",
			want: apitypes.RepositoryRequest{URL: "U", Username: "ci", Password: "s3cret"}},
		{name: "bearer token", f: repoCredFlags{bearerTokenStdin: true}, stdin: "tok",
			want: apitypes.RepositoryRequest{URL: "U", BearerToken: "tok"}},
		{name: "ssh key and passphrase", f: repoCredFlags{sshPrivateKeyPath: key, sshPassphraseStdin: true}, stdin: "phrase\n",
			want: apitypes.RepositoryRequest{URL: "U", SSHPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\n...\n", SSHPassphrase: "phrase"}},
		{name: "two stdin flags", f: repoCredFlags{username: "ci", passwordStdin: true, bearerTokenStdin: true},
			wantErr: "only one flag can read standard input, and --password-stdin and --bearer-token-stdin are given"},
		{name: "password without username", f: repoCredFlags{passwordStdin: true}, wantErr: "--password-stdin needs --username"},
		{name: "username without terminal", f: repoCredFlags{username: "ci"}, wantErr: "no terminal to ask for the password of ci"},
		{name: "empty stdin", f: repoCredFlags{username: "ci", passwordStdin: true}, stdin: "\n", wantErr: "line 1 (the secret of --password-stdin) is empty"},
		{name: "half a TLS pair", f: repoCredFlags{tlsClientCertPath: key}, wantErr: "needs both --tls-client-cert-path and --tls-client-key-path"},
		{name: "passphrase without key", f: repoCredFlags{sshPassphraseStdin: true}, wantErr: "--ssh-passphrase-stdin decrypts the key of --ssh-private-key-path"},
		{name: "missing file", f: repoCredFlags{sshPrivateKeyPath: filepath.Join(dir, "nope")}, wantErr: "--ssh-private-key-path: open "},
		{name: "empty file", f: repoCredFlags{caCertPath: empty}, wantErr: "--ca-cert-path: " + empty + " is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.f.request(&cobra.Command{}, strings.NewReader(tc.stdin), "U")
			if tc.wantErr != "" {
				wantErrIs(t, tc.name, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
	if !(&repoCredFlags{caCertPath: "x"}).given() || (&repoCredFlags{}).given() {
		t.Error("given() is wrong")
	}
	for s, want := range map[string]bool{"https://h/r.git": true, "git@host:org/r.git": true, "ssh://git@h/r": true, "repo-0a1b2c": false, "creds-x": false} {
		if isRepoURL(s) != want {
			t.Errorf("isRepoURL(%q) = %v", s, !want)
		}
	}
}

func TestPasswordFlags(t *testing.T) {
	for _, tc := range []struct {
		name          string
		f             passwordFlags
		own           bool
		stdin         string
		current, next string
		wantErr       string
	}{
		{name: "own", f: passwordFlags{currentStdin: true, newStdin: true}, own: true, stdin: "old pass\r\nnew pass\r\n", current: "old pass", next: "new pass"},
		{name: "another's", f: passwordFlags{newStdin: true}, stdin: "new pass", next: "new pass"},
		{name: "own without the current", f: passwordFlags{newStdin: true}, own: true, wantErr: "pass --current-password-stdin and --new-password-stdin"},
		{name: "own with one line", f: passwordFlags{currentStdin: true, newStdin: true}, own: true, stdin: "old\n", wantErr: "standard input has 1 line(s): want 2, the current password then the new password"},
		{name: "own with an empty line", f: passwordFlags{currentStdin: true, newStdin: true}, own: true, stdin: "\nnew\n", wantErr: "line 1 (the current password) is empty"},
		{name: "another's with the current", f: passwordFlags{currentStdin: true, newStdin: true}, wantErr: "drop --current-password-stdin"},
		{name: "no terminal", wantErr: "no terminal to ask for the passwords"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			current, next, err := tc.f.read(&cobra.Command{}, strings.NewReader(tc.stdin), "alice", tc.own)
			wantErrIs(t, tc.name, err, tc.wantErr)
			if current != tc.current || next != tc.next {
				t.Errorf("read %q, %q; want %q, %q", current, next, tc.current, tc.next)
			}
		})
	}
}

func TestTokenAndCapabilityFlags(t *testing.T) {
	f := tokenFlags{expiresIn: 24 * time.Hour, id: "ci", output: "token"}
	req, err := f.request()
	if err != nil || time.Duration(req.ExpiresIn) != 24*time.Hour || req.ID != "ci" {
		t.Errorf("request: %+v, %v", req, err)
	}
	_, err = (&tokenFlags{expiresIn: -time.Hour, output: "token"}).request()
	wantErrIs(t, "negative lifetime", err, "--expires-in -1h0m0s is negative")
	_, err = (&tokenFlags{output: "table"}).request()
	wantErrIs(t, "output", err, `unknown output format "table" for --output: use token, json or yaml`)
	wantErrIs(t, "capabilities", checkCapabilities([]string{"login", "apiKey"}), "")
	wantErrIs(t, "capabilities", checkCapabilities([]string{"login", "admin"}), `--capability "admin": want login, apiKey or both`)
}

// TestToggle: adding an entry a list has, or removing one it lacks,
// changes nothing.
func TestToggle(t *testing.T) {
	list := []string{"a"}
	errMissing := errors.New("missing")
	missing := func() error { return errMissing }
	if err := toggle(&list, "b", true, nil, missing); err != nil || !slices.Equal(list, []string{"a", "b"}) {
		t.Errorf("add: %v, %v", list, err)
	}
	if err := toggle(&list, "b", true, nil, missing); !errors.Is(err, errUnchanged) {
		t.Errorf("add again: %v", err)
	}
	if err := toggle(&list, "A", false, strings.EqualFold, missing); err != nil || !slices.Equal(list, []string{"b"}) {
		t.Errorf("remove with eq: %v, %v", list, err)
	}
	if err := toggle(&list, "c", false, nil, missing); !errors.Is(err, errMissing) || !slices.Equal(list, []string{"b"}) {
		t.Errorf("remove a missing entry: %v, %v", list, err)
	}
}

// TestProjEditConflict: a Project changed between the command's read
// and its write is not overwritten; the command says to run it again.
// The server's answers are canned: the conflict cannot be timed against
// a real one.
func TestProjEditConflict(t *testing.T) {
	var puts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.Method {
		case http.MethodGet:
			p := sollv1.Project{Spec: sollv1.ProjectSpec{SourceRepos: []string{"a"}}}
			p.Name, p.ResourceVersion = "team-a", "41"
			_ = json.NewEncoder(w).Encode(p)
		case http.MethodPut:
			var p sollv1.Project
			_ = json.NewDecoder(r.Body).Decode(&p)
			puts = append(puts, p.ResourceVersion+" "+strings.Join(p.Spec.SourceRepos, ","))
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"code":"Conflict","message":"project team-a was changed since resourceVersion 41"}`))
		}
	}))
	defer srv.Close()
	r := soll(t, nil, "proj", "add-source", "team-a", "b", "--server", srv.URL, "--auth-token", "tok")
	wantErrIs(t, "add-source", r.err, "project team-a changed meanwhile (between this command's read and its write), so nothing was written: run the command again")
	if !slices.Equal(puts, []string{"41 a,b"}) {
		t.Errorf("writes %q, want one at resourceVersion 41", puts)
	}
}
