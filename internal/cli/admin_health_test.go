package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"soll.dev/internal/health"
)

// runSollStdin runs soll with args and stdin, returning stdout.
func runSollStdin(stdin string, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), newGlobals(strings.NewReader(stdin)), args, &out, &errOut)
	return out.String(), err
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const failedKustomization = `# A Flux Kustomization whose build failed.
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
  generation: 2
spec:
  path: ./apps
status:
  observedGeneration: 2
  conditions:
  - type: Ready
    status: "False"
    reason: BuildFailed
    message: "kustomize build failed: missing resource"
`

func TestAdminHealthCheckBuiltin(t *testing.T) {
	path := writeTemp(t, "ks.yaml", failedKustomization)
	out, err := runSoll("admin", "health", "check", "--object", path)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	if want := "Degraded\nkustomize build failed: missing resource\n"; out != want {
		t.Errorf("check printed %q, want %q", out, want)
	}

	out, err = runSoll("admin", "health", "check", "--object", path, "-o", "json")
	if err != nil {
		t.Fatalf("check -o json: %v", err)
	}
	var res health.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("check -o json printed %q: %v", out, err)
	}
	if res != (health.Result{Status: health.Degraded, Message: "kustomize build failed: missing resource"}) {
		t.Errorf("check -o json = %+v", res)
	}

	// The same object from standard input, as JSON.
	out, err = runSollStdin(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`, "admin", "health", "check", "--object", "-")
	if err != nil || out != "Healthy\n" {
		t.Errorf("check --object - = %q, %v; want Healthy", out, err)
	}
}

func TestAdminHealthCheckScript(t *testing.T) {
	obj := writeTemp(t, "ks.yaml", failedKustomization)
	script := writeTemp(t, "health.lua", `
local hs = {status = "Healthy", message = "overridden"}
if obj.status.conditions[1].reason == "BuildFailed" then
  hs.message = "overridden: " .. obj.status.conditions[1].message
end
return hs
`)
	out, err := runSoll("admin", "health", "check", "--object", obj, "--script", script)
	if err != nil {
		t.Fatalf("check --script: %v", err)
	}
	if want := "Healthy\noverridden: kustomize build failed: missing resource\n"; out != want {
		t.Errorf("check --script printed %q, want %q", out, want)
	}

	// A script that fails: the Unknown result is printed and the command fails.
	bad := writeTemp(t, "bad.lua", `error("no luck")`)
	out, err = runSoll("admin", "health", "check", "--object", obj, "--script", bad)
	if ExitCode(err) != 1 || !strings.Contains(err.Error(), "no luck") {
		t.Errorf("check with a failing script: err = %v, want exit 1 naming the script's error", err)
	}
	if !strings.HasPrefix(out, "Unknown\n") {
		t.Errorf("check with a failing script printed %q, want Unknown first", out)
	}

	// A script that does not compile.
	if _, err := runSoll("admin", "health", "check", "--object", obj, "--script", writeTemp(t, "syntax.lua", "return {")); err == nil || !strings.Contains(err.Error(), "compile") {
		t.Errorf("check with a script that does not compile = %v, want a compile error", err)
	}
}

func TestAdminHealthCheckErrors(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, bytes.Repeat([]byte("#"), maxHealthObjectSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no object", []string{}, "--object is required"},
		{"missing file", []string{"--object", filepath.Join(dir, "nope.yaml")}, "--object: open"},
		{"two objects", []string{"--object", writeTemp(t, "two.yaml", "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: Secret\n")}, "holds 2 YAML documents"},
		{"empty", []string{"--object", writeTemp(t, "empty.yaml", "# nothing\n---\n")}, "holds no object"},
		{"no kind", []string{"--object", writeTemp(t, "nokind.yaml", "metadata:\n  name: x\n")}, "needs apiVersion and kind"},
		{"too large", []string{"--object", big}, "larger than 4096 KiB"},
		{"bad output", []string{"--object", writeTemp(t, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\n"), "-o", "yaml"}, `unknown output format "yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runSoll(append([]string{"admin", "health", "check"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestAdminHealthTestPasses(t *testing.T) {
	out, err := runSoll("admin", "health", "test", "testdata/argo-health")
	if err != nil {
		t.Fatalf("test: %v\n%s", err, out)
	}
	for _, want := range []string{
		"PASS  db.example.com/Database/testdata/failed.yaml: Degraded \"volume quota exceeded: 100Gi requested, 50Gi left\"\n",
		"PASS  db.example.com/Database/testdata/paused.yaml: Suspended \"Database is paused\"\n",
		// Without health.lua the built-in check runs.
		"PASS  kafka.strimzi.io/Kafka/testdata/creating.yaml: Progressing \"Kafka cluster is being deployed\"\n",
		// core is the core group.
		"PASS  core/ConfigMap/testdata/empty.yaml: Progressing \"Waiting for the endpoint to be written\"\n",
		"\n9 passed, 0 failed\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "FAIL") {
		t.Errorf("output has failures:\n%s", out)
	}

	// One kind's directory on its own.
	out, err = runSoll("admin", "health", "test", "testdata/argo-health/db.example.com/Database")
	if err != nil || !strings.HasSuffix(out, "\n5 passed, 0 failed\n") || !strings.Contains(out, "PASS  testdata/argo-health/db.example.com/Database/testdata/ready.yaml") {
		t.Errorf("test of one directory = %v:\n%s", err, out)
	}
}

