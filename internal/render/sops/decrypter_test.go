package sops_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"soll.dev/internal/render"
	"soll.dev/internal/render/sops"
	"soll.dev/internal/render/sops/sopstest"
)

const secretYAML = `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod
type: Opaque
stringData:
  password: hunter2-plaintext
  token_unencrypted: visible
data:
  key: c2VjcmV0LWJ5dGVz
`

const secretJSON = `{
  "apiVersion": "v1",
  "kind": "Secret",
  "metadata": {"name": "db-json"},
  "stringData": {"password": "hunter2-plaintext", "port": 5432}
}`

// decryptOK decrypts data with d and fails the test unless it was SOPS.
func decryptOK(t *testing.T, d *sops.Decrypter, path string, data []byte) []byte {
	t.Helper()
	plain, encrypted, err := d.Decrypt(context.Background(), path, data)
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if !encrypted {
		t.Fatal("Decrypt reported a plain file")
	}
	return plain
}

// decryptErr decrypts data with d and returns the error, which must be a
// *render.Error naming path and carry no plaintext, ciphertext or key.
func decryptErr(t *testing.T, d *sops.Decrypter, path string, data []byte, secrets ...string) error {
	t.Helper()
	plain, encrypted, err := d.Decrypt(context.Background(), path, data)
	if err == nil {
		t.Fatalf("Decrypt succeeded (encrypted %v): %s", encrypted, plain)
	}
	if plain != nil {
		t.Error("Decrypt returned content with an error")
	}
	var rerr *render.Error
	if !errors.As(err, &rerr) || rerr.File != path {
		t.Errorf("error %q is not a *render.Error naming %s", err, path)
	}
	assertRedacted(t, err.Error(), data, secrets...)
	return err
}

var encRE = regexp.MustCompile(`ENC\[AES256_GCM,data:([^,]+),`)

// assertRedacted checks that msg quotes none of secrets, and no ciphertext
// or age-encrypted data key of the encrypted file.
func assertRedacted(t *testing.T, msg string, encrypted []byte, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("error %q contains the secret %q", msg, s)
		}
	}
	for _, m := range encRE.FindAllSubmatch(encrypted, -1) {
		if strings.Contains(msg, string(m[1])) {
			t.Errorf("error %q contains ciphertext %q", msg, m[1])
		}
	}
	for _, forbidden := range []string{"ENC[", "AGE-SECRET-KEY", "BEGIN AGE", "hunter2"} {
		if strings.Contains(msg, forbidden) {
			t.Errorf("error %q contains %q", msg, forbidden)
		}
	}
}

func newDecrypter(t *testing.T, keys ...string) *sops.Decrypter {
	t.Helper()
	d, err := sops.New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// projectKeys returns the Decrypter of project from secrets.
func projectKeys(t *testing.T, project string, secrets ...*sops.KeySecret) *sops.Decrypter {
	t.Helper()
	d, err := sops.ForProject("soll", project, secrets)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// asMap decodes YAML or JSON for comparison.
func asMap(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			break
		}
		out = append(out, m)
	}
	return out
}

func TestDecryptRoundTrip(t *testing.T) {
	secret, public := sopstest.NewKey(t)
	d := newDecrypter(t, secret)
	multi := secretYAML + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: \"1\"\n"
	tests := []struct {
		name  string
		path  string
		plain string
		opts  sopstest.Options
	}{
		{"yaml", "apps/db/secret.yaml", secretYAML, sopstest.Options{}},
		{"yml", "apps/db/secret.yml", secretYAML, sopstest.Options{}},
		{"json", "apps/db/secret.json", secretJSON, sopstest.Options{}},
		{"encrypted regex", "s.yaml", secretYAML, sopstest.Options{EncryptedRegex: "^(data|stringData)$"}},
		{"unencrypted suffix", "s.yaml", secretYAML, sopstest.Options{UnencryptedSuffix: "_unencrypted"}},
		{"encrypted suffix", "s.yaml", secretYAML, sopstest.Options{EncryptedSuffix: "password"}},
		{"mac only encrypted", "s.yaml", secretYAML, sopstest.Options{EncryptedRegex: "^stringData$", MACOnlyEncrypted: true}},
		{"multi-document", "s.yaml", multi, sopstest.Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := sopstest.Encrypt(t, tt.path, []byte(tt.plain), tt.opts, public)
			if bytes.Contains(enc, []byte("hunter2")) {
				t.Fatal("the fixture is not encrypted")
			}
			plain := decryptOK(t, d, tt.path, enc)
			if diff := cmp.Diff(asMap(t, []byte(tt.plain)), asMap(t, plain)); diff != "" {
				t.Errorf("plaintext (-want +got):\n%s\n%s", diff, plain)
			}
			if bytes.Contains(plain, []byte("sops")) {
				t.Errorf("plaintext keeps the sops metadata:\n%s", plain)
			}
		})
	}
}

