package health

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// Fixture annotations: what a testdata file expects. They are removed before
// the check, so scripts and checks never see them.
const (
	expectStatus   = "health.soll.dev/expect-status"  // required
	expectMessage  = "health.soll.dev/expect-message" // exact; "" when absent
	expectContains = "health.soll.dev/expect-message-contains"
	expectError    = "health.soll.dev/expect-error" // "true": Check returns an error
	fixtureSlow    = "health.soll.dev/slow"         // "true": runs into a limit; left out of TestConcurrentCheck
)

// fixture is one testdata/**/*.yaml file: one object and what its health is.
// A health.lua next to the file is registered as the custom check for the
// object's group and kind.
type fixture struct {
	name     string
	obj      *unstructured.Unstructured
	want     Result
	contains bool // want.Message is a substring, not the whole message
	wantErr  bool
	slow     bool
	script   string
}

func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	var fixtures []fixture
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".yaml" {
			return err
		}
		f, err := readFixture(path)
		if err != nil {
			return fmt.Errorf("fixture %s: %w", path, err)
		}
		fixtures = append(fixtures, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(fixtures) == 0 {
		t.Fatal("no fixtures under testdata")
	}
	return fixtures
}

func readFixture(path string) (fixture, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return fixture{}, err
	}
	obj := &unstructured.Unstructured{}
	// Through JSON, so numbers decode as int64 the way the API client does.
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return fixture{}, err
	}
	if err := obj.UnmarshalJSON(js); err != nil {
		return fixture{}, err
	}
	ann := obj.GetAnnotations()
	status, ok := ann[expectStatus]
	if !ok {
		return fixture{}, fmt.Errorf("annotation %s is missing", expectStatus)
	}
	f := fixture{
		name:    strings.TrimSuffix(strings.TrimPrefix(filepath.ToSlash(path), "testdata/"), ".yaml"),
		obj:     obj,
		want:    Result{Status: Status(status), Message: ann[expectMessage]},
		wantErr: ann[expectError] == "true",
		slow:    ann[fixtureSlow] == "true",
	}
	if s, ok := ann[expectContains]; ok {
		f.want.Message, f.contains = s, true
	}
	for _, k := range []string{expectStatus, expectMessage, expectContains, expectError, fixtureSlow} {
		delete(ann, k)
	}
	if len(ann) == 0 {
		ann = nil
	}
	obj.SetAnnotations(ann)
	script, err := os.ReadFile(filepath.Join(filepath.Dir(path), "health.lua"))
	switch {
	case err == nil:
		f.script = string(script)
	case !os.IsNotExist(err):
		return fixture{}, err
	}
	return f, nil
}

func (f fixture) checker(t testing.TB) *Checker {
	t.Helper()
	var opts Options
	if f.script != "" {
		opts.Scripts = map[schema.GroupKind]string{f.obj.GroupVersionKind().GroupKind(): f.script}
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// verify checks one result against the fixture and returns what is wrong.
func (f fixture) verify(got Result, err error) string {
	var problems []string
	if f.wantErr != (err != nil) {
		problems = append(problems, fmt.Sprintf("error = %v, want error: %t", err, f.wantErr))
	}
	if got.Status != f.want.Status {
		problems = append(problems, fmt.Sprintf("status = %q, want %q", got.Status, f.want.Status))
	}
	if f.contains && !strings.Contains(got.Message, f.want.Message) {
		problems = append(problems, fmt.Sprintf("message = %q, want it to contain %q", got.Message, f.want.Message))
	}
	if !f.contains && got.Message != f.want.Message {
		problems = append(problems, fmt.Sprintf("message:\n got %q\nwant %q", got.Message, f.want.Message))
	}
	return strings.Join(problems, "\n")
}

func TestFixtures(t *testing.T) {
	for _, f := range loadFixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			before := f.obj.DeepCopy()
			got, err := f.checker(t).Check(f.obj)
			if p := f.verify(got, err); p != "" {
				t.Error(p)
			}
			if diff := cmp.Diff(before.Object, f.obj.Object); diff != "" {
				t.Errorf("Check modified the object (-before +after):\n%s", diff)
			}
		})
	}
}

