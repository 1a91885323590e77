package argoimport

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// render writes a conversion's result as the golden files hold it: each
// object (Secrets masked), then the report.
func render(t *testing.T, res *Result) string {
	t.Helper()
	var b bytes.Buffer
	for _, o := range res.Objects {
		what := "converted"
		if o.Unchanged {
			what = "unchanged"
		}
		b.WriteString("# " + what + ", from " + o.Rel + "\n")
		y, err := Encode(o.Object, false)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(y)
		b.WriteString("---\n")
	}
	b.WriteString("# report\n")
	if err := res.Report.WriteYAML(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to write it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from the conversion (run with -update to rewrite it, then review the diff):\n%s", path, got)
	}
}

// TestConvertGolden converts each file of testdata/in, Argo CD objects
// written to cover every field, and compares the soll objects and the
// report with testdata/golden; files with bad objects give an error
// naming each bad field.
func TestConvertGolden(t *testing.T) {
	for _, tc := range []struct {
		file    string
		opts    Options
		wantErr bool
	}{
		{file: "applications.yaml"},
		{file: "projects.yaml"},
		{file: "secrets.yaml"},
		{file: "config.yaml"},
		{file: "list.yaml", opts: Options{ArgoNamespace: "argocd", Namespace: "cd"}},
		{file: "invalid.yaml", wantErr: true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			inputs, err := ReadFiles([]string{filepath.Join("testdata", "in", tc.file)}, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			before := make([]map[string]any, len(inputs))
			for i := range inputs {
				before[i] = runtime.DeepCopyJSON(inputs[i].Object)
			}
			res, err := Convert(inputs, tc.opts)
			for i := range inputs {
				if !reflect.DeepEqual(before[i], inputs[i].Object) {
					t.Errorf("Convert changed its input %d", i)
				}
			}
			name := strings.TrimSuffix(tc.file, ".yaml")
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				golden(t, name+".error", err.Error()+"\n")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".yaml", render(t, res))
		})
	}
}
