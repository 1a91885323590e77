package cli

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"soll.dev/internal/testenv"
)

// TestAccountCommands drives soll account against soll's API: create,
// list, disable and enable, capabilities, an API token that works until it
// is revoked, and password changes: your own (after which the context is
// logged in again) and another account's.
func TestAccountCommands(t *testing.T) {
	env := testenv.Cluster(t)
	env.InstallCRDs(t)
	_, base := loginAdmin(t, env)
	const alicePassword, aliceNew = "alice's password", "alice's new password"

	wantContains(t, "account create ci", mustRun(t, "account", "create", "ci", "--capability", "apiKey"), "account ci created (capabilities: apiKey)")
	r := soll(t, withStdin(alicePassword+"\n"), "account", "create", "alice", "--password-stdin")
	if r.err != nil {
		t.Fatal(r.err)
	}
	wantContains(t, "account create alice", r.out, "account alice created (capabilities: login)")
	wantContains(t, "account create bob", mustRun(t, "account", "create", "bob"), "it has no password yet: set one with soll account update-password bob")
	wantError(t, soll(t, nil, "account", "create", "alice").err, "account alice already exists on soll at "+base)
	wantError(t, soll(t, nil, "account", "create", "eve", "--capability", "root").err, `--capability "root": want login, apiKey or both`)
	if got := mustRun(t, "account", "list", "-o", "name"); got != "admin\nalice\nbob\nci\n" {
		t.Errorf("account list -o name = %q", got)
	}
	wantContains(t, "account list", mustRun(t, "account", "list"), "NAME", "alice   true      login          set        0", "ci      true      apiKey         none       0")
	wantContains(t, "account get", mustRun(t, "account", "get"), "Name:             admin")
	wantError(t, soll(t, nil, "account", "get", "nope").err, "account nope not found on soll at "+base+": list them with soll account list")

	// An API token works until it is revoked.
	r = soll(t, nil, "account", "generate-token", "ci", "--id", "build", "--expires-in", "1h")
	if r.err != nil {
		t.Fatal(r.err)
	}
	token := strings.TrimSpace(r.out)
	wantContains(t, "generate-token", r.errOut, "token build for account ci, expires at ")
	wantContains(t, "account get as ci", mustRun(t, "account", "get", "--auth-token", token), "Name:             ci", "build")
	wantError(t, soll(t, nil, "account", "generate-token", "alice").err, "soll account set alice --capability apiKey")
	wantError(t, soll(t, nil, "account", "delete-token", "ci", "nope").err, "account ci has no token nope: its tokens are listed by soll account get ci")
	wantContains(t, "delete-token", mustRun(t, "account", "delete-token", "ci", "build"), "token build of account ci revoked")
	testenv.WaitFor(t, "the revoked token to be refused", time.Minute, func() bool {
		return strings.Contains(errText(soll(t, nil, "account", "get", "--auth-token", token).err), "HTTP 401")
	})

	// Disabled, alice cannot log in; enabled again, she can.
	wantContains(t, "disable", mustRun(t, "account", "disable", "alice"), "account alice disabled")
	wantError(t, soll(t, withStdin(alicePassword), "login", base, "--username", "alice", "--password-stdin", "--name", "alice").err, "login refused for alice")
	mustRun(t, "account", "enable", "alice")
	if r = soll(t, withStdin(alicePassword), "login", base, "--username", "alice", "--password-stdin", "--name", "alice"); r.err != nil {
		t.Fatal(r.err)
	}

	// alice, now the current context, changes her own password: the
	// current one is needed, and her context is logged in again.
	wantError(t, soll(t, withStdin(aliceNew), "account", "update-password", "--new-password-stdin").err, "pass --current-password-stdin and --new-password-stdin")
	wantError(t, soll(t, withStdin("wrong password\n"+aliceNew+"\n"), "account", "update-password", "--current-password-stdin", "--new-password-stdin").err,
		"password of alice not changed: the current password is wrong")
	wantError(t, soll(t, withStdin(alicePassword+"\nshort\n"), "account", "update-password", "--current-password-stdin", "--new-password-stdin").err,
		"password of alice not changed: the new password is refused: ")
	wantError(t, soll(t, nil, "account", "disable", "bob").err, "HTTP 403")
	cfgPath := os.Getenv(ConfigEnv)
	before := contextToken(t, cfgPath, "alice")
	r = soll(t, withStdin(alicePassword+"\n"+aliceNew+"\n"), "account", "update-password", "--current-password-stdin", "--new-password-stdin")
	if r.err != nil {
		t.Fatal(r.err)
	}
	wantContains(t, "update-password", r.out, "password of alice changed", "context alice is logged in again")
	if after := contextToken(t, cfgPath, "alice"); after == before || after == "" {
		t.Error("the context's token was not replaced")
	}
	wantContains(t, "account get after the change", mustRun(t, "account", "get"), "Name:             alice")
	wantError(t, soll(t, nil, "account", "get", "--auth-token", before).err, "HTTP 401")

	// admin sets alice's password without the current one.
	wantError(t, soll(t, withStdin("x\ny\n"), "account", "update-password", "alice", "--context", "local", "--current-password-stdin", "--new-password-stdin").err,
		"drop --current-password-stdin")
	wantContains(t, "update-password as admin", soll(t, withStdin("set by admin\n"), "account", "update-password", "alice", "--context", "local", "--new-password-stdin").out,
		"password of alice set")
	if r = soll(t, withStdin("set by admin"), "login", base, "--username", "alice", "--password-stdin", "--name", "alice"); r.err != nil {
		t.Fatalf("login with the password admin set: %v", r.err)
	}

	wantContains(t, "account set", mustRun(t, "account", "set", "ci", "--capability", "apiKey,login", "--context", "local"), "account ci now has the capabilities apiKey,login")
	wantContains(t, "account delete", mustRun(t, "account", "delete", "ci", "--context", "local"), "account ci deleted")
	wantError(t, soll(t, nil, "account", "get", "ci", "--context", "local").err, "account ci not found")
}

func contextToken(t *testing.T, path, name string) string {
	t.Helper()
	cfg, err := loadConfig(path, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.context(name)
	if c == nil {
		t.Fatalf("no context %s", name)
	}
	return c.Token
}