func TestDecryptEncryptedRegexLeavesTheRestReadable(t *testing.T) {
	_, public := sopstest.NewKey(t)
	enc := sopstest.Encrypt(t, "s.yaml", []byte(secretYAML), sopstest.Options{EncryptedRegex: "^(data|stringData)$"}, public)
	if !bytes.Contains(enc, []byte("name: db")) || bytes.Contains(enc, []byte("hunter2")) {
		t.Fatalf("encrypted_regex encrypted the wrong values:\n%s", enc)
	}
}

func TestDecryptDotenv(t *testing.T) {
	secret, public := sopstest.NewKey(t)
	enc := sopstest.Encrypt(t, "app.env", []byte("PASSWORD=hunter2-plaintext\nUSER=app\n"), sopstest.Options{}, public)
	plain := decryptOK(t, newDecrypter(t, secret), "app.env", enc)
	if diff := cmp.Diff("PASSWORD=hunter2-plaintext\nUSER=app\n", string(plain)); diff != "" {
		t.Errorf("plaintext (-want +got):\n%s", diff)
	}
}

func TestDecryptPassesPlainFilesUnchanged(t *testing.T) {
	secret, public := sopstest.NewKey(t)
	d := newDecrypter(t, secret)
	enc := sopstest.Encrypt(t, "s.yaml", []byte(secretYAML), sopstest.Options{}, public)
	tests := []struct {
		name, path, data string
	}{
		{"yaml", "a/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  sops: nested keys are not metadata\n"},
		{"json", "a/cm.json", `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "sops"}}`},
		{"sops is not a mapping", "a/odd.yaml", "sops: just a value\n"},
		{"invalid yaml without sops", "a/broken.yaml", "a: [\n"},
		{"empty", "a/empty.yaml", ""},
		{"aliases in a plain file", "a/alias.yaml", "sops: plain\na: &a [1]\nb: *a\n"},
		{"other extension", "a/secret.txt", string(enc)},
		{"dotenv", "a/.env", "A=1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain, encrypted, err := d.Decrypt(context.Background(), tt.path, []byte(tt.data))
			if err != nil || encrypted || string(plain) != tt.data {
				t.Errorf("Decrypt = %q, %v, %v; want the data unchanged", plain, encrypted, err)
			}
		})
	}
}

