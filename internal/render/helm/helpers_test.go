package helm_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	"sigs.k8s.io/yaml"

	"soll.dev/internal/render"
)

// writeFiles writes files (slash-separated names relative to dir) into dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// chartYAML is the Chart.yaml of a chart without dependencies.
func chartYAML(name, version string) string {
	return fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\n", name, version)
}

// configMap is a template rendering one ConfigMap named name with data
// key=value.
func configMap(name, key, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  %s: %s\n", name, key, value)
}

// packageChart builds a chart directory from files and packages it with
// helm's own packaging, returning the .tgz.
func packageChart(t *testing.T, files map[string]string) ([]byte, *chart.Chart) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
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

// chartRepo is an in-test Helm chart repository.
type chartRepo struct {
	*httptest.Server
	index  *repo.IndexFile
	charts map[string][]byte // file name → archive
	// user and password, when set, are required as basic auth.
	user, password string
}

// newChartRepo serves charts (archives) as a Helm repository, over TLS when
// tls is set.
func newChartRepo(t *testing.T, tls bool, archives ...[]byte) *chartRepo {
	t.Helper()
	r := &chartRepo{index: repo.NewIndexFile(), charts: map[string][]byte{}}
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.user != "" {
			u, p, ok := req.BasicAuth()
			if !ok || u != r.user || p != r.password {
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
			w.Write(data)
			return
		}
		data, ok := r.charts[name]
		if !ok {
			http.NotFound(w, req)
			return
		}
		w.Write(data)
	})
	if tls {
		r.Server = httptest.NewTLSServer(handler)
	} else {
		r.Server = httptest.NewServer(handler)
	}
	t.Cleanup(r.Close)
	for _, a := range archives {
		r.add(t, a)
	}
	return r
}

// add adds a packaged chart to the repository.
func (r *chartRepo) add(t *testing.T, archive []byte) {
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

// caPEM returns the PEM of the test server's certificate, to trust it.
func caPEM(s *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}

// tarEntry is one entry of a hand-made archive.
type tarEntry struct {
	name     string
	typ      byte
	body     string
	size     int64 // for a body of zeros, instead of body
	linkname string
}

// makeArchive writes a .tgz with the given entries, for archives helm's
// packaging would not write.
func makeArchive(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		size := int64(len(e.body))
		if e.size > 0 {
			size = e.size
		}
		if typ != tar.TypeReg {
			size = 0
		}
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Typeflag: typ, Size: size, Mode: 0o644, Linkname: e.linkname}); err != nil {
			t.Fatal(err)
		}
		if typ != tar.TypeReg {
			continue
		}
		if e.size > 0 {
			zeros := make([]byte, 1<<20)
			for left := e.size; left > 0; left -= int64(len(zeros)) {
				if _, err := tw.Write(zeros[:min(left, int64(len(zeros)))]); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
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

// summary lists objects as "Kind/name file" lines, for comparisons.
func summary(res *render.Result) []string {
	var out []string
	for _, o := range res.Objects {
		out = append(out, fmt.Sprintf("%s/%s %s", o.Unstructured.GetKind(), o.Unstructured.GetName(), o.Origin.File))
	}
	return out
}
