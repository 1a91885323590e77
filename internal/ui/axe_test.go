package ui_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// axeRegistry is where the accessibility checker axe-core comes from: the
// npm registry, at test time. It is never committed.
const axeRegistry = "https://registry.npmjs.org/axe-core"

// axeScript returns axe.min.js of the newest axe-core 4.x, fetched from
// the npm registry once, its tarball checked against the registry's
// sha512 integrity, and cached in $HOME/.cache/soll.
func axeScript(t *testing.T) string {
	t.Helper()
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatalf("axe-core cache: %v", err)
	}
	dir := filepath.Join(home, ".cache", "soll")
	if cached, _ := filepath.Glob(filepath.Join(dir, "axe-core-4.*.min.js")); len(cached) > 0 {
		slices.SortFunc(cached, func(a, b string) int { return compareVersions(axeVersion(a), axeVersion(b)) })
		b, err := os.ReadFile(cached[len(cached)-1])
		if err == nil {
			return string(b)
		}
	}
	src, version, err := fetchAxe()
	if err != nil {
		t.Fatalf("fetch axe-core from %s for the accessibility checks: %v", axeRegistry, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("axe-core cache: %v", err)
	}
	tmp, err := os.CreateTemp(dir, "axe-*.tmp")
	if err != nil {
		t.Fatalf("axe-core cache: %v", err)
	}
	_, err = tmp.Write(src)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, "axe-core-"+version+".min.js"))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		t.Fatalf("axe-core cache: %v", err)
	}
	return string(src)
}

func axeVersion(path string) string {
	return strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "axe-core-"), ".min.js")
}

// compareVersions orders "4.10.2" after "4.9.0"; pre-releases are not
// expected (fetchAxe skips them).
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, _ := strconv.Atoi(as[i])
		y, _ := strconv.Atoi(bs[i])
		if x != y {
			return x - y
		}
	}
	return len(as) - len(bs)
}

func fetchAxe() (src []byte, version string, err error) {
	hc := &http.Client{Timeout: 2 * time.Minute}
	req, err := http.NewRequest(http.MethodGet, axeRegistry, nil)
	if err != nil {
		return nil, "", err
	}
	// The abbreviated document: versions and their dist only.
	req.Header.Set("Accept", "application/vnd.npm.install-v1+json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("the registry answered %s", resp.Status)
	}
	var doc struct {
		Versions map[string]struct {
			Dist struct{ Tarball, Integrity string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, "", fmt.Errorf("read the registry's answer: %w", err)
	}
	for v := range doc.Versions {
		if strings.HasPrefix(v, "4.") && !strings.Contains(v, "-") && (version == "" || compareVersions(v, version) > 0) {
			version = v
		}
	}
	if version == "" {
		return nil, "", errors.New("the registry lists no axe-core 4.x release")
	}
	dist := doc.Versions[version].Dist
	want, ok := strings.CutPrefix(dist.Integrity, "sha512-")
	if !ok || dist.Tarball == "" {
		return nil, "", fmt.Errorf("axe-core %s has no tarball with a sha512 integrity (%q)", version, dist.Integrity)
	}
	resp, err = hc.Get(dist.Tarball)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("%s: %s", dist.Tarball, resp.Status)
	}
	tgz, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, "", err
	}
	sum := sha512.Sum512(tgz)
	if base64.StdEncoding.EncodeToString(sum[:]) != want {
		return nil, "", fmt.Errorf("%s does not match its sha512 integrity %s", dist.Tarball, dist.Integrity)
	}
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, "", err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, "", fmt.Errorf("no package/axe.min.js in %s: %w", dist.Tarball, err)
		}
		if h.Name == "package/axe.min.js" {
			src, err := io.ReadAll(io.LimitReader(tr, 16<<20))
			return src, version, err
		}
	}
}
