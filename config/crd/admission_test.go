package crd_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// admitter runs the same steps kube-apiserver runs on a custom resource it
// receives: prune unknown fields, apply defaults, validate against the
// OpenAPI schema and list types, then evaluate the CEL rules unless an
// earlier error makes that pointless. It lets the tests below check the
// validation markers without a cluster; the integration tests against a
// real API server check the same cases end to end.
type admitter struct {
	structural *structuralschema.Structural
	schema     apiservervalidation.SchemaValidator
	cel        *cel.Validator
}

func newAdmitter(t *testing.T, c *apiextensionsv1.CustomResourceDefinition) *admitter {
	t.Helper()
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(c.Spec.Versions[0].Schema.OpenAPIV3Schema, internal, nil); err != nil {
		t.Fatal(err)
	}
	structural, err := structuralschema.NewStructural(internal)
	if err != nil {
		t.Fatal(err)
	}
	validator, _, err := apiservervalidation.NewSchemaValidator(internal)
	if err != nil {
		t.Fatal(err)
	}
	return &admitter{
		structural: structural,
		schema:     validator,
		cel:        cel.NewValidator(structural, true, celconfig.PerCallLimit),
	}
}

// admit defaults obj in place and returns the validation errors.
func (a *admitter) admit(obj map[string]any) field.ErrorList {
	pruning.Prune(obj, a.structural, true)
	defaulting.Default(obj, a.structural)
	errs := apiservervalidation.ValidateCustomResource(nil, obj, a.schema)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, a.structural, obj)...)
	for _, err := range errs {
		// The API server skips CEL rules after these errors (see
		// hasBlockingErr in k8s.io/apiextensions-apiserver).
		switch err.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return append(errs, field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"))
		}
	}
	celErrs, _ := a.cel.Validate(context.Background(), nil, a.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

// wordpress is the Application of the reference scenario; the cases below
// modify it.
const wordpress = `
apiVersion: soll.dev/v1alpha1
kind: Application
metadata:
  name: wordpress
  namespace: soll
spec:
  source:
    repoURL: https://git.example.com/demo/wordpress.git
    targetRevision: HEAD
    path: wordpress
  destination:
    server: https://kubernetes.default.svc
    namespace: wordpress
`

const project = `
apiVersion: soll.dev/v1alpha1
kind: Project
metadata:
  name: team-a
  namespace: soll
spec:
  sourceRepos: ["https://git.example.com/team-a/*"]
  destinations:
  - name: "*"
    namespace: team-a-*
`

const cluster = `
apiVersion: soll.dev/v1alpha1
kind: Cluster
metadata:
  name: prod
  namespace: soll
spec:
  server: https://prod.example.com:6443
  secretName: cluster-prod
`

func TestAdmission(t *testing.T) {
	crds := loadCRDs(t)
	admitters := map[string]*admitter{
		"Application": newAdmitter(t, crds["Application"]),
		"Project":     newAdmitter(t, crds["Project"]),
		"Cluster":     newAdmitter(t, crds["Cluster"]),
	}
	const notChecked = "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"

	tests := []struct {
		name string
		base string
		// patch is a JSON merge patch (as YAML) applied to base.
		patch string
		// want are the expected errors, as the API server prints them
		// after `... is invalid: `.
		want []string
	}{
		{name: "reference app is valid", base: wordpress},
		{
			name: "full multi-source app is valid",
			base: wordpress,
			patch: `
spec:
  source: null
  sources:
  - repoURL: https://charts.example.com
    chart: wordpress
    targetRevision: 24.x
    helm:
      releaseName: wp
      valueFiles: [$values/wordpress/prod.yaml]
      valuesObject: {replicaCount: 2, image: {tag: "6.5"}}
      parameters: [{name: image.tag, value: "6.5", forceString: true}]
  - repoURL: https://git.example.com/demo/values.git
    ref: values
  - repoURL: https://git.example.com/demo/extras.git
    path: extras
    kustomize:
      images: [{name: nginx, newTag: "1.27"}]
      replicas: [{name: web, count: 3}]
      patches: [{patch: "[{op: add, path: /metadata/labels/x, value: y}]", target: {kind: Deployment}}]
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: {createNamespace: true, prunePropagationPolicy: background}
    retry: {limit: 3, backoff: {duration: 10s, factor: 2, maxDuration: 5m}}
  ignoreDifferences:
  - group: apps
    kind: Deployment
    jsonPointers: [/spec/replicas]
  dependsOn: [{name: mysql}]
  pin: {revisions: ["24.1.0", "0123456789abcdef0123456789abcdef01234567", "main"]}
  refreshInterval: 1m30s
operation:
  sync: {revisions: ["", "", "feature"], prune: true}
  initiatedBy: {username: alice}
status:
  sync: {status: OutOfSync, revision: "24.1.0"}
  health: {status: Progressing}
`,
		},
		{
			name:  "source without repoURL",
			base:  wordpress,
			patch: `{spec: {source: {repoURL: null}}}`,
			want:  []string{`spec.source.repoURL: Required value`, notChecked},
		},
		{
			name:  "both source and sources",
			base:  wordpress,
			patch: `{spec: {sources: [{repoURL: "https://git.example.com/other.git"}]}}`,
			want:  []string{`spec: Invalid value: exactly one of spec.source and spec.sources must be set`},
		},
		{
			name:  "neither source nor sources",
			base:  wordpress,
			patch: `{spec: {source: null}}`,
			want:  []string{`spec: Invalid value: exactly one of spec.source and spec.sources must be set`},
		},
		{
			name:  "missing destination",
			base:  wordpress,
			patch: `{spec: {destination: null}}`,
			want:  []string{`spec.destination: Required value`, notChecked},
		},
		{
			name:  "destination with server and name",
			base:  wordpress,
			patch: `{spec: {destination: {name: in-cluster}}}`,
			want:  []string{`spec.destination: Invalid value: exactly one of destination.server and destination.name must be set`},
		},
		{
			name:  "bad retry backoff duration",
			base:  wordpress,
			patch: `{spec: {syncPolicy: {retry: {backoff: {duration: 5 minutes}}}}}`,
			want: []string{
				`spec.syncPolicy.retry.backoff.duration: Invalid value: "5 minutes": spec.syncPolicy.retry.backoff.duration in body should match '^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$'`,
			},
		},
		{
			name:  "backoff maxDuration below duration",
			base:  wordpress,
			patch: `{spec: {syncPolicy: {retry: {backoff: {duration: 10m}}}}}`, // maxDuration defaults to 3m
			want:  []string{`spec.syncPolicy.retry.backoff: Invalid value: maxDuration must not be shorter than duration`},
		},
		{
			name:  "refresh interval too short",
			base:  wordpress,
			patch: `{spec: {refreshInterval: 5s}}`,
			want:  []string{`spec.refreshInterval: Invalid value: "5s": spec.refreshInterval must be at least 10s`},
		},
		{
			name:  "revision history limit too high",
			base:  wordpress,
			patch: `{spec: {revisionHistoryLimit: 101}}`,
			want:  []string{`spec.revisionHistoryLimit: Invalid value: 101: spec.revisionHistoryLimit in body should be less than or equal to 100`},
		},
		{
			name:  "chart and path",
			base:  wordpress,
			patch: `{spec: {source: {chart: wordpress}}}`,
			want:  []string{`spec.source: Invalid value: chart and path are mutually exclusive: chart is for Helm repositories, path for Git repositories`},
		},
		{
			name:  "helm and kustomize",
			base:  wordpress,
			patch: `{spec: {source: {helm: {}, kustomize: {}}}}`,
			want:  []string{`spec.source: Invalid value: at most one of directory, kustomize, helm, jsonnet and plugin may be set`},
		},
		{
			name:  "duplicate helm parameter",
			base:  wordpress,
			patch: `{spec: {source: {helm: {parameters: [{name: a, value: "1"}, {name: a, value: "2"}]}}}}`,
			want:  []string{`spec.source.helm.parameters[1]: Duplicate value: {"name":"a"}`},
		},
		{
			name:  "pin with wrong number of revisions",
			base:  wordpress,
			patch: `{spec: {pin: {revisions: [a, b]}}}`,
			want:  []string{`spec: Invalid value: spec.pin.revisions must have one entry per source`},
		},
		{
			name:  "duplicate source refs",
			base:  wordpress,
			patch: `{spec: {source: null, sources: [{repoURL: "https://a", ref: v}, {repoURL: "https://b", ref: v}]}}`,
			want:  []string{`spec.sources: Invalid value: the ref names of spec.sources must be unique`},
		},
		{
			name:  "bad prune propagation policy",
			base:  wordpress,
			patch: `{spec: {syncPolicy: {syncOptions: {prunePropagationPolicy: Foreground}}}}`,
			want: []string{
				`spec.syncPolicy.syncOptions.prunePropagationPolicy: Unsupported value: "Foreground": supported values: "foreground", "background", "orphan"`,
				notChecked,
			},
		},
		{
			name:  "operation with sync and rollback",
			base:  wordpress,
			patch: `{operation: {sync: {}, rollback: {id: 3}}}`,
			want:  []string{`operation: Invalid value: exactly one of operation.sync and operation.rollback must be set`},
		},
		{
			name:  "bad health in status",
			base:  wordpress,
			patch: `{status: {health: {status: Fine}}}`,
			want: []string{
				`status.health.status: Unsupported value: "Fine": supported values: "Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"`,
				notChecked,
			},
		},
		{name: "reference project is valid", base: project},
		{
			name:  "sync window with bad kind, schedule and duration",
			base:  project,
			patch: `{spec: {syncWindows: [{kind: maybe, schedule: nightly, duration: 1d, applications: ["*"]}]}}`,
			want: []string{
				`spec.syncWindows[0].kind: Unsupported value: "maybe": supported values: "allow", "deny"`,
				`spec.syncWindows[0].schedule: Invalid value: "nightly": spec.syncWindows[0].schedule in body should match '^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|\S+\s+\S+\s+\S+\s+\S+\s+\S+)$'`,
				`spec.syncWindows[0].duration: Invalid value: "1d": spec.syncWindows[0].duration in body should match '^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$'`,
				notChecked,
			},
		},
		{
			name:  "sync window that selects nothing",
			base:  project,
			patch: `{spec: {syncWindows: [{kind: deny, schedule: "0 22 * * *", duration: 8h}]}}`,
			want:  []string{`spec.syncWindows[0]: Invalid value: set at least one of applications, namespaces and clusters`},
		},
		{
			name:  "project destination without cluster",
			base:  project,
			patch: `{spec: {destinations: [{namespace: team-a}]}}`,
			want:  []string{`spec.destinations[0]: Invalid value: set server or name (use "*" for any cluster)`},
		},
		{name: "reference cluster is valid", base: cluster},
		{name: "cluster with an exec plugin is valid", base: cluster, patch: `{spec: {secretName: null, exec: {command: aws, args: [eks, get-token]}}}`},
		{
			name:  "cluster with both a Secret and an exec plugin",
			base:  cluster,
			patch: `{spec: {exec: {command: aws}}}`,
			want:  []string{`spec: Invalid value: set exactly one of spec.secretName (a Secret with a token or a client certificate) and spec.exec (a credential plugin)`},
		},
		{
			name:  "cluster without credentials",
			base:  cluster,
			patch: `{spec: {secretName: null}}`,
			want:  []string{`spec: Invalid value: set exactly one of spec.secretName (a Secret with a token or a client certificate) and spec.exec (a credential plugin)`},
		},
		{
			name:  "cluster over plain http, with a bad proxy",
			base:  cluster,
			patch: `{spec: {server: "http://prod.example.com", proxyURL: "ftp://proxy"}}`,
			want: []string{
				`spec.server: Invalid value: "http://prod.example.com": spec.server in body should match '^https://[^\s]+$'`,
				`spec.proxyURL: Invalid value: "ftp://proxy": spec.proxyURL in body should match '^(https?|socks5)://[^\s]+$'`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := mergePatch(t, tt.base, tt.patch)
			kind, _ := obj["kind"].(string)
			var got []string
			for _, err := range admitters[kind].admit(obj) {
				got = append(got, err.Error())
			}
			// The schema validator does not promise an order.
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got errors:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

func TestAdmissionDefaults(t *testing.T) {
	obj := mergePatch(t, wordpress, `{spec: {syncPolicy: {automated: {}, syncOptions: {}, retry: {backoff: {}}}}}`)
	if errs := newAdmitter(t, loadCRDs(t)["Application"]).admit(obj); len(errs) > 0 {
		t.Fatal(errs)
	}
	b, err := yaml.Marshal(obj["spec"])
	if err != nil {
		t.Fatal(err)
	}
	const want = `destination:
  namespace: wordpress
  server: https://kubernetes.default.svc
project: default
revisionHistoryLimit: 10
source:
  path: wordpress
  repoURL: https://git.example.com/demo/wordpress.git
  targetRevision: HEAD
syncPolicy:
  automated:
    enabled: true
  retry:
    backoff:
      duration: 5s
      factor: 2
      maxDuration: 3m
    limit: 5
  syncOptions:
    forceConflicts: true
    prunePropagationPolicy: foreground
`
	if string(b) != want {
		t.Errorf("defaulted spec:\n%s\nwant:\n%s", b, want)
	}
}

// mergePatch parses base and applies patch as a JSON merge patch (RFC 7386):
// objects merge, null deletes, everything else replaces.
func mergePatch(t *testing.T, base, patch string) map[string]any {
	t.Helper()
	var obj, p map[string]any
	if err := yaml.Unmarshal([]byte(base), &obj); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(patch), &p); err != nil {
		t.Fatal(err)
	}
	return merge(obj, p)
}

func merge(dst, patch map[string]any) map[string]any {
	if dst == nil {
		dst = map[string]any{}
	}
	for k, v := range patch {
		switch v := v.(type) {
		case nil:
			delete(dst, k)
		case map[string]any:
			sub, _ := dst[k].(map[string]any)
			dst[k] = merge(sub, v)
		default:
			dst[k] = v
		}
	}
	return dst
}
