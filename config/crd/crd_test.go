package crd_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"sigs.k8s.io/yaml"

	"soll.dev/api/v1alpha1"
	"soll.dev/config/crd"
)

// loadCRDs parses the embedded CRDs, keyed by kind.
func loadCRDs(t *testing.T) map[string]*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	docs, err := crd.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]*apiextensionsv1.CustomResourceDefinition{}
	for _, doc := range docs {
		c := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(doc, c); err != nil {
			t.Fatalf("parse CRD: %v\n%s", err, firstLines(doc, 10))
		}
		byKind[c.Spec.Names.Kind] = c
	}
	return byKind
}

func firstLines(b []byte, n int) string {
	lines := strings.SplitN(string(b), "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

func TestCRDsDescribeTheAPI(t *testing.T) {
	crds := loadCRDs(t)
	want := map[string]struct {
		plural     string
		shortNames []string
		columns    []string
	}{
		"Application": {"applications", []string{"app", "apps"}, []string{"Project", "Sync", "Health", "Revision", "Operation", "Age"}},
		"Project":     {"projects", []string{"proj"}, []string{"Description", "Age"}},
		"Cluster":     {"clusters", []string{"scl"}, []string{"Server", "Reachable", "Version", "Apps", "Age"}},
	}
	if len(crds) != len(want) {
		t.Errorf("got %d CRDs, want %d", len(crds), len(want))
	}
	for kind, w := range want {
		c := crds[kind]
		if c == nil {
			t.Errorf("no CRD for kind %s", kind)
			continue
		}
		if got, want := c.Name, w.plural+"."+v1alpha1.GroupVersion.Group; got != want {
			t.Errorf("%s: name %q, want %q", kind, got, want)
		}
		if c.Spec.Group != v1alpha1.GroupVersion.Group {
			t.Errorf("%s: group %q, want %q", kind, c.Spec.Group, v1alpha1.GroupVersion.Group)
		}
		if c.Spec.Scope != apiextensionsv1.NamespaceScoped {
			t.Errorf("%s: scope %q, want Namespaced", kind, c.Spec.Scope)
		}
		if diff := cmp.Diff(w.shortNames, c.Spec.Names.ShortNames); diff != "" {
			t.Errorf("%s: short names (-want +got):\n%s", kind, diff)
		}
		if !slices.Contains(c.Spec.Names.Categories, "soll") {
			t.Errorf("%s: categories %v lack \"soll\"", kind, c.Spec.Names.Categories)
		}
		if len(c.Spec.Versions) != 1 {
			t.Fatalf("%s: %d versions, want 1", kind, len(c.Spec.Versions))
		}
		v := c.Spec.Versions[0]
		if v.Name != v1alpha1.GroupVersion.Version || !v.Served || !v.Storage {
			t.Errorf("%s: version %q served=%v storage=%v, want %q served and stored",
				kind, v.Name, v.Served, v.Storage, v1alpha1.GroupVersion.Version)
		}
		if v.Subresources == nil || v.Subresources.Status == nil {
			t.Errorf("%s: no status subresource", kind)
		}
		var columns []string
		for _, col := range v.AdditionalPrinterColumns {
			columns = append(columns, col.Name)
		}
		if diff := cmp.Diff(w.columns, columns); diff != "" {
			t.Errorf("%s: printer columns (-want +got):\n%s", kind, diff)
		}
	}
}

// TestCRDsPassAPIServerValidation runs the checks kube-apiserver makes when
// a CRD is created: structural schema, list types, defaults that validate,
// and CEL rules that compile and stay within the cost budget. Without it a
// bad marker would only show when installing into a cluster.
func TestCRDsPassAPIServerValidation(t *testing.T) {
	for kind, c := range loadCRDs(t) {
		internal := &apiextensions.CustomResourceDefinition{}
		if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(c, internal, nil); err != nil {
			t.Fatalf("%s: convert: %v", kind, err)
		}
		// kube-apiserver records the storage version on create; do the same.
		internal.Status.StoredVersions = []string{v1alpha1.GroupVersion.Version}
		if errs := validation.ValidateCustomResourceDefinition(context.Background(), internal); len(errs) > 0 {
			for _, err := range errs {
				t.Errorf("%s: %v", kind, err)
			}
		}
	}
}

// TestDurationFieldsArePatterned makes sure every duration field carries
// the same pattern, since markers cannot share a constant.
func TestDurationFieldsArePatterned(t *testing.T) {
	crds := loadCRDs(t)
	durations := map[string][]string{
		"Application": {
			"spec.refreshInterval",
			"spec.syncPolicy.retry.backoff.duration",
			"spec.syncPolicy.retry.backoff.maxDuration",
			"operation.retry.backoff.duration",
			"operation.retry.backoff.maxDuration",
			"status.operationState.operation.retry.backoff.duration",
		},
		"Project": {
			"spec.syncWindows[].duration",
		},
	}
	for kind, paths := range durations {
		root := crds[kind].Spec.Versions[0].Schema.OpenAPIV3Schema
		for _, path := range paths {
			s := lookup(t, root, path)
			if s.Type != "string" || s.Pattern != v1alpha1.DurationPattern {
				t.Errorf("%s %s: type %q pattern %q, want string with v1alpha1.DurationPattern", kind, path, s.Type, s.Pattern)
			}
		}
		// And no other field uses a stale copy of the pattern.
		walk(root, "", func(path string, s *apiextensionsv1.JSONSchemaProps) {
			if strings.Contains(s.Pattern, "ms|s|m|h") && s.Pattern != v1alpha1.DurationPattern {
				t.Errorf("%s %s: duration pattern %q differs from v1alpha1.DurationPattern", kind, path, s.Pattern)
			}
		})
	}
}

// TestEnumsMatchConstants keeps the Go constants and the schema enums in
// step, so that code never writes a value the API server rejects.
func TestEnumsMatchConstants(t *testing.T) {
	app := loadCRDs(t)["Application"].Spec.Versions[0].Schema.OpenAPIV3Schema
	tests := []struct {
		path string
		want []string
	}{
		{"status.health.status", strs(v1alpha1.HealthHealthy, v1alpha1.HealthProgressing, v1alpha1.HealthDegraded,
			v1alpha1.HealthSuspended, v1alpha1.HealthMissing, v1alpha1.HealthUnknown)},
		{"status.sync.status", strs(v1alpha1.SyncStatusSynced, v1alpha1.SyncStatusOutOfSync, v1alpha1.SyncStatusUnknown)},
		{"status.operationState.phase", strs(v1alpha1.OperationRunning, v1alpha1.OperationTerminating,
			v1alpha1.OperationSucceeded, v1alpha1.OperationFailed, v1alpha1.OperationError)},
		{"status.operationState.syncResult.resources[].status", strs(v1alpha1.ResultSynced, v1alpha1.ResultSyncFailed,
			v1alpha1.ResultPruned, v1alpha1.ResultPruneSkipped)},
		{"spec.syncPolicy.syncOptions.prunePropagationPolicy", strs(v1alpha1.PropagationForeground,
			v1alpha1.PropagationBackground, v1alpha1.PropagationOrphan)},
	}
	for _, tt := range tests {
		var got []string
		for _, e := range lookup(t, app, tt.path).Enum {
			got = append(got, strings.Trim(string(e.Raw), `"`))
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s enum (-constants +schema):\n%s", tt.path, diff)
		}
	}
}

func strs[S ~string](values ...S) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// lookup finds the schema at a dotted path; "[]" steps into list items.
func lookup(t *testing.T, s *apiextensionsv1.JSONSchemaProps, path string) *apiextensionsv1.JSONSchemaProps {
	t.Helper()
	for _, part := range strings.Split(path, ".") {
		name, isList := strings.CutSuffix(part, "[]")
		p, ok := s.Properties[name]
		if !ok {
			t.Fatalf("schema has no %s (at %q)", path, name)
		}
		s = &p
		if isList {
			if s.Items == nil || s.Items.Schema == nil {
				t.Fatalf("schema %s: %q is not a list", path, name)
			}
			s = s.Items.Schema
		}
	}
	return s
}

// walk calls fn for s and every schema nested in it.
func walk(s *apiextensionsv1.JSONSchemaProps, path string, fn func(string, *apiextensionsv1.JSONSchemaProps)) {
	fn(path, s)
	for name, p := range s.Properties {
		walk(&p, path+"."+name, fn)
	}
	if s.Items != nil && s.Items.Schema != nil {
		walk(s.Items.Schema, path+"[]", fn)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		walk(s.AdditionalProperties.Schema, path+"{}", fn)
	}
}
