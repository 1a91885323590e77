package manifest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"soll.dev/internal/render"
	"soll.dev/internal/render/rendertest"
)

// decodeFixture decodes testdata/name, naming it name in errors.
func decodeFixture(t *testing.T, name string, limits render.Limits) ([]render.Object, error) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return Decode(context.Background(), name, data, render.NewBudget(limits))
}

// summary is one line per object: what it is and where it came from.
func summary(objs []render.Object) []string {
	var out []string
	for _, o := range objs {
		u := o.Unstructured
		name := u.GetName()
		if name == "" {
			name = "generateName=" + u.GetGenerateName()
		}
		out = append(out, fmt.Sprintf("%s %s/%s %s doc=%d item=%d",
			u.GetAPIVersion(), u.GetKind(), name, o.Origin, o.Origin.Document, o.Origin.Item))
	}
	return out
}

func TestDecode(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"multi.yaml", []string{
			"v1 ConfigMap/first multi.yaml:2 doc=0 item=-1",
			"apps/v1 Deployment/second multi.yaml:14 doc=4 item=-1",
		}},
		{"list.yaml", []string{
			"v1 ConfigMap/item-a list.yaml:4 doc=0 item=0",
			"v1 Secret/item-b list.yaml:8 doc=0 item=1",
			"v1 ConfigMap/typed-item list.yaml:16 doc=1 item=0",
			"example.com/v1 AccessList/not-a-list list.yaml:22 doc=2 item=-1",
		}},
		{"list.json", []string{
			"v1 ConfigMap/json-a list.json:5 doc=0 item=0",
			"v1 ConfigMap/json-b list.json:6 doc=0 item=1",
		}},
		{"object.json", []string{
			"v1 ConfigMap/single/slash object.json:3 doc=0 item=-1",
		}},
		// Hooks of soll, Argo CD and Helm may be named by generateName.
		{"generate-name.yaml", []string{
			"batch/v1 Job/generateName=migrate- generate-name.yaml:2 doc=0 item=-1",
			"batch/v1 Job/generateName=schema- generate-name.yaml:9 doc=1 item=-1",
			"v1 Pod/generateName=install- generate-name.yaml:16 doc=2 item=-1",
			"batch/v1 Job/generateName=smoke- generate-name.yaml:24 doc=3 item=-1",
			"v1 ConfigMap/named generate-name.yaml:33 doc=4 item=-1",
		}},
		{"anchors.yaml", []string{
			"v1 ConfigMap/anchors anchors.yaml:1 doc=0 item=-1",
			"v1 ConfigMap/merged anchors.yaml:14 doc=1 item=-1",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			objs, err := decodeFixture(t, tt.file, render.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, summary(objs)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeValues(t *testing.T) {
	objs, err := decodeFixture(t, "types.yaml", render.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"int":        int64(42),
		"octal":      int64(0644),
		"hex":        int64(31),
		"underscore": int64(1000),
		"float":      1.5,
		"exp":        1000.0,
		"big":        float64(18446744073709551615),
		"bool":       true,
		"upper":      true,
		"on":         "on",  // YAML 1.2: not a boolean
		"yes":        "yes", // idem
		"date":       "2001-01-01",
		"null":       nil,
		"quoted":     "42",
		"80":         "port",
	}
	if diff := cmp.Diff(want, objs[0].Unstructured.Object["values"]); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	// Unstructured only works with JSON types: DeepCopy panics on others.
	_ = objs[0].Unstructured.DeepCopy()

	objs, err = decodeFixture(t, "anchors.yaml", render.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	gotAnnotations := objs[0].Unstructured.GetAnnotations()
	if diff := cmp.Diff(map[string]string{"app": "web", "tier": "overridden"}, gotAnnotations); diff != "" {
		t.Errorf("merged annotations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"x": "1", "y": "1", "z": "2"}, objs[1].Unstructured.GetLabels()); diff != "" {
		t.Errorf("labels merged from a list (-want +got):\n%s", diff)
	}
	// Aliases are copies: changing one leaves the anchor alone.
	objs[0].Unstructured.Object["metadata"].(map[string]any)["annotations"].(map[string]any)["app"] = "changed"
	if got := objs[0].Unstructured.GetLabels()["app"]; got != "web" {
		t.Errorf("labels changed through an alias: app=%q", got)
	}

	objs, err = decodeFixture(t, "object.json", render.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := objs[0].Unstructured.Object["y"]; got != int64(7) {
		t.Errorf("JSON integer = %#v, want int64(7)", got)
	}
	if got := objs[0].Unstructured.Object["x"]; got != 1.5 {
		t.Errorf("JSON float = %#v, want 1.5", got)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		file string
		want string // the whole error message
	}{
		{"missing-kind.yaml", "render missing-kind.yaml:7: not a Kubernetes object: kind is missing"},
		{"missing-name.yaml", "render missing-name.yaml:1: not a Kubernetes object: metadata.name is missing: generateName is allowed on hooks only (objects annotated soll.dev/hook, argocd.argoproj.io/hook, helm.sh/hook), as other objects are applied by name: set metadata.name"},
		{"generate-name-not-hook.yaml", "render generate-name-not-hook.yaml:6: not a Kubernetes object: metadata.name is missing: generateName is allowed on hooks only (objects annotated soll.dev/hook, argocd.argoproj.io/hook, helm.sh/hook), as other objects are applied by name: set metadata.name"},
		{"generate-name-bad.yaml", "render generate-name-bad.yaml:1: not a Kubernetes object: metadata.generateName must be a non-empty string"},
		// The error is on line 17 of the file, in its third document.
		{"bad-indent.yaml", "render bad-indent.yaml:17: invalid YAML: did not find expected key"},
		{"tab.yaml", "render tab.yaml:17: invalid YAML: found a tab character that violates indentation"},
		// Line 5 opens a flow mapping that line 6 could still continue; line 7
		// is where the text stops being valid YAML.
		{"unclosed-flow.yaml", "render unclosed-flow.yaml:7: invalid YAML: did not find expected ',' or '}'"},
		{"scalar-doc.yaml", "render scalar-doc.yaml:6: document is a string, not a Kubernetes object"},
		{"sequence-doc.yaml", "render sequence-doc.yaml:1: document is a list, not a Kubernetes object"},
		{"duplicate-key.yaml", `render duplicate-key.yaml:8: mapping key "key" is defined twice, first at line 6`},
		{"list-bad-item.yaml", "render list-bad-item.yaml:8: item 1 of the list is not a Kubernetes object: metadata.name is missing"},
		{"recursive.yaml", "render recursive.yaml:6: alias refers to a node that contains it"},
		{"complex-key.yaml", "render complex-key.yaml:6: mapping key is a mapping or a list: only scalar keys are supported"},
		{"unknown-anchor.yaml", "render unknown-anchor.yaml:6: invalid YAML: unknown anchor referenced"},
		{"nan.yaml", "render nan.yaml:6: infinite and NaN numbers cannot be represented in JSON"},
		{"bad.json", `render bad.json:4: invalid JSON: invalid character '"' after object key:value pair`},
		{"two-values.json", "render two-values.json:2: unexpected content after the first JSON value: a JSON file holds one object, put several in a List"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			objs, err := decodeFixture(t, tt.file, render.Limits{})
			if err == nil {
				t.Fatalf("no error, %d objects", len(objs))
			}
			if objs != nil {
				t.Errorf("objects returned with the error: %v", summary(objs))
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n got: %s\nwant: %s", got, tt.want)
			}
			var re *render.Error
			if !errors.As(err, &re) || re.File != tt.file {
				t.Errorf("error is not a *render.Error for %s: %#v", tt.file, err)
			}
		})
	}
}

// TestDecodeErrorsHideSecrets breaks Secrets in the ways a parser would quote:
// no error may contain the value.
func TestDecodeErrorsHideSecrets(t *testing.T) {
	entries, err := os.ReadDir("testdata/secret")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			_, err := decodeFixture(t, "secret/"+e.Name(), render.Limits{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, leak := range []string{"hunter", "very", "secret"} {
				// "secret/" is the fixture's directory, in the file name.
				msg := strings.Replace(err.Error(), "secret/"+e.Name(), "FILE", 1)
				if strings.Contains(msg, leak) {
					t.Errorf("error quotes the secret (%q): %s", leak, err)
				}
			}
			var re *render.Error
			if !errors.As(err, &re) || re.Line == 0 {
				t.Errorf("error has no line: %v", err)
			}
		})
	}
}

func TestDecodeAliasBomb(t *testing.T) {
	var objs []render.Object
	var err error
	elapsed, alloc := rendertest.Cost(func() { objs, err = decodeFixture(t, "bomb.yaml", render.Limits{}) })
	if !rendertest.IsLimit(t, err, render.LimitAliasNodes) {
		t.FailNow()
	}
	if objs != nil {
		t.Errorf("objects returned with the error")
	}
	if want := "render bomb.yaml:1: YAML aliases expand to more than 100000 nodes"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %q, want prefix %q", err, want)
	}
	if elapsed > 500*time.Millisecond {
		t.Errorf("took %v to refuse the bomb", elapsed)
	}
	if alloc > 16<<20 {
		t.Errorf("allocated %d MiB to refuse the bomb", alloc>>20)
	}
}

// nested returns a ConfigMap whose data nests depth-1 mappings below it, so
// that the document has depth levels; flow style when flow.
func nested(depth int, flow bool) string {
	if flow {
		return "{apiVersion: v1, kind: ConfigMap, metadata: {name: deep}, data: " +
			strings.Repeat("{a: ", depth-1) + "x" + strings.Repeat("}", depth-1) + "}\n"
	}
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n")
	for i := 1; i < depth-1; i++ {
		fmt.Fprintf(&b, "%s  a:\n", strings.Repeat("  ", i-1))
	}
	fmt.Fprintf(&b, "%s  a: x\n", strings.Repeat("  ", depth-2))
	return b.String()
}

func TestDecodeDepth(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		data    string
		wantErr bool
	}{
		{"block at the limit", "a.yaml", nested(100, false), false},
		{"block above the limit", "a.yaml", nested(101, false), true},
		{"flow above the limit", "a.yaml", nested(101, true), true},
		{"far above the limit", "a.yaml", nested(5000, true), true},
		{"json at the limit", "a.json", jsonNested(100), false},
		{"json above the limit", "a.json", jsonNested(101), true},
		// Depth reached through an alias.
		{"alias", "a.yaml", "x: &x " + strings.Repeat("[", 60) + strings.Repeat("]", 60) + "\ny: " +
			strings.Repeat("[", 50) + "*x" + strings.Repeat("]", 50) + "\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(context.Background(), tt.file, []byte(tt.data), render.NewBudget(render.Limits{}))
			var le *render.LimitError
			isDepth := errors.As(err, &le) && le.Limit == render.LimitDepth
			if tt.wantErr != isDepth {
				t.Fatalf("error = %v, want depth error: %v", err, tt.wantErr)
			}
		})
	}
}

func jsonNested(depth int) string {
	return `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "deep"}, "data": ` +
		strings.Repeat(`{"a": `, depth-1) + `"x"` + strings.Repeat("}", depth-1) + "}"
}

func TestDecodeDocumentLimit(t *testing.T) {
	doc := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n"
	_, err := Decode(context.Background(), "a.yaml", []byte(strings.Repeat(doc, 6)), render.NewBudget(render.Limits{MaxDocuments: 5}))
	want := "render a.yaml:26: more than 5 documents and List items, the limit per render: split the application or raise MaxDocuments"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}

	// Empty documents count too: they cost parsing all the same.
	_, err = Decode(context.Background(), "a.yaml", []byte(strings.Repeat("---\n", render.DefaultMaxDocuments+1)), render.NewBudget(render.Limits{}))
	rendertest.IsLimit(t, err, render.LimitDocuments)

	// So do List items.
	_, err = decodeFixture(t, "list.yaml", render.Limits{MaxDocuments: 2})
	rendertest.IsLimit(t, err, render.LimitDocuments)
}

func TestDecodeCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	objs, err := Decode(ctx, "a.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"), render.NewBudget(render.Limits{}))
	if !errors.Is(err, context.Canceled) || objs != nil {
		t.Errorf("Decode = %v, %v; want no objects and context.Canceled", objs, err)
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"did not find expected ',' or ']'", "did not find expected ',' or ']'"},
		{"unknown anchor 'password' referenced", "unknown anchor referenced"},
		{"invalid character 'x' looking for beginning of value", "invalid character looking for beginning of value"},
		{"cannot unmarshal !!str `hunter2` into int", "cannot unmarshal !!str into int"},
		{"first line\nsecond line with \"secret\"", "first line"},
		{strings.Repeat("é", 150), strings.Repeat("é", 100) + "..."},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in); got != tt.want {
			t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzDecode checks that no input makes the decoder panic, hang or return
// objects with an error. `go test` runs the seeds; `go test -fuzz` explores.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, file := range []string{"f.yaml", "f.json"} {
			objs, err := Decode(context.Background(), file, data, render.NewBudget(render.Limits{}))
			if err != nil && objs != nil {
				t.Errorf("%s: objects returned with error %v", file, err)
			}
			for _, o := range objs {
				u := o.Unstructured.DeepCopy() // panics on non-JSON values
				if u.GetAPIVersion() == "" || u.GetKind() == "" {
					t.Errorf("%s: object without apiVersion or kind: %v", file, u.Object)
				}
			}
		}
	})
}
