package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"soll.dev/internal/render/confine"
)

func TestErrorMessage(t *testing.T) {
	reason := errors.New("kind is missing")
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{File: "apps/web/deploy.yaml", Line: 17, Err: reason}, "render apps/web/deploy.yaml:17: kind is missing"},
		{&Error{File: "apps/web", Err: reason}, "render apps/web: kind is missing"},
		{&Error{Err: reason}, "render: kind is missing"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		var re *Error
		if wrapped := fmt.Errorf("sync app web: %w", tt.err); !errors.As(wrapped, &re) || !errors.Is(wrapped, reason) {
			t.Errorf("errors.As/Is do not see through %v", wrapped)
		}
	}
}

func TestLimitErrorMessage(t *testing.T) {
	tests := []struct {
		err  *LimitError
		want string
	}{
		{&LimitError{Limit: LimitFileBytes, Max: 8 << 20, Actual: 50 << 20},
			"file is 50 MiB, above the 8 MiB limit per file: split it or raise MaxFileBytes"},
		{&LimitError{Limit: LimitTotalBytes, Max: 32 << 20, Actual: 33<<20 + 512<<10},
			"files read add up to 33.5 MiB, above the 32 MiB limit per render: split the application or raise MaxTotalBytes"},
		{&LimitError{Limit: LimitFiles, Max: 10, Actual: 11},
			"more than 10 files and directories visited, the limit per render: narrow the path, exclude directories or raise MaxFiles"},
		{&LimitError{Limit: LimitTimeout, Max: int64(time.Minute)},
			"rendering took longer than 1m0s, the limit per render: make the application smaller or raise Timeout"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if !errors.Is(&LimitError{Limit: LimitTimeout}, context.DeadlineExceeded) {
		t.Error("a timeout is not context.DeadlineExceeded")
	}
	if errors.Is(&LimitError{Limit: LimitDepth}, context.DeadlineExceeded) {
		t.Error("a depth error is context.DeadlineExceeded")
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 bytes", 1023: "1023 bytes", 1024: "1 KiB", 1536: "1.5 KiB", 8 << 20: "8 MiB", 3 << 30: "3 GiB",
	} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestLimitsWithDefaults(t *testing.T) {
	if got := (Limits{}).WithDefaults(); got != DefaultLimits() {
		t.Errorf("zero Limits with defaults = %+v, want %+v", got, DefaultLimits())
	}
	got := (Limits{MaxDepth: 7, MaxFiles: -1}).WithDefaults()
	if got.MaxDepth != 7 || got.MaxFiles != -1 || got.MaxFileBytes != DefaultMaxFileBytes {
		t.Errorf("WithDefaults kept the wrong fields: %+v", got)
	}
}

func TestBudget(t *testing.T) {
	root := t.TempDir()
	for _, name := range []string{"a", "b", "c"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte("0123456789"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := confine.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	limitOf := func(err error) string {
		var le *LimitError
		if errors.As(err, &le) {
			return le.Limit
		}
		return fmt.Sprint(err)
	}

	b := NewBudget(Limits{MaxTotalBytes: 25, MaxFileBytes: 10, MaxFiles: 3, MaxDocuments: 2, MaxAliasNodes: 5, MaxDepth: 2})
	if _, err := b.ReadDir(r, "."); err != nil {
		t.Errorf("ReadDir at the limit: %v", err)
	}
	if _, err := b.ReadDir(r, "."); limitOf(err) != LimitFiles {
		t.Errorf("ReadDir above the limit = %v", err)
	}
	for _, name := range []string{"a", "b"} {
		if data, err := b.ReadFile(r, name); err != nil || string(data) != "0123456789" {
			t.Errorf("ReadFile(%s) = %q, %v", name, data, err)
		}
	}
	if _, err := b.ReadFile(r, "c"); limitOf(err) != LimitTotalBytes {
		t.Errorf("ReadFile above the total = %v", err)
	}
	if _, err := NewBudget(Limits{MaxFileBytes: 9}).ReadFile(r, "a"); limitOf(err) != LimitFileBytes {
		t.Errorf("ReadFile of a big file = %v", err)
	}
	if _, err := b.ReadFile(r, "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(missing) = %v", err)
	}
	for i := range 2 {
		if err := b.Document(); err != nil {
			t.Errorf("Document %d of 2: %v", i+1, err)
		}
	}
	if limitOf(b.Document()) != LimitDocuments {
		t.Error("Document does not stop after 2")
	}
	if b.AliasNodes(5) != nil || limitOf(b.AliasNodes(1)) != LimitAliasNodes {
		t.Error("AliasNodes does not stop after 5")
	}
	if b.Depth(2) != nil || limitOf(b.Depth(3)) != LimitDepth {
		t.Error("Depth does not stop after 2")
	}
}

func TestDetect(t *testing.T) {
	root, err := filepath.Abs("testdata/detect")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path  string
		want  Tool
		match error
	}{
		{path: "kustomize", want: ToolKustomize},
		{path: "kustomize-yml", want: ToolKustomize},
		{path: "kustomize-bare", want: ToolKustomize},
		{path: "kustomize-and-helm", want: ToolKustomize},
		{path: "helm", want: ToolHelm},
		{path: "./helm/", want: ToolHelm},
		{path: "jsonnet", want: ToolJsonnet},
		{path: "plain", want: ToolDirectory},
		{path: "empty", want: ToolDirectory},
		{path: "plain/chart", want: ToolHelm},
		{path: "missing", match: fs.ErrNotExist},
		{path: "../detect/helm", match: confine.ErrParent},
		{path: "/etc", match: confine.ErrAbsolute},
	}
	for _, tt := range tests {
		got, err := Detect(root, tt.path)
		if tt.match != nil {
			var re *Error
			if !errors.Is(err, tt.match) || !errors.As(err, &re) {
				t.Errorf("Detect(%q) = %q, %v; want a *Error matching %v", tt.path, got, err, tt.match)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Detect(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
		}
	}

	// The application path itself symlinked out of the repository.
	repo := t.TempDir()
	if err := os.Symlink(filepath.Join(root, "helm"), filepath.Join(repo, "app")); err != nil {
		t.Fatal(err)
	}
	if _, err := Detect(repo, "app"); !errors.Is(err, confine.ErrEscape) {
		t.Errorf("Detect through an escaping symlink = %v, want %v", err, confine.ErrEscape)
	}
}
