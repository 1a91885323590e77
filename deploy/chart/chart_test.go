package chart_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v4/pkg/action"
	helmchart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	release "helm.sh/helm/v4/pkg/release/v1"
	appsv1 "k8s.io/api/apps/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"soll.dev/config/crd"
	"soll.dev/config/install"
	"soll.dev/deploy/chart"
	"soll.dev/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// chartDir is the chart, beside this package.
const chartDir = chart.Name

// helmLabels are the labels the chart adds to soll install's, the only
// difference the comparison with soll install ignores.
var helmLabels = []string{"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/instance", "app.kubernetes.io/version"}

func loadChart(t *testing.T) *helmchart.Chart {
	t.Helper()
	ch, err := loader.LoadDir(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// render renders the chart with vals for a release soll in namespace ns,
// as helm template --include-crds does, and returns its objects.
func render(t *testing.T, ns string, vals map[string]any) ([]*unstructured.Unstructured, error) {
	t.Helper()
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.NewTextHandler(io.Discard, nil)))
	inst := action.NewInstall(cfg)
	inst.DryRunStrategy = action.DryRunClient
	inst.ReleaseName, inst.Namespace, inst.IncludeCRDs = "soll", ns, true
	rel, err := inst.Run(loadChart(t), vals)
	if err != nil {
		return nil, err
	}
	return parseManifest(t, rel.(*release.Release).Manifest), nil
}

func mustRender(t *testing.T, ns string, vals map[string]any) []*unstructured.Unstructured {
	t.Helper()
	objs, err := render(t, ns, vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return objs
}

func parseManifest(t *testing.T, manifest string) []*unstructured.Unstructured {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			t.Fatalf("rendered manifest: %v\n%s", err, doc)
		}
		if u.Object != nil {
			objs = append(objs, u)
		}
	}
}

// values parses YAML values.
func values(t *testing.T, y string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := yaml.Unmarshal([]byte(y), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func key(o *unstructured.Unstructured) string {
	return o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
}

// withoutHelmLabels drops Helm's labels from o and its pod template.
func withoutHelmLabels(o *unstructured.Unstructured) *unstructured.Unstructured {
	o = o.DeepCopy()
	drop := func(fields ...string) {
		labels, ok, _ := unstructured.NestedStringMap(o.Object, fields...)
		if !ok {
			return
		}
		for _, l := range helmLabels {
			delete(labels, l)
		}
		_ = unstructured.SetNestedStringMap(o.Object, labels, fields...)
	}
	drop("metadata", "labels")
	drop("spec", "template", "metadata", "labels")
	return o
}

// TestDefaultsAreSollInstall: with no values, the chart installs what
// soll install does for the same namespace and image, but the Namespace
// (helm install --create-namespace makes it): the same objects, specs,
// rules and data, differing only by Helm's labels.
func TestDefaultsAreSollInstall(t *testing.T) {
	got := sameAsSollInstall(t, install.Options{Namespace: "gitops", Image: install.DefaultImage}, nil)
	for _, o := range got {
		if o.GetKind() == "PodDisruptionBudget" {
			t.Errorf("one replica, yet a PodDisruptionBudget: a drain could not evict soll's only pod")
		}
	}
}

// TestReplicasAreSollInstall: the chart's replicas install what soll
// install --replicas does: the replicas, a rolling update, and a
// PodDisruptionBudget that lets one pod at a time go.
func TestReplicasAreSollInstall(t *testing.T) {
	got := sameAsSollInstall(t, install.Options{Namespace: "gitops", Image: install.DefaultImage, Replicas: 3}, values(t, "replicas: 3"))
	var dep appsv1.Deployment
	decodeStrict(t, find(t, got, "Deployment", "soll"), &dep)
	if *dep.Spec.Replicas != 3 || dep.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("Deployment: %d replicas, strategy %s; want 3, RollingUpdate", *dep.Spec.Replicas, dep.Spec.Strategy.Type)
	}
	var pdb policyv1.PodDisruptionBudget
	decodeStrict(t, find(t, got, "PodDisruptionBudget", "soll"), &pdb)
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil ||
		pdb.Spec.Selector == nil || pdb.Spec.Selector.MatchLabels["app.kubernetes.io/name"] != "soll" {
		t.Errorf("PodDisruptionBudget %+v, want maxUnavailable 1 over soll's pods", pdb.Spec)
	}
}

// sameAsSollInstall renders the chart with vals into opts.Namespace and
// checks that it installs what soll install does with opts, but the
// Namespace (helm install --create-namespace makes it): the same objects,
// specs, rules and data, differing only by Helm's labels. It returns the
// chart's objects.
func sameAsSollInstall(t *testing.T, opts install.Options, vals map[string]any) []*unstructured.Unstructured {
	t.Helper()
	want, err := install.Objects(opts)
	if err != nil {
		t.Fatal(err)
	}
	want = slices.DeleteFunc(want, func(o *unstructured.Unstructured) bool { return o.GetKind() == "Namespace" })
	got := mustRender(t, opts.Namespace, vals)
	byKey := func(objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
		m := map[string]*unstructured.Unstructured{}
		for _, o := range objs {
			m[key(o)] = withoutHelmLabels(o)
		}
		return m
	}
	wantBy, gotBy := byKey(want), byKey(got)
	if diff := cmp.Diff(slices.Sorted(maps.Keys(wantBy)), slices.Sorted(maps.Keys(gotBy))); diff != "" {
		t.Errorf("objects of soll install and of the chart (-soll install +chart):\n%s", diff)
	}
	for k, w := range wantBy {
		if g, ok := gotBy[k]; ok {
			if diff := cmp.Diff(w.Object, g.Object); diff != "" {
				t.Errorf("%s differs from soll install's (-soll install +chart):\n%s", k, diff)
			}
		}
	}
	// The labels ignored above are Helm's, and they are there.
	for _, o := range got {
		for _, l := range helmLabels {
			if o.GetKind() != "CustomResourceDefinition" && o.GetLabels()[l] == "" {
				t.Errorf("%s lacks the label %s", key(o), l)
			}
		}
	}
	return got
}

// TestLint: helm lint finds nothing to warn about, with the defaults and
// with every value set.
func TestLint(t *testing.T) {
	for name, vals := range map[string]map[string]any{"defaults": nil, "every value": values(t, everyValue)} {
		res := lint.RunAll(chartDir, vals, "soll")
		for _, m := range res.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("%s: %s", name, m)
			} else {
				t.Logf("%s: %s", name, m)
			}
		}
	}
}

