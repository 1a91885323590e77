package directory

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"soll.dev/internal/render"
	"soll.dev/internal/render/rendertest"
)

func TestLimits(t *testing.T) {
	bomb, err := os.ReadFile("../manifest/testdata/bomb.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		setup  func(t *testing.T, root string)
		limits render.Limits
		opts   *render.DirectoryOptions
		limit  string
		want   string // the whole message, when given
	}{
		{
			name: "50 MiB file",
			setup: func(t *testing.T, root string) {
				// Written sparse: the size is real, the disk use is not.
				f, err := os.Create(filepath.Join(root, "apps/flat/big.yaml"))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.WriteString("apiVersion: v1\nkind: ConfigMap\n"); err != nil {
					t.Fatal(err)
				}
				if err := f.Truncate(50 << 20); err != nil {
					t.Fatal(err)
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
			},
			limit: render.LimitFileBytes,
			want:  "render apps/flat/big.yaml: file is 50 MiB, above the 8 MiB limit per file: split it or raise MaxFileBytes",
		},
		{
			name:   "total bytes",
			limits: render.Limits{MaxTotalBytes: 200},
			limit:  render.LimitTotalBytes,
			want:   "render apps/flat/b.yml: files read add up to 216 bytes, above the 200 bytes limit per render: split the application or raise MaxTotalBytes",
		},
		{
			name:   "files visited",
			limits: render.Limits{MaxFiles: 8},
			opts:   &render.DirectoryOptions{Recurse: true},
			limit:  render.LimitFiles,
			want:   "render apps/flat/sub: more than 8 files and directories visited, the limit per render: narrow the path, exclude directories or raise MaxFiles",
		},
		{
			name:   "documents",
			limits: render.Limits{MaxDocuments: 3},
			limit:  render.LimitDocuments,
			want:   "render apps/flat/b.yml:4: more than 3 documents and List items, the limit per render: split the application or raise MaxDocuments",
		},
		{
			name:   "depth",
			limits: render.Limits{MaxDepth: 1},
			limit:  render.LimitDepth,
			want:   "render apps/flat/a.yaml:4: nested deeper than 1 levels, the limit per document: flatten the document or raise MaxDepth",
		},
		{
			name: "alias bomb",
			setup: func(t *testing.T, root string) {
				rendertest.WriteFile(t, filepath.Join(root, "apps/flat/bomb.yaml"), string(bomb))
			},
			limit: render.LimitAliasNodes,
		},
		{
			name:   "timeout",
			limits: render.Limits{Timeout: time.Nanosecond},
			limit:  render.LimitTimeout,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := copyFixture(t)
			if tt.setup != nil {
				tt.setup(t, root)
			}
			var res *render.Result
			var err error
			elapsed, alloc := rendertest.Cost(func() {
				res, err = (&Renderer{Limits: tt.limits}).Render(context.Background(), render.Request{Root: root, Path: "apps/flat", Directory: tt.opts})
			})
			if !rendertest.IsLimit(t, err, tt.limit) {
				t.FailNow()
			}
			if res != nil {
				t.Errorf("result returned with the error")
			}
			if tt.want != "" && err.Error() != tt.want {
				t.Errorf("error:\n got: %s\nwant: %s", err, tt.want)
			}
			if !strings.Contains(err.Error(), "raise "+tt.limit) {
				t.Errorf("error does not say which limit to raise: %v", err)
			}
			if elapsed > time.Second {
				t.Errorf("took %v to refuse", elapsed)
			}
			if alloc > 32<<20 {
				t.Errorf("allocated %d MiB to refuse", alloc>>20)
			}
		})
	}
}

func TestTimeoutIsDeadline(t *testing.T) {
	_, err := (&Renderer{Limits: render.Limits{Timeout: time.Nanosecond}}).Render(context.Background(),
		render.Request{Root: fixture(t), Path: "apps/flat"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v is not context.DeadlineExceeded", err)
	}
	want := "rendering took longer than 1ns, the limit per render: make the application smaller or raise Timeout"
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("error = %v, want suffix %q", err, want)
	}

	// A deadline of the caller's is the caller's: no LimitError.
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err = (&Renderer{}).Render(ctx, render.Request{Root: fixture(t), Path: "apps/flat"})
	var le *render.LimitError
	if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &le) {
		t.Errorf("error = %v, want the caller's context.DeadlineExceeded", err)
	}
}

func TestUnlimited(t *testing.T) {
	unlimited := render.Limits{MaxTotalBytes: -1, MaxFileBytes: -1, MaxFiles: -1, MaxDocuments: -1, MaxDepth: -1, MaxAliasNodes: -1, Timeout: -1}
	res, err := (&Renderer{Limits: unlimited}).Render(context.Background(),
		render.Request{Root: fixture(t), Path: "apps/flat", Directory: &render.DirectoryOptions{Recurse: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Objects) != 7 {
		t.Errorf("%d objects, want 7", len(res.Objects))
	}
}
