package gitserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	gossh "golang.org/x/crypto/ssh"
)

func TestCreateRepoFromFixture(t *testing.T) {
	t.Parallel()
	repos, head := newRepos(t)
	files, err := repos.git(repos.Dir("demo"), "ls-tree", "-r", "--name-only", "main")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"README.md", "deploy/configmap.yaml"}
	if diff := cmp.Diff(want, strings.Split(files, "\n")); diff != "" {
		t.Errorf("files on main (-want +got):\n%s", diff)
	}
	if got := repos.Head(t, "demo", "main"); got != head {
		t.Errorf("Head = %s, want CreateRepo's %s", got, head)
	}
	// The server's HEAD must name main, or clones would check out nothing.
	if got, err := repos.git(repos.Dir("demo"), "symbolic-ref", "HEAD"); err != nil || got != "refs/heads/main" {
		t.Errorf("HEAD = %q, %v; want refs/heads/main", got, err)
	}

	empty := repos.CreateRepo(t, "org/empty", "")
	if files, err := repos.git(repos.Dir("org/empty"), "ls-tree", "-r", "--name-only", empty); err != nil || files != "" {
		t.Errorf("empty repo files = %q, %v; want none", files, err)
	}
}

func TestCommitWritesAndRemoves(t *testing.T) {
	t.Parallel()
	repos, head := newRepos(t)
	srv := NewHTTP(t, HTTPOptions{Repos: repos})
	c := NewClient(t)

	first := repos.WriteFiles(t, "demo", "main", "add app", map[string]string{
		"apps/web/deployment.yaml": "kind: Deployment\n",
		"README.md":                "changed\n",
	})
	second := repos.RemoveFiles(t, "demo", "main", "drop deploy", "deploy")

	dir := c.Clone(t, srv.HTTPURL("demo"))
	log := c.MustRun(t, dir, "log", "--format=%H %s", "main")
	wantLog := second + " drop deploy\n" + first + " add app\n" + head + " initial commit"
	if diff := cmp.Diff(wantLog, log); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	got, err := os.ReadFile(filepath.Join(dir, "apps/web/deployment.yaml"))
	if err != nil || string(got) != "kind: Deployment\n" {
		t.Errorf("apps/web/deployment.yaml = %q, %v", got, err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "README.md")); err != nil || string(got) != "changed\n" {
		t.Errorf("README.md = %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "deploy")); !os.IsNotExist(err) {
		t.Errorf("deploy still exists after removal: %v", err)
	}
	author := c.MustRun(t, dir, "log", "-1", "--format=%an <%ae>|%cn <%ce>")
	if want := AuthorName + " <" + AuthorEmail + ">|" + AuthorName + " <" + AuthorEmail + ">"; author != want {
		t.Errorf("identity = %q, want %q", author, want)
	}
}

func TestBranchesAndTagsVisible(t *testing.T) {
	t.Parallel()
	repos, head := newRepos(t)
	key := NewKeyPair(t)
	httpSrv := NewHTTP(t, HTTPOptions{Repos: repos})
	sshSrv := NewSSH(t, SSHOptions{Repos: repos, AuthorizedKeys: []gossh.PublicKey{key.PublicKey}})

	if got := repos.CreateBranch(t, "demo", "feature", "main"); got != head {
		t.Errorf("CreateBranch = %s, want %s", got, head)
	}
	feature := repos.WriteFiles(t, "demo", "feature", "feature work", map[string]string{"f.txt": "f\n"})
	if got := repos.CreateTag(t, "demo", "v1.0.0", "main"); got != head {
		t.Errorf("CreateTag = %s, want %s", got, head)
	}
	annotated := repos.CreateAnnotatedTag(t, "demo", "v1.1.0", "feature", "release 1.1.0")

	want := map[string]string{
		"HEAD":                head,
		"refs/heads/main":     head,
		"refs/heads/feature":  feature,
		"refs/tags/v1.0.0":    head,
		"refs/tags/v1.1.0":    annotated,
		"refs/tags/v1.1.0^{}": feature,
	}
	c := NewClient(t)
	if diff := cmp.Diff(want, lsRemote(t, c, httpSrv.HTTPURL("demo"))); diff != "" {
		t.Errorf("refs over HTTP (-want +got):\n%s", diff)
	}
	sc := c.WithSSH(key.WriteFile(t), sshSrv.KnownHostsFile(t))
	if diff := cmp.Diff(want, lsRemote(t, sc, sshSrv.SSHURL("demo"))); diff != "" {
		t.Errorf("refs over SSH (-want +got):\n%s", diff)
	}
}

func TestReposRejectBadInput(t *testing.T) {
	t.Parallel()
	repos, _ := newRepos(t)
	tests := []struct {
		name string
		err  func() error
		want string
	}{
		{"repo name with ..", func() error { _, err := repos.createRepo("../escape", ""); return err }, "invalid repository name"},
		{"absolute repo name", func() error { _, err := repos.createRepo("/tmp/x", ""); return err }, "invalid repository name"},
		{"existing repo", func() error { _, err := repos.createRepo("demo", ""); return err }, "already exists"},
		{"missing fixture", func() error { _, err := repos.createRepo("new", "testdata/nope"); return err }, "is not a directory"},
		{"missing repo", func() error { _, err := repos.commit("nope", "main", Change{}); return err }, "does not exist"},
		{"missing branch", func() error { _, err := repos.commit("demo", "nope", Change{}); return err }, "branch nope"},
		{"write outside tree", func() error {
			_, err := repos.commit("demo", "main", Change{Files: map[string]string{"../x": ""}})
			return err
		}, "not local"},
		{"write into .git", func() error {
			_, err := repos.commit("demo", "main", Change{Files: map[string]string{".git/config": ""}})
			return err
		}, "inside .git"},
		{"remove missing file", func() error { _, err := repos.commit("demo", "main", Change{Remove: []string{"nope"}}); return err }, "remove nope"},
		{"existing branch", func() error { _, err := repos.createRef("demo", "refs/heads/main", "main"); return err }, "update-ref"},
		{"invalid tag", func() error { _, err := repos.createRef("demo", "refs/tags/a..b", "main"); return err }, "invalid ref"},
		{"unknown revision", func() error { _, err := repos.createRef("demo", "refs/tags/x", "nope"); return err }, "revision nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, tt.err(), tt.want)
		})
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(repos.Root()), "escape.git")); !os.IsNotExist(err) {
		t.Errorf("escape.git was created outside the root: %v", err)
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	repos, _ := newRepos(t)
	repos.CreateRepo(t, "org/team", "")
	// A symlink inside the root to a real repository outside it.
	outside := filepath.Join(filepath.Dir(repos.Root()), "outside.git")
	if _, err := runGit(gitEnv(t.TempDir()), "", nil, "init", "--bare", outside); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(repos.Root(), "link.git")); err != nil {
		t.Fatal(err)
	}
	root, err := filepath.EvalSymlinks(repos.Root())
	if err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct{ path, want string }{
		{"/demo.git", "demo.git"},
		{"demo.git", "demo.git"},
		{"/demo", "demo.git"},
		{"/org/team.git", "org/team.git"},
		{"/./demo.git", "demo.git"},
	} {
		got, err := repos.resolve(tt.path)
		if err != nil || got != filepath.Join(root, tt.want) {
			t.Errorf("resolve(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
		}
	}
	for _, tt := range []struct{ path, want string }{
		{"", "invalid repository path"},
		{"/", "invalid repository path"},
		{"//etc", "invalid repository path"},
		{"../x", "leaves the server root"},
		{"/../x", "leaves the server root"},
		{"/org/../../x", "leaves the server root"},
		{"/nope.git", "not found"},
		{"/org", "not found"},
		{"/link.git", "leaves the server root"},
		{"/link", "leaves the server root"},
	} {
		_, err := repos.resolve(tt.path)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("resolve(%q) error = %v, want it to mention %q", tt.path, err, tt.want)
		}
	}
}

func TestUnquoteArg(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"'/demo.git'", "/demo.git"},
		{"/demo.git", "/demo.git"},
		{`'/it'\''s.git'`, "/it's.git"},
		{`'/wow'\!'.git'`, "/wow!.git"},
		{"'/with space.git'", "/with space.git"},
		{"''", ""},
	} {
		got, err := unquoteArg(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("unquoteArg(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "'/a", "'/a'x", `'/a'\'`, "/a b", "$(id)", "`id`", "/a|b", "'/a\nb'"} {
		if got, err := unquoteArg(in); err == nil {
			t.Errorf("unquoteArg(%q) = %q, want an error", in, got)
		}
	}
}
