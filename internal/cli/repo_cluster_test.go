package cli

import (
	"strings"
	"testing"

	"soll.dev/internal/testenv"
	"soll.dev/internal/testenv/gitserver"
)

// TestRepoCommands drives soll repo against soll's API and a Git server
// with basic auth: credentials are tested and saved from stdin, tested
// (saved and unsaved) and listed without any secret value; a wrong
// password fails the test with exit status 1, is not saved unless
// --skip-test says so, and appears nowhere.
func TestRepoCommands(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	_, base := loginAdmin(t, env)
	const password, wrong = "git-secret-passw0rd", "wrong-passw0rd-guess"
	git := gitserver.NewHTTP(t, gitserver.HTTPOptions{Username: "git-user", Password: password})
	git.CreateRepo(t, "private", "")
	head := git.Commit(t, "private", gitserver.DefaultBranch, gitserver.Change{Message: "v1", Files: map[string]string{"a.yaml": "a: 1\n"}})
	url := git.HTTPURL("private")

	// Everything the commands print goes through this check.
	var printed []string
	run := func(stdin string, args ...string) cliResult {
		t.Helper()
		r := soll(t, withStdin(stdin), args...)
		printed = append(printed, r.out, r.errOut, errText(r.err))
		return r
	}

	wantError(t, run("", "repo", "add", url).err, "give the credentials: --username (with --password-stdin)")
	wantError(t, run(password, "repo", "add", url, "--password-stdin").err, "--password-stdin needs --username")
	wantError(t, run("", "repo", "add", url, "--username", "git-user").err, "no terminal to ask for the password of git-user: give it on standard input with --password-stdin")

	// repo add tests before it saves: a wrong password is refused and
	// nothing is saved.
	r := run(wrong+"\n", "repo", "add", url, "--username", "git-user", "--password-stdin")
	if ExitCode(r.err) != 1 {
		t.Fatalf("repo add with a wrong password: exit %d (%v), want 1", ExitCode(r.err), r.err)
	}
	wantError(t, r.err, "test of "+url+" failed, so the credentials are not saved: resolve revision \"HEAD\": authentication failed for "+url)
	wantError(t, r.err, "or save them untested with --skip-test")
	if r = run("", "repo", "list"); r.out != "" {
		t.Fatalf("a refused repo add saved credentials:\n%s", r.out)
	}

	r = run(password+"\n", "repo", "add", url, "--username", "git-user", "--password-stdin")
	if r.err != nil {
		t.Fatal(r.err)
	}
	wantContains(t, "repo add", r.out, url+": connected: Git repository, HEAD is "+head+"\n",
		"credentials of "+url+" (username git-user and password) saved in Secret repo-")
	fields := strings.Fields(r.out)
	name := fields[len(fields)-1] // "... saved in Secret NAME"
	wantError(t, run(password, "repo", "add", url, "--username", "git-user", "--password-stdin").err, "pass --upsert to replace its credentials")

	wantContains(t, "repo list", run("", "repo", "list").out, "NAME", name, "repository", url, "username git-user and password")
	wantContains(t, "repo list -o json", run("", "repo", "list", "-o", "json").out, `"hasPassword": true`, `"username": "git-user"`)
	if got := run("", "repo", "list", "-o", "name").out; got != name+"\n" {
		t.Errorf("repo list -o name = %q, want %q", got, name+"\n")
	}

	// Saved credentials, by name and by URL; unsaved ones from stdin.
	wantContains(t, "repo test NAME", run("", "repo", "test", name).out, url+" with the credentials of Secret "+name+": connected: Git repository, HEAD is "+head)
	wantContains(t, "repo test URL", run("", "repo", "test", url).out, "connected: Git repository, HEAD is "+head)
	wantContains(t, "repo test unsaved", run(password, "repo", "test", url, "--username", "git-user", "--password-stdin").out, "connected")
	r = run(wrong+"\n", "repo", "test", url, "--username", "git-user", "--password-stdin")
	if ExitCode(r.err) != 1 {
		t.Fatalf("repo test with a wrong password: exit %d (%v), want 1", ExitCode(r.err), r.err)
	}
	wantError(t, r.err, "test of "+url+" failed: ")

	// --upsert tests too: wrong credentials do not replace good ones.
	if r = run(wrong, "repo", "add", url, "--username", "git-user", "--password-stdin", "--upsert"); ExitCode(r.err) != 1 {
		t.Fatalf("repo add --upsert with a wrong password: exit %d (%v), want 1", ExitCode(r.err), r.err)
	}
	wantContains(t, "repo test after a refused upsert", run("", "repo", "test", name).out, "connected: Git repository, HEAD is "+head)
	// --skip-test saves without a test; saved wrong credentials then
	// fail the test.
	wantContains(t, "repo add --upsert --skip-test", run(wrong, "repo", "add", url, "--username", "git-user", "--password-stdin", "--upsert", "--skip-test").out,
		"credentials of "+url+" (username git-user and password) saved in Secret "+name+" without a test: test them with soll repo test "+name)
	if r = run("", "repo", "test", name); ExitCode(r.err) != 1 {
		t.Fatalf("repo test of wrong saved credentials: exit %d (%v), want 1", ExitCode(r.err), r.err)
	}
	wantError(t, run("", "repo", "test", "nope").err, "repository nope not found on soll at "+base+": list them with soll repo list")
	wantError(t, run("", "repo", "test", "https://git.example.com/other.git").err, "no saved credentials serve https://git.example.com/other.git")
	wantError(t, run(password, "repo", "test", name, "--username", "git-user", "--password-stdin").err, name+" is not a repository URL")

	wantContains(t, "repo rm", run("", "repo", "rm", url).out, "credentials of "+url+" deleted (Secret "+name+")")
	if r = run("", "repo", "list"); r.out != "" || !strings.Contains(r.errOut, "no repository credentials on soll at "+base) {
		t.Errorf("repo list after rm: %+v", r)
	}
	wantError(t, run("", "repo", "rm", name).err, "repository "+name+" not found")

	// A template is saved untested, or tested with --test-url.
	wantContains(t, "repo add --template", run(wrong, "repo", "add", "https://git.example.com/team/", "--template", "--username", "git-user", "--password-stdin").out,
		"saved in Secret creds-", " without a test: test them with soll repo test URL, the URL of a repository under https://git.example.com/team/")
	wantError(t, run(wrong, "repo", "add", git.URL, "--template", "--test-url", url, "--username", "git-user", "--password-stdin").err,
		"test of "+url+" failed, so the credentials are not saved")
	wantContains(t, "repo add --template --test-url", run(password, "repo", "add", git.URL, "--template", "--test-url", url, "--username", "git-user", "--password-stdin").out,
		url+": connected: Git repository, HEAD is "+head, "credentials of "+git.URL+" (username git-user and password) saved in Secret creds-")
	wantError(t, run(password, "repo", "add", git.URL, "--template", "--test-url", "https://elsewhere.example.com/app.git", "--username", "git-user", "--password-stdin").err,
		"--test-url https://elsewhere.example.com/app.git is not under "+git.URL)
	wantError(t, run(password, "repo", "add", url, "--test-url", url, "--username", "git-user", "--password-stdin").err, "--test-url is for --template")
	wantError(t, run(password, "repo", "add", git.URL, "--template", "--test-url", url, "--skip-test", "--username", "git-user", "--password-stdin").err,
		"give one of them")

	// Credentials for one Project, which must exist; not shared as well.
	wantError(t, run(password, "repo", "add", url, "--project", "team-x", "--username", "git-user", "--password-stdin").err,
		"Project team-x does not exist")
	wantError(t, run(password, "repo", "add", url, "--project", "team-x", "--shared", "--username", "git-user", "--password-stdin").err,
		"--project team-x saves credentials for that Project only, and --shared for every Project: give one of them")
	run("", "proj", "create", "team-x", "--source", "*", "--dest", "*,*")
	wantContains(t, "repo add --project", run(password, "repo", "add", url, "--project", "team-x", "--username", "git-user", "--password-stdin").out,
		"credentials of "+url+" (username git-user and password) for project team-x saved in Secret repo-")
	wantContains(t, "repo add --shared", run(password, "repo", "add", url, "--shared", "--skip-test", "--username", "git-user", "--password-stdin").out,
		"credentials of "+url+" (username git-user and password) for every project saved in Secret repo-")
	wantContains(t, "repo list with projects", run("", "repo", "list").out, "PROJECT", "team-x", "(all, shared)")
	// Two Secrets serve the URL now: commands by URL ask for a name.
	for _, cmd := range []string{"test", "rm"} {
		wantError(t, run("", "repo", cmd, url).err, "several saved credentials serve "+url+": repo-")
		wantError(t, run("", "repo", cmd, url).err, "(project team-x)")
	}

	for _, p := range printed {
		for _, secret := range []string{password, wrong} {
			if strings.Contains(p, secret) {
				t.Errorf("the CLI printed the password %q:\n%s", secret, p)
			}
		}
	}
}