// Every built-in kind has fixtures for its main outcomes.
func TestFixturesCoverBuiltins(t *testing.T) {
	dirs := map[string]bool{}
	for _, f := range loadFixtures(t) {
		dirs[strings.Split(f.name, "/")[0]] = true
	}
	for _, dir := range []string{
		"deployment", "statefulset", "daemonset", "replicaset", "pod", "job", "cronjob", "service",
		"ingress", "pvc", "hpa", "apiservice", "namespace", "crd", "generic", "lua",
	} {
		if !dirs[dir] {
			t.Errorf("no fixtures in testdata/%s", dir)
		}
	}
}

// Every kind with a built-in check has at least one fixture, and every
// project's main kinds have one per status they can reach.
func TestFixturesCoverBuiltinKinds(t *testing.T) {
	have := map[schema.GroupKind]map[Status]bool{}
	for _, f := range loadFixtures(t) {
		if f.script != "" {
			continue
		}
		gk := f.obj.GroupVersionKind().GroupKind()
		if have[gk] == nil {
			have[gk] = map[Status]bool{}
		}
		have[gk][f.want.Status] = true
	}
	for gk := range builtins {
		if len(have[gk]) == 0 {
			t.Errorf("no fixture for the built-in check of %s", gk)
		}
	}
	all := []Status{Healthy, Progressing, Degraded}
	withSuspend := []Status{Healthy, Progressing, Degraded, Suspended}
	for gk, statuses := range map[schema.GroupKind][]Status{
		{Group: "argoproj.io", Kind: "Rollout"}:                       withSuspend,
		{Group: "argoproj.io", Kind: "Workflow"}:                      withSuspend,
		{Group: "cert-manager.io", Kind: "Certificate"}:               all,
		{Group: "cert-manager.io", Kind: "CertificateRequest"}:        all,
		{Group: "cert-manager.io", Kind: "ClusterIssuer"}:             all,
		{Group: "kustomize.toolkit.fluxcd.io", Kind: "Kustomization"}: withSuspend,
		{Group: "helm.toolkit.fluxcd.io", Kind: "HelmRelease"}:        withSuspend,
		{Group: "external-secrets.io", Kind: "ExternalSecret"}:        all,
		{Group: "s3.aws.upbound.io", Kind: "Bucket"}:                  withSuspend,
		{Group: "pkg.crossplane.io", Kind: "Provider"}:                all,
		{Group: "keda.sh", Kind: "ScaledObject"}:                      withSuspend,
		{Group: "serving.knative.dev", Kind: "Service"}:               all,
		{Group: "kafka.strimzi.io", Kind: "Kafka"}:                    withSuspend,
		{Group: "kubevirt.io", Kind: "VirtualMachine"}:                withSuspend,
		{Group: "kubevirt.io", Kind: "VirtualMachineInstance"}:        withSuspend,
		{Group: "monitoring.coreos.com", Kind: "Prometheus"}:          withSuspend,
		{Group: "bitnami.com", Kind: "SealedSecret"}:                  all,
		{Group: "velero.io", Kind: "Backup"}:                          all,
		{Group: "velero.io", Kind: "Schedule"}:                        {Healthy, Degraded, Suspended},
		{Group: "tekton.dev", Kind: "PipelineRun"}:                    withSuspend,
		{Group: "gateway.networking.k8s.io", Kind: "Gateway"}:         all,
		{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"}:       all,
		{Group: "networking.istio.io", Kind: "VirtualService"}:        {Healthy, Degraded},
	} {
		for _, s := range statuses {
			if !have[gk][s] {
				t.Errorf("no %s fixture for %s", s, gk)
			}
		}
	}
}

// A user's Lua script replaces the built-in check of its kind, whether the
// key names the kind exactly or by a pattern.
func TestScriptOverridesBuiltin(t *testing.T) {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
		"metadata": map[string]any{"name": "web", "namespace": "shop"},
		"status":   map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": "False", "reason": "Failed", "message": "boom"}}},
	}}
	plain, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := plain.Check(obj); got.Status != Degraded {
		t.Fatalf("built-in check = %+v, want Degraded", got)
	}
	script := `return {status = "Suspended", message = "from the script"}`
	for _, gk := range []schema.GroupKind{
		{Group: "cert-manager.io", Kind: "Certificate"},
		{Group: "*.io", Kind: "*"},
	} {
		c, err := New(Options{Scripts: map[schema.GroupKind]string{gk: script}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Check(obj)
		if err != nil || got != (Result{Status: Suspended, Message: "from the script"}) {
			t.Errorf("with a script for %s: Check = %+v, %v; want the script's result", gk, got, err)
		}
	}
}

func TestMissing(t *testing.T) {
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Check(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != Missing {
		t.Errorf("Check(nil) = %+v, want status Missing", got)
	}
}

func TestNoKind(t *testing.T) {
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Check(&unstructured.Unstructured{Object: map[string]any{}})
	if err == nil || got.Status != Unknown {
		t.Errorf("Check(no kind) = %+v, %v; want Unknown and an error", got, err)
	}
}

// A built-in check that cannot decode the object says so and names it.
func TestDecodeError(t *testing.T) {
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "shop"},
		"spec":     map[string]any{"replicas": "three"},
	}}
	got, err := c.Check(obj)
	if err == nil || got.Status != Unknown {
		t.Fatalf("Check = %+v, %v; want Unknown and an error", got, err)
	}
	if want := `check health of Deployment.apps "shop/web": decode Deployment: `; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %q, want prefix %q", err, want)
	}
	if !strings.HasPrefix(got.Message, "Decode Deployment: ") {
		t.Errorf("message = %q, want prefix %q", got.Message, "Decode Deployment: ")
	}
}

