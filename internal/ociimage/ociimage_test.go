package ociimage_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"debug/buildinfo"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	spdxjson "github.com/spdx/tools-golang/json"

	"soll.dev/internal/ociimage"
)

var created = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

var (
	helloOnce sync.Once
	helloPath string
	helloErr  error
)

// options builds an image of a small Go program with a module dependency
// (testdata/hello) for two platforms.
func options(t *testing.T) ociimage.Options {
	t.Helper()
	helloOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ociimage-hello")
		if err != nil {
			helloErr = err
			return
		}
		helloPath = filepath.Join(dir, "hello")
		out, err := exec.Command("go", "build", "-o", helloPath, "./testdata/hello").CombinedOutput()
		if err != nil {
			helloErr = fmt.Errorf("build testdata/hello: %v\n%s", err, out)
		}
	})
	if helloErr != nil {
		t.Fatal(helloErr)
	}
	exe := helloPath
	return ociimage.Options{
		Binaries: []ociimage.Binary{
			{OS: "linux", Arch: "amd64", Path: exe},
			{OS: "linux", Arch: "arm64", Path: exe},
		},
		Version: "v1.2.3", Revision: "0123456789abcdef0123456789abcdef01234567",
		Source: "https://soll.dev", Created: created,
	}
}

func TestBuildIsReproducibleAndComplete(t *testing.T) {
	o := options(t)
	idx, err := ociimage.Build(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("the index is not valid: %v", err)
	}
	again, err := ociimage.Build(o)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := idx.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("two builds of the same binaries differ: %s and %s", d1, d2)
	}
	later := o
	later.Created = created.Add(time.Second)
	other, err := ociimage.Build(later)
	if err != nil {
		t.Fatal(err)
	}
	if d3, _ := other.Digest(); d3 == d1 {
		t.Errorf("a build at another commit time has the same digest %s", d3)
	}

	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Errorf("index media type %q, want the OCI index", im.MediaType)
	}
	want := map[string]string{
		ociimage.AnnotationVersion:  "v1.2.3",
		ociimage.AnnotationRevision: o.Revision,
		ociimage.AnnotationSource:   "https://soll.dev",
		ociimage.AnnotationCreated:  "2026-12-01T10:00:00Z",
	}
	for k, v := range want {
		if im.Annotations[k] != v {
			t.Errorf("index annotation %s = %q, want %q", k, im.Annotations[k], v)
		}
	}
	var platforms []string
	for _, d := range im.Manifests {
		platforms = append(platforms, d.Platform.String())
	}
	if strings.Join(platforms, " ") != "linux/amd64 linux/arm64" {
		t.Errorf("platforms %v, want linux/amd64 and linux/arm64", platforms)
	}

	img, err := ociimage.ImageFor(idx, v1.Platform{OS: "linux", Architecture: "arm64"})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Architecture != "arm64" || cf.OS != "linux" {
		t.Errorf("config platform %s/%s, want linux/arm64", cf.OS, cf.Architecture)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("user %q: the image must not run as root", cf.Config.User)
	}
	if strings.Join(cf.Config.Entrypoint, " ") != "/soll" {
		t.Errorf("entrypoint %v, want /soll", cf.Config.Entrypoint)
	}
	if !cf.Created.Time.Equal(created) {
		t.Errorf("created %v, want the commit time %v", cf.Created.Time, created)
	}
	for k, v := range want {
		if cf.Config.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, cf.Config.Labels[k], v)
		}
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Annotations[ociimage.AnnotationVersion] != "v1.2.3" {
		t.Errorf("manifest annotations %v lack the version", m.Annotations)
	}

	files := extract(t, img)
	exe, _ := os.ReadFile(o.Binaries[1].Path)
	if f := files["soll"]; !bytes.Equal(f.data, exe) || f.mode != 0o755 || f.uid != 0 {
		t.Errorf("/soll: %d bytes, mode %o, uid %d; want the binary (%d bytes), 0755, root", len(f.data), f.mode, f.uid, len(exe))
	}
	if !strings.Contains(string(files["etc/passwd"].data), "soll:x:65532:65532:") {
		t.Errorf("/etc/passwd lacks the soll user:\n%s", files["etc/passwd"].data)
	}
	if f := files["tmp"]; f.mode != 0o1777 {
		t.Errorf("/tmp mode %o, want 1777", f.mode)
	}
	for name, f := range files {
		if !f.mtime.Equal(created) {
			t.Errorf("%s has time %v, want %v", name, f.mtime, created)
		}
	}
	pool, n := x509.NewCertPool(), 0
	rest := files["etc/ssl/certs/ca-certificates.crt"].data
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatalf("CA certificate %d: %v", n, err)
		}
		pool.AddCert(c)
		n++
	}
	if n < 100 {
		t.Errorf("%d CA certificates, want the Mozilla root store (over 100)", n)
	}

	doc, err := spdxjson.Read(bytes.NewReader(files["sbom/soll.spdx.json"].data))
	if err != nil {
		t.Fatalf("the SBOM is not SPDX JSON: %v", err)
	}
	bi, err := buildinfo.ReadFile(o.Binaries[1].Path)
	if err != nil {
		t.Fatal(err)
	}
	pkgs := map[string]string{}
	for _, p := range doc.Packages {
		pkgs[p.PackageName] = p.PackageVersion
	}
	if len(bi.Deps) == 0 {
		t.Fatal("the test binary has no dependencies to look for")
	}
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		if pkgs[d.Path] != d.Version {
			t.Errorf("SBOM: module %s has version %q, want %q", d.Path, pkgs[d.Path], d.Version)
		}
	}
	if pkgs["stdlib"] != bi.GoVersion {
		t.Errorf("SBOM: stdlib %q, want %q", pkgs["stdlib"], bi.GoVersion)
	}
}

