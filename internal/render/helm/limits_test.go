package helm_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
	"soll.dev/internal/render/helm"
	"soll.dev/internal/render/helm/helmtest"
	"soll.dev/internal/render/rendertest"
)

// demoRepo writes a small chart at apps/demo and returns the root.
func demoRepo(t *testing.T, extra map[string]string) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"apps/demo/Chart.yaml":        chartYAML("demo", "0.1.0"),
		"apps/demo/templates/cm.yaml": configMap("demo", "k", "{{ .Values.k | default \"v\" }}"),
	}
	for k, v := range extra {
		files[k] = v
	}
	rendertest.WriteFiles(t, root, files)
	return root
}

func renderDemo(t *testing.T, r *helm.Renderer, root string, h *sollv1.HelmSource) error {
	t.Helper()
	res, err := r.Render(context.Background(), render.Request{Root: root, Path: "apps/demo", Helm: h, App: render.AppInfo{Name: "demo"}})
	if err == nil {
		t.Fatalf("no error; %d objects", len(res.Objects))
	}
	if res != nil {
		t.Errorf("a result came with the error %v", err)
	}
	return err
}

func TestValueFilesConfined(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	rendertest.WriteFiles(t, outside, map[string]string{"secret.yaml": "k: stolen\n"})
	tests := []struct {
		name  string
		setup func(t *testing.T, root string)
		file  string
		match error
		text  string
	}{
		{"climbing out with ..", nil, "../../../secret.yaml", confine.ErrParent, ""},
		{"absolute", nil, filepath.Join(outside, "secret.yaml"), confine.ErrAbsolute, ""},
		{"symlinked out", func(t *testing.T, root string) {
			if err := os.Symlink(filepath.Join(outside, "secret.yaml"), filepath.Join(root, "apps/demo/link.yaml")); err != nil {
				t.Fatal(err)
			}
		}, "link.yaml", confine.ErrEscape, ""},
		{"symlink loop", func(t *testing.T, root string) {
			if err := os.Symlink("b.yaml", filepath.Join(root, "apps/demo/a.yaml")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("a.yaml", filepath.Join(root, "apps/demo/b.yaml")); err != nil {
				t.Fatal(err)
			}
		}, "a.yaml", confine.ErrLoop, ""},
		{"unknown ref", nil, "$nowhere/values.yaml", nil, "no source of this application has the ref"},
		{"ref climbing out", nil, "$config/../secret.yaml", confine.ErrParent, ""},
		{"URL", nil, "https://example.com/values.yaml", nil, "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := demoRepo(t, nil)
			if tt.setup != nil {
				tt.setup(t, root)
			}
			h := &sollv1.HelmSource{ValueFiles: []string{tt.file}, IgnoreMissingValueFiles: true}
			r := &helm.Renderer{}
			res, err := r.Render(context.Background(), render.Request{
				Root: root, Path: "apps/demo", Helm: h, App: render.AppInfo{Name: "demo"},
				Refs: map[string]string{"config": t.TempDir()},
			})
			if err == nil {
				t.Fatalf("no error; objects %v", summary(res))
			}
			var re *render.Error
			if !errors.As(err, &re) || re.File == "" {
				t.Errorf("error %v does not name the file", err)
			}
			if tt.match != nil && !errors.Is(err, tt.match) {
				t.Errorf("error = %v, want %v", err, tt.match)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not say %q", err, tt.text)
			}
			if tt.match != confine.ErrAbsolute && strings.Contains(err.Error(), outside) {
				t.Errorf("error %q quotes an absolute path", err)
			}
		})
	}
}