func TestDecryptWrongKey(t *testing.T) {
	_, public := sopstest.NewKey(t)
	other, otherPublic := sopstest.NewKey(t)
	enc := sopstest.Encrypt(t, "apps/db/secret.yaml", []byte(secretYAML), sopstest.Options{}, public)
	d := projectKeys(t, "team-a", sops.ParseKeySecret("soll", "keys", map[string]string{sops.ProjectsAnnotation: "team-a"}, map[string][]byte{"keys.txt": []byte(other)}))
	err := decryptErr(t, d, "apps/db/secret.yaml", enc, other, "hunter2-plaintext", "c2VjcmV0LWJ5dGVz")
	if !errors.Is(err, sops.ErrNoKey) {
		t.Errorf("error %q is not ErrNoKey", err)
	}
	for _, want := range []string{"no age key of project team-a can decrypt it", "annotation soll.dev/sops-projects listing team-a", public, otherPublic, "apps/db/secret.yaml"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestDecryptOneOfManyKeys(t *testing.T) {
	a, _ := sopstest.NewKey(t)
	b, publicB := sopstest.NewKey(t)
	c, _ := sopstest.NewKey(t)
	_, publicD := sopstest.NewKey(t)
	enc := sopstest.Encrypt(t, "s.json", []byte(secretJSON), sopstest.Options{}, publicD, publicB)
	d := projectKeys(t, "p", sops.ParseKeySecret("soll", sops.SecretName, map[string]string{sops.ProjectsAnnotation: sops.AllProjects}, map[string][]byte{
		"team-a":   []byte("# created: 2026-01-01\n# public key: age1...\n" + a + "\n\n" + c + "\n"),
		"team-b":   []byte(b),
		"keys.txt": []byte("\n# nothing here but comments\n"),
	}))
	if got := len(d.Recipients()); got != 3 {
		t.Errorf("Recipients() has %d keys, want 3", got)
	}
	plain := decryptOK(t, d, "s.json", enc)
	if !bytes.Contains(plain, []byte("hunter2-plaintext")) {
		t.Errorf("plaintext lacks the secret:\n%s", plain)
	}
}

func TestDecryptTampered(t *testing.T) {
	secret, public := sopstest.NewKey(t)
	d := newDecrypter(t, secret)
	regex := sopstest.Encrypt(t, "s.yaml", []byte(secretYAML), sopstest.Options{EncryptedRegex: "^(data|stringData)$"}, public)
	full := sopstest.Encrypt(t, "s.yaml", []byte(secretYAML), sopstest.Options{}, public)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"unencrypted value changed", bytes.Replace(regex, []byte("namespace: prod"), []byte("namespace: kube-system"), 1), "MAC mismatch"},
		{"unencrypted suffix value changed", bytes.Replace(full, []byte("token_unencrypted: visible"), []byte("token_unencrypted: changed"), 1), "MAC mismatch"},
		{"value removed", removeLine(t, full, "key: ENC["), "MAC mismatch"},
		{"ciphertext changed", flipAfter(t, full, "ENC[AES256_GCM,data:"), "does not decrypt"},
		{"mac changed", flipAfter(t, full, "mac: ENC[AES256_GCM,data:"), "MAC does not decrypt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := decryptErr(t, d, "s.yaml", tt.data, secret, "hunter2-plaintext")
			if !errors.Is(err, sops.ErrIntegrity) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want ErrIntegrity saying %q", err, tt.want)
			}
		})
	}
}

func removeLine(t *testing.T, data []byte, contains string) []byte {
	t.Helper()
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if strings.Contains(l, contains) {
			return []byte(strings.Join(append(lines[:i], lines[i+1:]...), "\n"))
		}
	}
	t.Fatalf("no line contains %q", contains)
	return nil
}

// flipAfter changes the character after the first occurrence of marker.
func flipAfter(t *testing.T, data []byte, marker string) []byte {
	t.Helper()
	i := bytes.Index(data, []byte(marker))
	if i < 0 {
		t.Fatalf("no %q", marker)
	}
	return flipAt(data, i+len(marker))
}

func flipAt(data []byte, i int) []byte {
	out := bytes.Clone(data)
	if out[i] == 'A' {
		out[i] = 'B'
	} else {
		out[i] = 'A'
	}
	return out
}