func TestAdminHealthTestFailures(t *testing.T) {
	out, err := runSoll("admin", "health", "test", "testdata/argo-health-failing")
	if ExitCode(err) != 1 || err.Error() != "7 of 8 health test cases failed" {
		t.Errorf("err = %v (exit %d), want exit 1 and 7 of 8 failed", err, ExitCode(err))
	}
	for _, want := range []string{
		"FAIL  example.com/Broken: health_test.yaml is not valid: ",
		`unknown field "inputPaht"`,
		"PASS  example.com/Widget/testdata/ready.yaml: Healthy \"Widget is ready\"\n",
		"FAIL  example.com/Widget/testdata/broken.yaml\n      want Healthy \"Widget is ready\"\n      got  Degraded \"Widget is broken\"\n",
		"FAIL  example.com/Widget/testdata/ready.yaml\n      want Healthy \"Widget is fine\"\n      got  Healthy \"Widget is ready\"\n",
		"FAIL  example.com/Widget/testdata/missing.yaml: tests[3].inputPath \"testdata/missing.yaml\": no such file next to health_test.yaml\n",
		"tests[4].inputPath \"../../../argo-health/core/ConfigMap/testdata/filled.yaml\" must be a relative path inside the directory of health_test.yaml\n",
		"FAIL  example.com/Widget/testdata/other-kind.yaml: the object is a Gadget.example.com but the directory is for Widget.example.com",
		"FAIL  example.com/Widget/testdata/explodes.yaml\n      want Healthy\n      got  Unknown \"Lua health check for Widget.example.com failed: health.lua:5: the widget exploded\"\n",
		"\n1 passed, 7 failed\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestAdminHealthTestNoTests(t *testing.T) {
	dir := t.TempDir()
	if _, err := runSoll("admin", "health", "test", dir); err == nil || !strings.Contains(err.Error(), "no health_test.yaml under") {
		t.Errorf("test of an empty directory = %v, want an error saying there are no tests", err)
	}
	file := writeTemp(t, "x.yaml", "tests: []\n")
	if _, err := runSoll("admin", "health", "test", file); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("test of a file = %v, want an error saying it is not a directory", err)
	}
	empty := filepath.Join(dir, "example.com", "Thing")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(empty, healthTestFile), []byte("tests: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runSoll("admin", "health", "test", dir)
	if ExitCode(err) != 1 || !strings.Contains(out, "FAIL  example.com/Thing: health_test.yaml has no tests") {
		t.Errorf("test with no cases = %v:\n%s", err, out)
	}
}
