package directory

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"soll.dev/internal/render"
	"soll.dev/internal/render/rendertest"
	"soll.dev/internal/render/sops"
	"soll.dev/internal/render/sops/sopstest"
)

const (
	sopsSecretYAML = `apiVersion: v1
kind: Secret
metadata:
  name: db
type: Opaque
stringData:
  password: yaml-plaintext-value
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: db-settings
data:
  host: db.internal
`
	sopsSecretJSON = `{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "api"},
 "data": {"token": "anNvbi1wbGFpbnRleHQtdmFsdWU="}}`
	sopsRegexYAML = `apiVersion: v1
kind: Secret
metadata:
  name: regex
stringData:
  password: regex-plaintext-value
`
	plainCM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n"
)

// sopsRepo writes an application of SOPS-encrypted and plain manifests,
// encrypted for public, and returns the repository root.
func sopsRepo(t *testing.T, public string) string {
	t.Helper()
	root := t.TempDir()
	app := filepath.Join(root, "apps", "secrets")
	rendertest.WriteFile(t, filepath.Join(app, "db.yaml"), string(sopstest.Encrypt(t, "db.yaml", []byte(sopsSecretYAML), sopstest.Options{}, public)))
	rendertest.WriteFile(t, filepath.Join(app, "api.json"), string(sopstest.Encrypt(t, "api.json", []byte(sopsSecretJSON), sopstest.Options{}, public)))
	rendertest.WriteFile(t, filepath.Join(app, "regex.yml"), string(sopstest.Encrypt(t, "regex.yml", []byte(sopsRegexYAML),
		sopstest.Options{EncryptedRegex: "^(data|stringData)$"}, public)))
	rendertest.WriteFile(t, filepath.Join(app, "plain.yaml"), plainCM)
	return root
}

func TestRenderSOPS(t *testing.T) {
	secret, public := sopstest.NewKey(t)
	d, err := sops.New(secret)
	if err != nil {
		t.Fatal(err)
	}
	res, err := (&Renderer{}).Render(context.Background(), render.Request{Root: sopsRepo(t, public), Path: "apps/secrets", Decrypter: d})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Secret/api apps/secrets/api.json:1",
		"Secret/db apps/secrets/db.yaml:1",
		"ConfigMap/db-settings apps/secrets/db.yaml:9",
		"ConfigMap/plain apps/secrets/plain.yaml:1",
		"Secret/regex apps/secrets/regex.yml:1",
	}
	if diff := cmp.Diff(want, summary(res)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	values := map[string]string{}
	for _, o := range res.Objects {
		if _, ok := o.Unstructured.Object["sops"]; ok {
			t.Errorf("%s keeps the sops metadata", o.Origin)
		}
		for _, field := range []string{"stringData", "data"} {
			m, _ := o.Unstructured.Object[field].(map[string]any)
			for k, v := range m {
				values[o.Unstructured.GetName()+"."+k], _ = v.(string)
			}
		}
	}
	wantValues := map[string]string{
		"api.token":        "anNvbi1wbGFpbnRleHQtdmFsdWU=",
		"db.password":      "yaml-plaintext-value",
		"db-settings.host": "db.internal",
		"regex.password":   "regex-plaintext-value",
	}
	if diff := cmp.Diff(wantValues, values); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}

func TestRenderSOPSErrors(t *testing.T) {
	secret, public := sopstest.NewKey(t)
	other, _ := sopstest.NewKey(t)
	tamper := func(t *testing.T, root string) {
		name := filepath.Join(root, "apps", "secrets", "regex.yml")
		data := readFile(t, name)
		rendertest.WriteFile(t, name, strings.Replace(data, "name: regex", "name: hijacked", 1))
	}
	tests := []struct {
		name   string
		key    string
		change func(t *testing.T, root string)
		file   string
		kind   error
	}{
		{"wrong key", other, nil, "apps/secrets/api.json", sops.ErrNoKey},
		{"tampered", secret, tamper, "apps/secrets/regex.yml", sops.ErrIntegrity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := sopsRepo(t, public)
			if tt.change != nil {
				tt.change(t, root)
			}
			d, err := sops.New(tt.key)
			if err != nil {
				t.Fatal(err)
			}
			res, err := (&Renderer{}).Render(context.Background(), render.Request{Root: root, Path: "apps/secrets", Decrypter: d})
			if err == nil || res != nil {
				t.Fatalf("Render = %v, %v; want an error and no objects", res, err)
			}
			var rerr *render.Error
			if !errors.As(err, &rerr) || rerr.File != tt.file || !errors.Is(err, tt.kind) {
				t.Errorf("error %q: want a *render.Error for %s matching %v", err, tt.file, tt.kind)
			}
			file := readFile(t, filepath.Join(root, filepath.FromSlash(tt.file)))
			for _, s := range []string{secret, other, "plaintext-value", "ENC[", encryptedValue(t, file)} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q contains %q", err, s)
				}
			}
		})
	}
}

// encryptedValue returns the data of the first encrypted value in file.
func encryptedValue(t *testing.T, file string) string {
	t.Helper()
	_, rest, ok := strings.Cut(file, "ENC[AES256_GCM,data:")
	if !ok {
		t.Fatal("no encrypted value")
	}
	v, _, _ := strings.Cut(rest, ",")
	return v
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSpace(data)) + "\n"
}

// failingDecrypter fails every file with a plain error.
type failingDecrypter struct{}

func (failingDecrypter) Decrypt(context.Context, string, []byte) ([]byte, bool, error) {
	return nil, false, errors.New("no keys")
}

func TestRenderDecrypterErrorNamesTheFile(t *testing.T) {
	_, public := sopstest.NewKey(t)
	_, err := (&Renderer{}).Render(context.Background(), render.Request{Root: sopsRepo(t, public), Path: "apps/secrets", Decrypter: failingDecrypter{}})
	if got, want := err.Error(), "render apps/secrets/api.json: no keys"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}