func TestDecryptRefuses(t *testing.T) {
	secret, public := sopstest.NewKey(t)
	d := newDecrypter(t, secret)
	enc := sopstest.Encrypt(t, "s.yaml", []byte(secretYAML), sopstest.Options{}, public)
	const pgpOnly = `apiVersion: v1
kind: Secret
stringData:
    password: ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]
sops:
    pgp:
        - created_at: "2026-01-01T00:00:00Z"
          enc: |-
            -----BEGIN PGP MESSAGE-----
            AAAA
            -----END PGP MESSAGE-----
          fp: 0123456789ABCDEF0123456789ABCDEF01234567
    lastmodified: "2026-01-01T00:00:00Z"
    mac: ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]
    unencrypted_suffix: _unencrypted
    version: 3.13.3
`
	tests := []struct {
		name string
		path string
		data []byte
		kind error
		want string
	}{
		{"pgp only", "s.yaml", []byte(pgpOnly), sops.ErrUnsupported, "only for pgp keys"},
		{"no mac", "s.yaml", removeLine(t, enc, "    mac: "), sops.ErrMalformed, "no mac or no version"},
		{"too large", "s.yaml", append(bytes.Repeat([]byte("# padding\n"), sops.MaxBytes/10+1), enc...), sops.ErrMalformed, "above the limit"},
		{"alias", "s.yaml", append([]byte("x: &a [1]\ny: *a\n"), enc...), sops.ErrMalformed, "YAML alias at line 2"},
		{"invalid yaml", "s.yaml", append([]byte("x: [\n"), enc...), sops.ErrMalformed, "not valid YAML (line"},
		{"invalid json", "s.json", []byte(`{"sops": {"mac": "x", "version": "3"} "hunter2-plaintext": 1}`), sops.ErrMalformed, "not valid JSON"},
		{"bad metadata", "s.json", []byte(`{"a": "hunter2-plaintext", "sops": {"mac": "x", "version": "3", "lastmodified": "hunter2-plaintext"}}`), sops.ErrMalformed, "metadata is malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := decryptErr(t, d, tt.path, tt.data, secret, "hunter2-plaintext")
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want %v saying %q", err, tt.kind, tt.want)
			}
		})
	}
}

func TestDecryptCanceled(t *testing.T) {
	secret, public := sopstest.NewKey(t)
	enc := sopstest.Encrypt(t, "s.yaml", []byte(secretYAML), sopstest.Options{}, public)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := newDecrypter(t, secret).Decrypt(ctx, "s.yaml", enc); !errors.Is(err, context.Canceled) {
		t.Errorf("Decrypt = %v, want context.Canceled", err)
	}
}

func TestDecryptConcurrently(t *testing.T) {
	secret, public := sopstest.NewKey(t)
	d := newDecrypter(t, secret)
	enc := sopstest.Encrypt(t, "s.yaml", []byte(secretYAML), sopstest.Options{}, public)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			plain, _, err := d.Decrypt(context.Background(), "s.yaml", enc)
			if err != nil || !bytes.Contains(plain, []byte("hunter2-plaintext")) {
				t.Errorf("Decrypt = %v", err)
			}
		})
	}
	wg.Wait()
}

func TestDecryptShamir(t *testing.T) {
	a, publicA := sopstest.NewKey(t)
	b, publicB := sopstest.NewKey(t)
	_, publicC := sopstest.NewKey(t)
	enc := sopstest.Encrypt(t, "s.yaml", []byte(secretYAML), sopstest.Options{
		KeyGroups:       [][]string{{publicA}, {publicB}, {publicC}},
		ShamirThreshold: 2,
	})
	plain := decryptOK(t, newDecrypter(t, a, b), "s.yaml", enc)
	if !bytes.Contains(plain, []byte("hunter2-plaintext")) {
		t.Errorf("plaintext lacks the secret:\n%s", plain)
	}
	err := decryptErr(t, newDecrypter(t, a), "s.yaml", enc, a, "hunter2-plaintext")
	if !errors.Is(err, sops.ErrNoKey) || !strings.Contains(err.Error(), "3 key groups and needs 2, the keys open 1") {
		t.Errorf("error %q, want ErrNoKey counting the groups", err)
	}
}

func TestDecryptWithoutKeys(t *testing.T) {
	_, public := sopstest.NewKey(t)
	enc := sopstest.Encrypt(t, "apps/db/secret.yaml", []byte(secretYAML), sopstest.Options{}, public)
	d := projectKeys(t, "team-a")
	err := decryptErr(t, d, "apps/db/secret.yaml", enc, "hunter2-plaintext", "c2VjcmV0LWJ5dGVz")
	if !errors.Is(err, sops.ErrNoKey) || !strings.Contains(err.Error(), "Secret soll/soll-sops-keys") || !strings.Contains(err.Error(), "no age key of project team-a") {
		t.Errorf("error %q: want ErrNoKey naming the project and the Secret to create", err)
	}
	plain := []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n")
	out, encrypted, err := d.Decrypt(context.Background(), "apps/db/cm.yaml", plain)
	if err != nil || encrypted || string(out) != string(plain) {
		t.Errorf("plain file: got %q, %v, %v", out, encrypted, err)
	}
}
