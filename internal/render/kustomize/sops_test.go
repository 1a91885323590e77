package kustomize

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"soll.dev/internal/render"
	"soll.dev/internal/render/rendertest"
)

// fakeDecrypter "decrypts" files that start with "ENC:" by dropping the
// prefix and reversing the rest, and records the paths it saw.
type fakeDecrypter struct {
	mu    sync.Mutex
	paths []string
}

func (d *fakeDecrypter) Decrypt(_ context.Context, path string, data []byte) ([]byte, bool, error) {
	d.mu.Lock()
	d.paths = append(d.paths, path)
	d.mu.Unlock()
	rest, ok := bytes.CutPrefix(data, []byte("ENC:"))
	if !ok {
		return data, false, nil
	}
	if bytes.HasPrefix(rest, []byte("BAD")) {
		return nil, true, fmt.Errorf("decrypt %s: no key can open it", path)
	}
	plain := slices.Clone(rest)
	slices.Reverse(plain)
	return plain, true, nil
}

func encrypt(plain string) string {
	b := []byte(plain)
	slices.Reverse(b)
	return "ENC:" + string(b)
}

const password = "correct-horse-battery-staple"

func TestDecrypter(t *testing.T) {
	root := rendertest.Repo(t, map[string]string{
		"app/kustomization.yaml": "resources:\n- cm.yaml\nsecretGenerator:\n- name: db\n  files:\n  - password.txt\n",
		"app/cm.yaml":            encrypt("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  token: " + password + "\n"),
		"app/password.txt":       encrypt(password),
	})
	tmp := privateTemp(t)
	d := &fakeDecrypter{}
	objs, err := renderApp(t, &Renderer{}, render.Request{Root: root, Path: "app", Decrypter: d})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"app/kustomization.yaml", "app/cm.yaml", "app/password.txt"} {
		if !slices.Contains(d.paths, p) {
			t.Errorf("%s did not go through the decrypter (saw %v)", p, d.paths)
		}
	}
	m := byName(objs)
	if got := field(t, m["ConfigMap/settings"], "data", "token"); got != password {
		t.Errorf("decrypted resource token = %v", got)
	}
	var secret string
	for k, u := range m {
		if strings.HasPrefix(k, "Secret/db-") {
			secret = field(t, u, "data", "password.txt").(string)
		}
	}
	if secret != base64.StdEncoding.EncodeToString([]byte(password)) {
		t.Errorf("generated secret holds %q", secret)
	}
	checkNoPlaintextOnDisk(t, root, tmp)
}

func TestDecrypterErrorsHidePlaintext(t *testing.T) {
	tmp := privateTemp(t)
	root := rendertest.Repo(t, map[string]string{
		"app/kustomization.yaml": "resources:\n- cm.yaml\n- broken.yaml\n",
		"app/cm.yaml":            encrypt("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  token: " + password + "\n"),
		// Decrypts to YAML that kustomize cannot read.
		"app/broken.yaml": encrypt("kind: [" + password + "\n"),
	})
	_, err := renderApp(t, &Renderer{}, render.Request{Root: root, Path: "app", Decrypter: &fakeDecrypter{}})
	if err == nil || strings.Contains(err.Error(), password) || strings.Contains(err.Error(), "enots-yrettab") {
		t.Errorf("error = %v, want one without the plaintext", err)
	}

	root = rendertest.Repo(t, map[string]string{
		"app/kustomization.yaml": "resources:\n- cm.yaml\n",
		"app/cm.yaml":            "ENC:BAD",
	})
	_, err = renderApp(t, &Renderer{}, render.Request{Root: root, Path: "app", Decrypter: &fakeDecrypter{}})
	var re *render.Error
	if !errors.As(err, &re) || re.File != "app/cm.yaml" || !strings.Contains(err.Error(), "no key") {
		t.Errorf("error = %v, want the decrypter's error naming app/cm.yaml", err)
	}
	checkNoPlaintextOnDisk(t, root, tmp)
}

// privateTemp points the temporary directory of the process to a new empty
// one, for checkNoPlaintextOnDisk.
func privateTemp(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	return dir
}

// checkNoPlaintextOnDisk checks that no file under root, nor in tmp, holds
// the password.
func checkNoPlaintextOnDisk(t *testing.T, root, tmp string) {
	t.Helper()
	for _, dir := range []string{root, tmp} {
		// A file that cannot be read could hold it: that fails too.
		err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if bytes.Contains(data, []byte(password)) {
				t.Errorf("%s holds the plaintext", p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
