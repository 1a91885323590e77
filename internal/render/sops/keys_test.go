package sops_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"soll.dev/internal/render/sops"
	"soll.dev/internal/render/sops/sopstest"
)

func TestKeysRefused(t *testing.T) {
	secret, public := sopstest.NewKey(t)
	truncated := secret[:len(secret)-4]
	tests := []struct {
		name string
		data map[string][]byte
		want string
	}{
		{"empty", map[string][]byte{}, "holds no age secret key"},
		{"comments only", map[string][]byte{"k": []byte("# " + secret + "\n")}, "holds no age secret key"},
		{"malformed key", map[string][]byte{"k": []byte(secret + "\n" + truncated + "\n")}, `Secret soll/keys, data key "k", line 2: malformed age secret key`},
		{"public key", map[string][]byte{"k": []byte(public)}, "not an age secret key"},
		{"plugin", map[string][]byte{"k": []byte("AGE-PLUGIN-YUBIKEY-1QQQQQQ")}, "plugin identities are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := sops.ParseKeySecret("soll", "keys", map[string]string{sops.ProjectsAnnotation: "team-a"}, tt.data)
			_, err := sops.ForProject("soll", "team-a", []*sops.KeySecret{k})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ForProject = %v, want an error saying %q", err, tt.want)
			}
			for _, s := range []string{secret, truncated, secret[len("AGE-SECRET-KEY-1"):][:10], "QQQQQQ"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q quotes key material", err)
				}
			}
			// The malformed Secret serves team-a only: team-b's apps
			// are not held back by it.
			if _, err := sops.ForProject("soll", "team-b", []*sops.KeySecret{k}); err != nil {
				t.Errorf("ForProject(team-b) = %v, want no error from a Secret of team-a", err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	a, publicA := sopstest.NewKey(t)
	b, publicB := sopstest.NewKey(t)
	d, err := sops.New(a+" "+b, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.Recipients(), ","); got != publicA+","+publicB {
		t.Errorf("Recipients() = %s", got)
	}
	if _, err := sops.New(); err == nil {
		t.Error("New() without keys succeeded")
	}
}

// TestKeysScopedToProjects: a Secret's keys decrypt only for the Projects
// its annotation names ("*": all), and a Secret without the annotation
// serves none.
func TestKeysScopedToProjects(t *testing.T) {
	keyA, publicA := sopstest.NewKey(t)
	keyB, publicB := sopstest.NewKey(t)
	keyShared, publicShared := sopstest.NewKey(t)
	keyUnscoped, publicUnscoped := sopstest.NewKey(t)
	secrets := []*sops.KeySecret{
		sops.ParseKeySecret("soll", "team-a-keys", map[string]string{sops.ProjectsAnnotation: "team-a"}, map[string][]byte{"k": []byte(keyA)}),
		sops.ParseKeySecret("soll", "team-b-keys", map[string]string{sops.ProjectsAnnotation: " team-b , team-c"}, map[string][]byte{"k": []byte(keyB)}),
		sops.ParseKeySecret("soll", "shared", map[string]string{sops.ProjectsAnnotation: sops.AllProjects}, map[string][]byte{"k": []byte(keyShared)}),
		sops.ParseKeySecret("soll", sops.SecretName, nil, map[string][]byte{"k": []byte(keyUnscoped)}),
	}
	files := map[string][]byte{
		"a":        sopstest.Encrypt(t, "s.yaml", []byte(secretYAML), sopstest.Options{}, publicA),
		"b":        sopstest.Encrypt(t, "s.yaml", []byte(secretYAML), sopstest.Options{}, publicB),
		"shared":   sopstest.Encrypt(t, "s.yaml", []byte(secretYAML), sopstest.Options{}, publicShared),
		"unscoped": sopstest.Encrypt(t, "s.yaml", []byte(secretYAML), sopstest.Options{}, publicUnscoped),
	}
	tests := []struct {
		project string
		opens   []string
	}{
		{"team-a", []string{"a", "shared"}},
		{"team-b", []string{"b", "shared"}},
		{"team-c", []string{"b", "shared"}},
		{"team-d", []string{"shared"}},
	}
	for _, tt := range tests {
		t.Run(tt.project, func(t *testing.T) {
			d := projectKeys(t, tt.project, secrets...)
			for name, enc := range files {
				_, _, err := d.Decrypt(context.Background(), "s.yaml", enc)
				if want := slices.Contains(tt.opens, name); want != (err == nil) {
					t.Errorf("decrypt the file of %s: %v, want success %v", name, err, want)
				}
				if err == nil {
					continue
				}
				if !errors.Is(err, sops.ErrNoKey) {
					t.Errorf("error %q is not ErrNoKey", err)
				}
				for _, want := range []string{"no age key of project " + tt.project + " can decrypt it", "Secret soll/soll-sops-keys has no annotation soll.dev/sops-projects"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
			}
		})
	}
}

// TestDecryptValues: the values that were encrypted come back, the
// unencrypted ones and an object's apiVersion, kind and metadata do not.
func TestDecryptValues(t *testing.T) {
	secret, public := sopstest.NewKey(t)
	d := newDecrypter(t, secret)
	tests := []struct {
		name, path, plain string
		opts              sopstest.Options
		want              []string
	}{
		{"object", "s.yaml", secretYAML, sopstest.Options{}, []string{"hunter2-plaintext", "c2VjcmV0LWJ5dGVz", "Opaque"}},
		{"encrypted regex", "s.yaml", secretYAML, sopstest.Options{EncryptedRegex: "^(data|stringData)$"}, []string{"hunter2-plaintext", "visible", "c2VjcmV0LWJ5dGVz"}},
		{"dotenv", "app.env", "PASSWORD=hunter2-plaintext\nUSER_unencrypted=app\n", sopstest.Options{}, []string{"hunter2-plaintext"}},
		{"not an object", "config.yaml", "name: db-main\nlist: [one-secret, {deep: two-secret}]\n", sopstest.Options{}, []string{"db-main", "one-secret", "two-secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := sopstest.Encrypt(t, tt.path, []byte(tt.plain), tt.opts, public)
			_, values, encrypted, err := d.DecryptValues(context.Background(), tt.path, enc)
			if err != nil || !encrypted {
				t.Fatalf("DecryptValues: %v, encrypted %v", err, encrypted)
			}
			slices.Sort(values)
			slices.Sort(tt.want)
			if !slices.Equal(values, tt.want) {
				t.Errorf("values = %q, want %q", values, tt.want)
			}
		})
	}
}