func TestWorst(t *testing.T) {
	tests := []struct {
		in   []Status
		want Status
	}{
		{nil, Healthy},
		{[]Status{Healthy}, Healthy},
		{[]Status{Healthy, Suspended}, Suspended},
		{[]Status{Suspended, Progressing, Healthy}, Progressing},
		{[]Status{Progressing, Unknown}, Unknown},
		{[]Status{Unknown, Missing}, Missing},
		{[]Status{Missing, Degraded, Healthy}, Degraded},
		{[]Status{Degraded, Unknown}, Degraded},
		{[]Status{Healthy, "Bogus"}, Unknown},
		{[]Status{""}, Unknown},
		{[]Status{Degraded, Healthy, Suspended, Progressing, Missing, Unknown}, Degraded},
	}
	for _, tt := range tests {
		if got := Worst(tt.in...); got != tt.want {
			t.Errorf("Worst(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// The order is total: each status is worse than all before it.
	order := []Status{Healthy, Suspended, Progressing, Unknown, Missing, Degraded}
	for i, better := range order {
		for _, worse := range order[i:] {
			if got := Worst(worse, better); got != worse {
				t.Errorf("Worst(%q, %q) = %q, want %q", worse, better, got, worse)
			}
		}
	}
}

// One Checker with every custom check serves many goroutines at once; run
// with -race.
func TestConcurrentCheck(t *testing.T) {
	fixtures := slices.DeleteFunc(loadFixtures(t), func(f fixture) bool { return f.slow })
	// One Checker per fixture, each shared by all workers: fixtures in
	// testdata/lua override built-in kinds, so they cannot share one.
	checkers := make([]*Checker, len(fixtures))
	for i, f := range fixtures {
		checkers[i] = f.checker(t)
	}
	const workers, rounds = 16, 3
	var wg sync.WaitGroup
	errs := make(chan string, workers*rounds*len(fixtures))
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				for i := range fixtures {
					n := (i + w*7 + r) % len(fixtures)
					f := fixtures[n]
					got, err := checkers[n].Check(f.obj)
					if p := f.verify(got, err); p != "" {
						errs <- f.name + ": " + p
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func BenchmarkCheckDeployment(b *testing.B) {
	f, err := readFixture("testdata/deployment/progressing-rollout.yaml")
	if err != nil {
		b.Fatal(err)
	}
	c := f.checker(b)
	for b.Loop() {
		if _, err := c.Check(f.obj); err != nil {
			b.Fatal(err)
		}
	}
}
