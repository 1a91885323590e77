package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	out, err := exec.Command(sollBin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("soll version: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "soll v0.0.0-e2e (e2ecommit, 2026-12-01T00:00:00Z) go1.") {
		t.Errorf("soll version printed %q, want the version, commit and date stamped at link time, and the Go version", out)
	}

	out, err = exec.Command(sollBin, "version", "--output", "json").Output()
	if err != nil {
		t.Fatalf("soll version -o json: %v", err)
	}
	var info struct{ Version, Commit, Date, GoVersion string }
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
	if info.Version != "v0.0.0-e2e" || info.Commit != "e2ecommit" || info.Date != "2026-12-01T00:00:00Z" || !strings.HasPrefix(info.GoVersion, "go1.") {
		t.Errorf("unexpected version JSON %s", out)
	}
}

func TestUnknownCommandFails(t *testing.T) {
	cmd := exec.Command(sollBin, "no-such-command")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("soll no-such-command succeeded: %s", out)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("exit: %v, want status 1", err)
	}
	if !strings.Contains(string(out), `unknown command "no-such-command"`) {
		t.Errorf("output %q does not name the unknown command", out)
	}
}

func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string]string{
		"bash":       "complete -o default -F __start_soll soll",
		"zsh":        "#compdef soll",
		"fish":       "complete -c soll ",
		"powershell": "Register-ArgumentCompleter -CommandName 'soll'",
	} {
		out, err := exec.Command(sollBin, "completion", shell).Output()
		if err != nil {
			t.Fatalf("soll completion %s: %v", shell, err)
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("soll completion %s lacks %q", shell, want)
		}
	}
}