func TestHugeValuesFile(t *testing.T) {
	t.Parallel()
	root := demoRepo(t, nil)
	f, err := os.Create(filepath.Join(root, "apps/demo/big.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(50 << 20); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	err = renderDemo(t, &helm.Renderer{}, root, &sollv1.HelmSource{ValueFiles: []string{"big.yaml"}})
	re := checkError(t, err, "apps/demo/big.yaml", "limit")
	var le *render.LimitError
	if !errors.As(re, &le) || le.Limit != render.LimitFileBytes {
		t.Errorf("error %v is not a MaxFileBytes LimitError", err)
	}
}

func TestTemplateErrors(t *testing.T) {
	t.Parallel()
	t.Run("names file and line", func(t *testing.T) {
		root := demoRepo(t, map[string]string{
			"apps/demo/templates/bad.yaml": "apiVersion: v1\nkind: ConfigMap\n{{ .Values.missing.deeper }}\n",
		})
		err := renderDemo(t, &helm.Renderer{}, root, nil)
		re := checkError(t, err, "apps/demo/templates/bad.yaml", "nil pointer")
		if re.Line != 3 {
			t.Errorf("line = %d, want 3 (%v)", re.Line, err)
		}
	})
	t.Run("parse error", func(t *testing.T) {
		root := demoRepo(t, map[string]string{
			"apps/demo/templates/bad.yaml": "a: b\n\n{{ if }}\n",
		})
		err := renderDemo(t, &helm.Renderer{}, root, nil)
		re := checkError(t, err, "apps/demo/templates/bad.yaml", "missing value for if")
		if re.Line != 3 {
			t.Errorf("line = %d, want 3 (%v)", re.Line, err)
		}
	})
	t.Run("never quotes values", func(t *testing.T) {
		root := demoRepo(t, map[string]string{
			"apps/demo/templates/bad.yaml": "data:\n  x: {{ tpl .Values.password . }}\n",
		})
		err := renderDemo(t, &helm.Renderer{}, root, &sollv1.HelmSource{Values: "password: \"{{ hunter2\"\n"})
		_ = checkError(t, err, "apps/demo/templates/bad.yaml", "")
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error %q quotes a value", err)
		}
	})
	t.Run("fail in an included helper", func(t *testing.T) {
		root := demoRepo(t, map[string]string{
			"apps/demo/templates/_helpers.tpl": "{{ define \"x\" }}\n{{ fail \"set .Values.name\" }}\n{{ end }}\n",
			"apps/demo/templates/bad.yaml":     "{{ include \"x\" . }}\n",
		})
		err := renderDemo(t, &helm.Renderer{}, root, nil)
		// helm locates fail at the template that runs it.
		re := checkError(t, err, "apps/demo/templates/bad.yaml", "execution error: set .Values.name")
		if re.Line != 1 {
			t.Errorf("line = %d, want 1 (%v)", re.Line, err)
		}
	})
}

func TestTemplateTimeout(t *testing.T) {
	root := demoRepo(t, map[string]string{
		"apps/demo/templates/loop.yaml": "{{ range $i := until 1000000 }}{{ range $j := until 1000000 }}{{ $_ := add $i $j }}{{ end }}{{ end }}\n",
	})
	start := time.Now()
	err := renderDemo(t, &helm.Renderer{Limits: render.Limits{Timeout: 300 * time.Millisecond}}, root, nil)
	rendertest.IsLimit(t, err, render.LimitTimeout)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("render took %s", d)
	}
}

func TestTemplateExplodes(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"huge range":  "{{ range until 100000000 }}x{{ end }}\n",
		"huge repeat": "x: {{ repeat 100000000 \"abc\" }}\n",
	}
	for name, tpl := range tests {
		t.Run(name, func(t *testing.T) {
			root := demoRepo(t, map[string]string{"apps/demo/templates/boom.yaml": tpl})
			err := renderDemo(t, &helm.Renderer{}, root, nil)
			_ = checkError(t, err, "apps/demo/templates/boom.yaml", "limit")
		})
	}
	t.Run("output above the file limit", func(t *testing.T) {
		root := demoRepo(t, map[string]string{"apps/demo/templates/boom.yaml": "{{ range until 100000 }}xxxxxxxxxxxxxxxxxxxx{{ end }}\n"})
		err := renderDemo(t, &helm.Renderer{Limits: render.Limits{MaxFileBytes: 1 << 20}}, root, nil)
		re := checkError(t, err, "apps/demo/templates/boom.yaml", "limit")
		var le *render.LimitError
		if !errors.As(re, &le) || le.Limit != render.LimitFileBytes {
			t.Errorf("error %v is not a MaxFileBytes LimitError", err)
		}
	})
}

