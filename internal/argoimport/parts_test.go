package argoimport

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	sollv1 "soll.dev/api/v1alpha1"
)

func TestKustomizeImage(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    sollv1.KustomizeImage
		wantErr string
	}{
		{in: "nginx:1.25", want: sollv1.KustomizeImage{Name: "nginx", NewTag: "1.25"}},
		{in: "registry.example.com:5000/team/app:v2", want: sollv1.KustomizeImage{Name: "registry.example.com:5000/team/app", NewTag: "v2"}},
		{in: "nginx=ghcr.io/example/nginx", want: sollv1.KustomizeImage{Name: "nginx", NewName: "ghcr.io/example/nginx"}},
		{in: "nginx=ghcr.io/example/nginx:1.25@sha256:abc", want: sollv1.KustomizeImage{Name: "nginx", NewName: "ghcr.io/example/nginx", Digest: "sha256:abc"}},
		{in: "redis@sha256:abc", want: sollv1.KustomizeImage{Name: "redis", Digest: "sha256:abc"}},
		{in: "postgres=postgres:16", want: sollv1.KustomizeImage{Name: "postgres", NewTag: "16"}},
		{in: "nginx", wantErr: "changes nothing"},
		{in: "=nginx:1", wantErr: "names no image"},
	} {
		got, err := kustomizeImage(tc.in)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case got != tc.want:
			t.Errorf("%q = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestSplitGlob(t *testing.T) {
	for in, want := range map[string][]string{
		"":                  nil,
		"*.yaml":            {"*.yaml"},
		"{*.yaml,*.yml}":    {"*.yaml", "*.yml"},
		"{a.yaml, b.yaml,}": {"a.yaml", "b.yaml"},
		"{base,prod}/*.yml": {"{base,prod}/*.yml"},
		"{a,{b,c}}":         {"{a,{b,c}}"},
	} {
		if got := splitGlob(in); !reflect.DeepEqual(got, want) {
			t.Errorf("splitGlob(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTranslatePolicyLine translates Argo CD policy lines into soll's.
func TestTranslatePolicyLine(t *testing.T) {
	c := &converter{accounts: map[string]bool{"ci": true}}
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"p, role:dev, applications, get, team/*, allow", []string{"p, role:dev, applications, get, team/*, allow"}},
		{"p, role:dev, applications, sync, team/*, allow", []string{"p, role:dev, applications, sync, team/*, allow", "p, role:dev, applications, rollback, team/*, allow"}},
		{"p, role:dev, *, sync, *, deny", []string{"p, role:dev, *, sync, *, deny", "p, role:dev, *, rollback, *, deny"}},
		{"p, role:dev, applications, get, team/ns/*", []string{"p, role:dev, applications, get, team/*, allow"}},
		{"p, role:dev, logs, get, team/ns/app, allow", []string{"p, role:dev, logs, get, team/app, allow"}},
		{"p, role:dev, clusters, get, https://kubernetes.default.svc, allow", []string{"p, role:dev, clusters, get, https://kubernetes.default.svc, allow"}},
		{"p, role:dev, applications, action/apps/Deployment/restart, team/*, allow", nil},
		{"p, role:dev, applicationsets, get, team/*, allow", nil},
		{"p, role:dev, exec, create, team/*, allow", nil},
		{"p, role:dev, applications, invoke, team/*, allow", nil},
		{"g, ci, role:dev", []string{"g, user:ci, role:dev"}},
		{"g, admin, role:dev", []string{"g, user:admin, role:dev"}},
		{"g, bob@example.com, dev", []string{"g, sso:bob@example.com, role:dev"}},
		{"g, team-devs, role:dev", []string{"g, team-devs, role:dev"}},
		{"g, org:team, role:dev", []string{"g, group:org:team, role:dev"}},
		{`g, "cn=ops,dc=example", role:admin`, []string{`g, "cn=ops,dc=example", role:admin`}},
		{"g, proj:team:ci, role:dev", []string{"g, proj:team:ci, role:dev"}},
		{"# a comment", nil},
		{"", nil},
		{"x, a, b", nil},
		{"p, too, few", nil},
	} {
		oc := &objConv{rep: &ObjectReport{}}
		got := c.translateLine(oc, "line", tc.in)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q = %q, want %q", tc.in, got, tc.want)
		}
		if len(got) == 0 && strings.TrimSpace(tc.in) != "" && !strings.HasPrefix(tc.in, "#") && len(oc.rep.Notes) == 0 {
			t.Errorf("%q is left out without a note", tc.in)
		}
	}
}

// TestSecretValuesStayOutOfReportsAndErrors checks that no value of the
// test set's Secrets appears in a report or an error.
func TestSecretValuesStayOutOfReportsAndErrors(t *testing.T) {
	values := []string{"fake-password-1", "fake-key-material", "fake-cert", "fake-key", "fake-cluster-token", "fake-admin-hash", "not base64!"}
	for _, f := range []string{"secrets.yaml", "invalid.yaml"} {
		inputs, err := ReadFiles([]string{filepath.Join("testdata", "in", f)}, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		res, err := Convert(inputs, Options{})
		if err != nil {
			text.WriteString(err.Error())
		} else {
			for _, w := range []func(*strings.Builder) error{
				func(b *strings.Builder) error { return res.Report.WriteText(b) },
				func(b *strings.Builder) error { return res.Report.WriteMarkdown(b) },
				func(b *strings.Builder) error { return res.Report.WriteYAML(b) },
			} {
				if err := w(&text); err != nil {
					t.Fatal(err)
				}
			}
			for _, o := range res.Objects {
				y, err := Encode(o.Object, false)
				if err != nil {
					t.Fatal(err)
				}
				text.Write(y)
			}
		}
		for _, v := range values {
			if strings.Contains(text.String(), v) {
				t.Errorf("%s: %q appears in the report, an error or the masked output:\n%s", f, v, text.String())
			}
		}
	}
}

func TestReadFilesLimits(t *testing.T) {
	dir := t.TempDir()
	doc := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(doc+"---\n"+doc+"---\n"+doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.yml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		limits  Limits
		wantErr string
	}{
		{Limits{}, ""},
		{Limits{MaxFileBytes: 20}, "more than the limit of 20"},
		{Limits{MaxTotalBytes: int64(len(doc)) * 3}, "hold more than"},
		{Limits{MaxObjects: 3}, "more than 3 objects"},
		{Limits{MaxFiles: 1}, "more than 1 files"},
	} {
		got, err := ReadFiles([]string{dir}, tc.limits)
		switch {
		case tc.wantErr == "" && (err != nil || len(got) != 4):
			t.Errorf("%+v: %d objects, %v", tc.limits, len(got), err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%+v: error %v, want %q", tc.limits, err, tc.wantErr)
		}
	}
	if _, err := Decode(strings.NewReader("just: a map\n")); err == nil || !strings.Contains(err.Error(), "no kind") {
		t.Errorf("a document without kind: %v", err)
	}
}