func TestBuildRefusesBadOptions(t *testing.T) {
	o := options(t)
	o.Binaries = append(o.Binaries, o.Binaries[0])
	if _, err := ociimage.Build(o); err == nil || !strings.Contains(err.Error(), "linux/amd64 given twice") {
		t.Errorf("a platform given twice: %v", err)
	}
	o = options(t)
	o.Binaries[0].Path = filepath.Join(t.TempDir(), "missing")
	if _, err := ociimage.Build(o); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing binary: %v", err)
	}
	if _, err := ociimage.Build(ociimage.Options{Version: "v1", Created: created}); err == nil {
		t.Error("no binaries: no error")
	}
}

func TestLayoutAndArchive(t *testing.T) {
	idx, err := ociimage.Build(options(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	tag, _ := name.NewTag("soll:v1.2.3")
	if err := ociimage.WriteLayout(dir, idx, tag); err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	if len(tm.Manifests) != 1 || tm.Manifests[0].Digest != want {
		t.Fatalf("index.json holds %v, want the image index %s", tm.Manifests, want)
	}
	if a := tm.Manifests[0].Annotations; a[ociimage.AnnotationRefName] != "v1.2.3" || a[ociimage.AnnotationContainerdName] != "index.docker.io/library/soll:v1.2.3" {
		t.Errorf("index.json annotations %v", a)
	}
	read, err := top.ImageIndex(want)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(read); err != nil {
		t.Errorf("the index read back from the layout is not valid: %v", err)
	}

	archive := func() []byte {
		path := filepath.Join(t.TempDir(), "soll.tar")
		err := ociimage.WriteArchive(dir, path, idx, tag, v1.Platform{OS: "linux", Architecture: "amd64"}, created)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a1, a2 := archive(), archive()
	if sha256.Sum256(a1) != sha256.Sum256(a2) {
		t.Error("two archives of the same layout differ")
	}
	entries := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(a1))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		entries[h.Name] = b
	}
	for _, f := range []string{"index.json", "oci-layout", "manifest.json"} {
		if entries[f] == nil {
			t.Errorf("the archive lacks %s", f)
		}
	}
	var docker []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(entries["manifest.json"], &docker); err != nil || len(docker) != 1 {
		t.Fatalf("manifest.json: %v %s", err, entries["manifest.json"])
	}
	amd, _ := ociimage.ImageFor(idx, v1.Platform{OS: "linux", Architecture: "amd64"})
	cfgName, _ := amd.ConfigName()
	if docker[0].Config != "blobs/sha256/"+cfgName.Hex || len(docker[0].Layers) != 3 {
		t.Errorf("manifest.json names config %s and %d layers, want the amd64 image's %s and 3", docker[0].Config, len(docker[0].Layers), cfgName)
	}
	for _, l := range append([]string{docker[0].Config}, docker[0].Layers...) {
		if entries[l] == nil {
			t.Errorf("manifest.json names %s, which the archive lacks", l)
		}
	}
	if strings.Join(docker[0].RepoTags, ",") != "index.docker.io/library/soll:v1.2.3" {
		t.Errorf("RepoTags %v", docker[0].RepoTags)
	}
}

type file struct {
	data  []byte
	mode  int64
	uid   int
	mtime time.Time
}

// extract reads the flattened file system of img.
func extract(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	out := map[string]file{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = file{data: b, mode: h.Mode, uid: h.Uid, mtime: h.ModTime}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if helloPath != "" {
		if err := os.RemoveAll(filepath.Dir(helloPath)); err != nil {
			fmt.Fprintln(os.Stderr, "remove the test binary:", err)
		}
	}
	os.Exit(code)
}

func TestTag(t *testing.T) {
	for in, want := range map[string]string{"v1.2.0": "v1.2.0", "v1.2.0+build.5": "v1.2.0-build.5", "feature/x-dirty": "feature-x-dirty"} {
		if got := ociimage.Tag(in); got != want {
			t.Errorf("Tag(%q) = %q, want %q", in, got, want)
		}
	}
}