// TestCRDsAreGenerated: the chart's crds directory holds config/crd's
// CRDs, byte for byte, and nothing else (make generate writes it).
func TestCRDsAreGenerated(t *testing.T) {
	want, err := crd.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(chartDir, "crds", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	if len(got) != len(want) {
		t.Fatalf("the chart has %d CRD files (%v), config/crd %d: run make generate", len(got), files, len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("%s differs from config/crd: run make generate", files[i])
		}
	}
}

func TestVersion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"v1.2.0", "1.2.0"},
		{"1.2.0", "1.2.0"},
		{"v1.3.0-rc.1", "1.3.0-rc.1"},
		{"v1.2.0-3-g1a2b3c4", "0.0.0-v1.2.0-3-g1a2b3c4"},
		{"v1.2.0-dirty", "0.0.0-v1.2.0-dirty"},
		{"v1.2.0-3-g1a2b3c4-dirty", "0.0.0-v1.2.0-3-g1a2b3c4-dirty"},
		{"6627a1e", "0.0.0-6627a1e"},
		{"6627a1e-dirty", "0.0.0-6627a1e-dirty"},
		{"0123456", "0.0.0-g0123456"},
		{"dev", "0.0.0-dev"},
		{"v1.2.0+build.5", "0.0.0-v1.2.0-build.5"},
		{"feature/x", "0.0.0-feature-x"},
	} {
		got, err := chart.Version(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Version(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := chart.Version(" "); err == nil {
		t.Error("an empty version was accepted")
	}
}

// decodeStrict decodes o into typed, refusing fields the type does not
// have: the API server would drop them silently.
func decodeStrict(t *testing.T, o *unstructured.Unstructured, typed any) {
	t.Helper()
	b, err := json.Marshal(o.Object)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(typed); err != nil {
		t.Fatalf("%s: %v", key(o), err)
	}
}