// chartFromArchive renders a chart served by a repository as archive.
// serveChart serves a repository under dir ("" or "/path") whose index
// lists archive as demo 0.1.0, at a relative URL.
func serveChart(t *testing.T, dir string, archive []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case dir + "/index.yaml":
			_, _ = w.Write([]byte("apiVersion: v1\nentries:\n  demo:\n    - apiVersion: v2\n      name: demo\n      version: 0.1.0\n      urls: [demo-0.1.0.tgz]\n"))
		case dir + "/demo-0.1.0.tgz":
			_, _ = w.Write(archive)
		default:
			http.NotFound(w, req)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func chartFromArchive(t *testing.T, r *helm.Renderer, archive []byte) error {
	t.Helper()
	srv := serveChart(t, "", archive)
	res, err := r.Render(context.Background(), render.Request{
		Chart: &render.ChartRef{RepoURL: srv.URL, Chart: "demo", Version: "0.1.0"},
		App:   render.AppInfo{Name: "demo"},
	})
	if err == nil {
		t.Fatalf("no error; objects %v", summary(res))
	}
	return err
}

func TestBadArchives(t *testing.T) {
	t.Parallel()
	chartFile := helmtest.TarEntry{Name: "demo/Chart.yaml", Body: chartYAML("demo", "0.1.0")}
	t.Run("expands beyond the limit", func(t *testing.T) {
		archive := helmtest.MakeArchive(t, chartFile, helmtest.TarEntry{Name: "demo/files/zeros", Size: 4 << 20})
		err := chartFromArchive(t, &helm.Renderer{Limits: render.Limits{MaxTotalBytes: 1 << 20}}, archive)
		rendertest.IsLimit(t, err, render.LimitTotalBytes)
	})
	t.Run("too many files", func(t *testing.T) {
		entries := []helmtest.TarEntry{chartFile}
		for i := range 50 {
			entries = append(entries, helmtest.TarEntry{Name: "demo/files/f" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Body: "x"})
		}
		err := chartFromArchive(t, &helm.Renderer{Limits: render.Limits{MaxFiles: 20}}, helmtest.MakeArchive(t, entries...))
		rendertest.IsLimit(t, err, render.LimitFiles)
	})
	refused := map[string]struct {
		entry helmtest.TarEntry
		text  string
	}{
		"../ entry": {helmtest.TarEntry{Name: "demo/../../evil.yaml", Body: "x"}, "a .. element"},
		"absolute":  {helmtest.TarEntry{Name: "/etc/evil.yaml", Body: "x"}, "absolute"},
		"symlink":   {helmtest.TarEntry{Name: "demo/templates/link.yaml", Type: tar.TypeSymlink, Linkname: "/etc/passwd"}, "symlink"},
		"hard link": {helmtest.TarEntry{Name: "demo/templates/link.yaml", Type: tar.TypeLink, Linkname: "demo/Chart.yaml"}, "link"},
		"device":    {helmtest.TarEntry{Name: "demo/templates/dev", Type: tar.TypeChar}, "not a regular file"},
	}
	for name, tt := range refused {
		t.Run(name, func(t *testing.T) {
			err := chartFromArchive(t, &helm.Renderer{}, helmtest.MakeArchive(t, chartFile, tt.entry))
			var re *render.Error
			if !errors.As(err, &re) {
				t.Errorf("error %v is not a *render.Error", err)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not say %q", err, tt.text)
			}
		})
	}
}

func TestEndlessIndex(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if _, err := w.Write([]byte("apiVersion: v1\nentries:\n")); err != nil {
			return
		}
		line := []byte(strings.Repeat("#", 1023) + "\n")
		for req.Context().Err() == nil {
			if _, err := w.Write(line); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	r := &helm.Renderer{MaxIndexBytes: 1 << 20}
	_, err := r.Render(context.Background(), render.Request{
		Chart: &render.ChartRef{RepoURL: srv.URL, Chart: "demo"},
		App:   render.AppInfo{Name: "demo"},
	})
	rendertest.IsLimit(t, err, helm.LimitIndexBytes)
}

// paxPadding returns n local extended (PAX) headers of about 1 MiB each,
// the most Go's tar reader takes in one, which the reader skips between
// two entries on its own: each holds a comment record of padding.
func paxPadding(n int) []byte {
	const size = 1000 << 10
	value := strings.Repeat("a", size-len("1024000 comment=\n"))
	record := fmt.Sprintf("%d comment=%s\n", size, value)
	hdr := make([]byte, 512)
	copy(hdr, "PaxHeaders/padding")
	copy(hdr[100:], "0000644\x00")
	copy(hdr[108:], "0000000\x00")
	copy(hdr[116:], "0000000\x00")
	copy(hdr[124:], fmt.Sprintf("%011o\x00", len(record)))
	copy(hdr[136:], "00000000000\x00")
	hdr[156] = tar.TypeXHeader
	copy(hdr[257:], "ustar\x0000")
	copy(hdr[148:], "        ")
	sum := 0
	for _, b := range hdr {
		sum += int(b)
	}
	copy(hdr[148:], fmt.Sprintf("%06o\x00 ", sum))
	block := append(hdr, record...)
	block = append(block, make([]byte, (512-len(record)%512)%512)...)
	return bytes.Repeat(block, n)
}

// TestArchiveExtendedHeaders: extended headers count against the render's
// byte limit like file bodies, so an archive of a few hundred KiB that
// inflates to hundreds of MiB of PAX headers is refused at the limit,
// without reading or allocating the rest.
func TestArchiveExtendedHeaders(t *testing.T) {
	plain := helmtest.MakeArchive(t,
		helmtest.TarEntry{Name: "demo/Chart.yaml", Body: chartYAML("demo", "0.1.0")},
		helmtest.TarEntry{Name: "demo/templates/cm.yaml", Body: configMap("demo", "k", "v")})
	// The PAX headers go before the archive's first entry, which they
	// describe.
	gz, err := gzip.NewReader(bytes.NewReader(plain))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	w, _ := gzip.NewWriterLevel(&archive, gzip.BestCompression)
	const headers = 300 // 300 MiB inflated
	if _, err := w.Write(paxPadding(headers)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(entries); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if archive.Len() > 1<<20 {
		t.Fatalf("archive is %d bytes, want under 1 MiB", archive.Len())
	}

	elapsed, alloc := rendertest.Cost(func() {
		err = chartFromArchive(t, &helm.Renderer{Limits: render.Limits{MaxTotalBytes: 8 << 20}}, archive.Bytes())
	})
	if !rendertest.IsLimit(t, err, render.LimitTotalBytes) {
		t.FailNow()
	}
	for _, want := range []string{"render demo:", "chart demo 0.1.0", "headers included"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// Everything the render allocated, garbage included: the 8 MiB
	// allowed and the tar reader's buffers, not the 300 MiB of headers.
	if alloc > 64<<20 {
		t.Errorf("the render allocated %d MiB", alloc>>20)
	}
	if elapsed > 10*time.Second {
		t.Errorf("the refusal took %s", elapsed)
	}
}

// TestRunawayTemplateIsKilled: three nested range loops over a list of
// 1,500 items run for hours and grow their output without end, calling no
// function. The render fails at its time or memory limit, naming the
// chart, and nothing of it goes on: the controller's heap stays flat
// during and after the render, no goroutine is left running, and the
// process that ran the templates is gone.
func TestRunawayTemplateIsKilled(t *testing.T) {
	var items strings.Builder
	items.WriteString("items:\n")
	for i := range 1500 {
		fmt.Fprintf(&items, "  - %d\n", i)
	}
	root := demoRepo(t, map[string]string{
		"apps/demo/values.yaml": items.String(),
		"apps/demo/templates/loop.yaml": "{{- range $a := .Values.items }}{{- range $b := $.Values.items }}" +
			"{{- range $c := $.Values.items }}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n{{ end }}{{ end }}{{ end }}\n",
	})
	const timeout = 5 * time.Second
	r := &helm.Renderer{Limits: render.Limits{Timeout: timeout, MaxMemoryBytes: 256 << 20}}

	runtime.GC()
	goroutines := runtime.NumGoroutine()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	peak := base
	sample := func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				sample()
			}
		}
	}()

	start := time.Now()
	err := renderDemo(t, r, root, nil)
	elapsed := time.Since(start)

	var le *render.LimitError
	if !errors.As(err, &le) || (le.Limit != render.LimitTimeout && le.Limit != render.LimitMemory) {
		t.Errorf("error %v is not a Timeout or MaxMemoryBytes LimitError", err)
	}
	if !strings.Contains(err.Error(), "render apps/demo") {
		t.Errorf("error %q does not name the chart", err)
	}
	t.Logf("after %s: %v", elapsed, err)
	if elapsed > timeout+10*time.Second {
		t.Errorf("the render took %s, with a timeout of %s", elapsed, timeout)
	}

	// After the render: every goroutine it started ends (the heap is
	// measured meanwhile), and no child process is left.
	close(stop)
	<-sampled
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		sample()
		time.Sleep(20 * time.Millisecond)
	}
	sample()
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines run after the render, %d before", n, goroutines)
	}
	if grew := int64(peak) - int64(base); grew > 50<<20 {
		t.Errorf("the heap grew by %d MiB during and after the render", grew>>20)
	}
	if kids := children(t); len(kids) > 0 {
		t.Errorf("processes %v started by the render still run", kids)
	}
}

// children returns the processes whose parent is this one.
func children(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	self := fmt.Sprint(os.Getpid())
	var kids []string
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // not a process, or gone
		}
		// pid (comm) state ppid ...: comm may hold spaces, not ")".
		_, rest, ok := strings.Cut(string(stat), ") ")
		if f := strings.Fields(rest); ok && len(f) > 1 && f[1] == self {
			kids = append(kids, e.Name())
		}
	}
	return kids
}
