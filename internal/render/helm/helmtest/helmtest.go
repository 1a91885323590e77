package helmtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/registry"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	"sigs.k8s.io/yaml"

	"soll.dev/internal/render/rendertest"
)

// PackageChart builds a chart directory from files (slash-separated names)
// and packages it with helm's own packaging, returning the .tgz.
func PackageChart(t *testing.T, files map[string]string) ([]byte, *chart.Chart) {
	t.Helper()
	dir := t.TempDir()
	rendertest.WriteFiles(t, dir, files)
	ch, err := loader.LoadDir(dir)
	if err != nil {
		t.Fatalf("load test chart: %v", err)
	}
	out := t.TempDir()
	file, err := chartutil.Save(ch, out)
	if err != nil {
		t.Fatalf("package test chart: %v", err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return data, ch
}

// Repo is an in-test Helm chart repository.
type Repo struct {
	*httptest.Server
	index  *repo.IndexFile
	charts map[string][]byte // file name → archive
	// User and Password, when set, are required as basic auth.
	User, Password string
}

// NewRepo serves charts (archives) as a Helm repository, over TLS when tls
// is set, until the test ends.
func NewRepo(t *testing.T, tls bool, archives ...[]byte) *Repo {
	t.Helper()
	r := &Repo{index: repo.NewIndexFile(), charts: map[string][]byte{}}
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.User != "" {
			u, p, ok := req.BasicAuth()
			if !ok || u != r.User || p != r.Password {
				w.Header().Set("WWW-Authenticate", `Basic realm="charts"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		name := strings.TrimPrefix(req.URL.Path, "/")
		if name == "index.yaml" {
			data, err := yaml.Marshal(r.index)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			_, _ = w.Write(data)
			return
		}
		data, ok := r.charts[name]
		if !ok {
			http.NotFound(w, req)
			return
		}
		_, _ = w.Write(data)
	})
	if tls {
		r.Server = httptest.NewTLSServer(handler)
	} else {
		r.Server = httptest.NewServer(handler)
	}
	t.Cleanup(r.Close)
	for _, a := range archives {
		r.Add(t, a)
	}
	return r
}

// Add adds a packaged chart to the repository.
func (r *Repo) Add(t *testing.T, archive []byte) {
	t.Helper()
	ch, err := loader.LoadArchive(bytes.NewReader(archive))
	if err != nil {
		t.Fatalf("load test archive: %v", err)
	}
	name := fmt.Sprintf("%s-%s.tgz", ch.Name(), ch.Metadata.Version)
	r.charts[name] = archive
	// Relative URLs, as `helm repo index` writes without --url.
	if err := r.index.MustAdd(ch.Metadata, name, "", "sha256:0"); err != nil {
		t.Fatal(err)
	}
	r.index.SortEntries()
}

// Registry is an in-test OCI registry over TLS that takes basic auth.
type Registry struct {
	*httptest.Server
	// Host is the registry's host:port, as in oci://Host/path.
	Host        string
	push        *registry.Client
	hideCatalog atomic.Bool
}

// NewRegistry serves an OCI registry (go-containerregistry's) over TLS
// until the test ends; every request needs basic auth as user and
// password.
func NewRegistry(t *testing.T, user, password string) *Registry {
	t.Helper()
	r := &Registry{}
	handler := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	r.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if u, p, ok := req.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.hideCatalog.Load() && req.URL.Path == "/v2/_catalog" {
			http.NotFound(w, req)
			return
		}
		handler.ServeHTTP(w, req)
	}))
	t.Cleanup(r.Close)
	r.Host = strings.TrimPrefix(r.URL, "https://")
	var err error
	r.push, err = registry.NewClient(registry.ClientOptHTTPClient(r.Client()), registry.ClientOptBasicAuth(user, password),
		registry.ClientOptCredentialsFile(t.TempDir()+"/config.json"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Push pushes a packaged chart into the namespace path of the registry,
// such as charts: as path/<name>:<version>, as helm push does.
func (r *Registry) Push(t *testing.T, path string, archive []byte) {
	t.Helper()
	ch, err := loader.LoadArchive(bytes.NewReader(archive))
	if err != nil {
		t.Fatalf("load test archive: %v", err)
	}
	ref := fmt.Sprintf("%s/%s/%s:%s", r.Host, path, ch.Name(), ch.Metadata.Version)
	if _, err := r.push.Push(archive, ref); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
}

// HideCatalog makes the registry answer the catalog (GET /v2/_catalog)
// with 404 Not Found, as most public registries do.
func (r *Registry) HideCatalog() { r.hideCatalog.Store(true) }

// CAPEM returns the PEM of a TLS test server's certificate, to trust it.
func CAPEM(s *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}

// TarEntry is one entry of a hand-made archive.
type TarEntry struct {
	Name     string
	Type     byte // tar.TypeReg when zero
	Body     string
	Size     int64 // for a body of zeros, instead of Body
	Linkname string
}

// MakeArchive writes a .tgz with the given entries, for archives helm's
// packaging would not write.
func MakeArchive(t *testing.T, entries ...TarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		typ := e.Type
		if typ == 0 {
			typ = tar.TypeReg
		}
		size := int64(len(e.Body))
		if e.Size > 0 {
			size = e.Size
		}
		if typ != tar.TypeReg {
			size = 0
		}
		if err := tw.WriteHeader(&tar.Header{Name: e.Name, Typeflag: typ, Size: size, Mode: 0o644, Linkname: e.Linkname}); err != nil {
			t.Fatal(err)
		}
		if typ != tar.TypeReg {
			continue
		}
		if e.Size > 0 {
			zeros := make([]byte, 1<<20)
			for left := e.Size; left > 0; left -= int64(len(zeros)) {
				if _, err := tw.Write(zeros[:min(left, int64(len(zeros)))]); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		if _, err := tw.Write([]byte(e.Body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
