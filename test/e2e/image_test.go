package e2e

import (
	"archive/tar"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"soll.dev/internal/ociimage"
)

// TestImagePushPullRun builds soll's image from the binary under test,
// pushes it to a registry served over TLS with basic auth, pulls it back,
// unpacks its layers and runs the unpacked binary.
func TestImagePushPullRun(t *testing.T) {
	reg := startRegistry(t)
	idx := buildSollImage(t)
	ref, err := name.ParseReference(reg.host + "/soll/soll:v0.0.0-e2e")
	if err != nil {
		t.Fatal(err)
	}
	if err := ociimage.Push(idx, ref, remote.WithTransport(reg.transport)); err == nil {
		t.Fatal("a push without credentials succeeded")
	}
	if err := pushImage(idx, ref, reg); err != nil {
		t.Fatal(err)
	}

	pulled, err := remote.Index(ref, remote.WithTransport(reg.transport), reg.auth())
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	want, _ := idx.Digest()
	if got, _ := pulled.Digest(); got != want {
		t.Fatalf("pulled index %s, pushed %s", got, want)
	}
	img, err := ociimage.ImageFor(pulled, v1.Platform{OS: "linux", Architecture: runtime.GOARCH})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	unpack(t, img, root)
	out, err := exec.Command(filepath.Join(root, "soll"), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("soll version from the unpacked image: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "soll v0.0.0-e2e ") {
		t.Errorf("the unpacked binary printed %q, want soll v0.0.0-e2e", out)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/ssl/certs/ca-certificates.crt")); err != nil {
		t.Errorf("the image lacks its CA certificates: %v", err)
	}
}

// startRegistry serves a registry over TLS that wants basic auth, until
// the test ends.
func startRegistry(t *testing.T) *testRegistry {
	t.Helper()
	r := &testRegistry{user: "pusher", password: "s3cret"}
	srv := httptest.NewTLSServer(func() http.Handler {
		h := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if u, p, ok := req.BasicAuth(); !ok || u != r.user || p != r.password {
				w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, req)
		})
	}())
	t.Cleanup(srv.Close)
	r.host, r.transport = strings.TrimPrefix(srv.URL, "https://"), srv.Client().Transport
	return r
}

// buildSollImage builds soll's image from the binary under test, for this
// machine's architecture.
func buildSollImage(t *testing.T) v1.ImageIndex {
	t.Helper()
	idx, err := ociimage.Build(ociimage.Options{
		Binaries: []ociimage.Binary{{OS: "linux", Arch: runtime.GOARCH, Path: sollBin}},
		Version:  "v0.0.0-e2e", Revision: "e2e", Source: "https://soll.dev",
		Created: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// pushImage pushes idx to ref on reg with reg's credentials.
func pushImage(idx v1.ImageIndex, ref name.Reference, reg *testRegistry) error {
	return ociimage.Push(idx, ref, remote.WithTransport(reg.transport), reg.auth())
}

// unpack writes the regular files and directories of img's flattened file
// system under root.
func unpack(t *testing.T, img v1.Image, root string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, root+string(filepath.Separator)) {
			t.Fatalf("layer entry %q leaves the root", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				var f *os.File
				if f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode).Perm()); err == nil {
					_, err = io.Copy(f, tr)
					if cerr := f.Close(); err == nil {
						err = cerr
					}
				}
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
