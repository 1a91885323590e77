package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	sollv1 "soll.dev/api/v1alpha1"
)

type toolRecorder struct{ got *Tool }

func (t toolRecorder) Render(_ context.Context, req Request) (*Result, error) {
	*t.got = req.Tool
	return &Result{}, nil
}

func TestMuxRoutesByTool(t *testing.T) {
	root := t.TempDir()
	for dir, file := range map[string]string{"k": "kustomization.yaml", "h": "Chart.yaml", "j": "main.jsonnet", "d": "cm.yaml"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, dir, file), []byte("{}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got Tool
	rec := toolRecorder{&got}
	m := &Mux{Renderers: map[Tool]Renderer{ToolDirectory: rec, ToolKustomize: rec, ToolHelm: rec, ToolJsonnet: rec, ToolPlugin: rec}}
	cases := []struct {
		name string
		req  Request
		want Tool
	}{
		{"detect kustomize", Request{Root: root, Path: "k"}, ToolKustomize},
		{"detect helm", Request{Root: root, Path: "h"}, ToolHelm},
		{"detect jsonnet", Request{Root: root, Path: "j"}, ToolJsonnet},
		{"detect directory", Request{Root: root, Path: "d"}, ToolDirectory},
		{"chart reference", Request{Chart: &ChartRef{RepoURL: "https://charts.example", Chart: "web"}}, ToolHelm},
		{"explicit tool wins over files", Request{Root: root, Path: "k", Tool: ToolDirectory}, ToolDirectory},
		{"options choose the tool", Request{Root: root, Path: "d", Jsonnet: &sollv1.JsonnetSource{}}, ToolJsonnet},
		{"plugin options", Request{Root: root, Path: "k", Plugin: &sollv1.PluginSource{Name: "p"}}, ToolPlugin},
		{"directory options", Request{Root: root, Path: "k", Directory: &DirectoryOptions{}}, ToolDirectory},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got = ""
			if _, err := m.Render(context.Background(), c.req); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("routed to %q, want %q", got, c.want)
			}
		})
	}
}

func TestMuxMissingRenderer(t *testing.T) {
	m := &Mux{Renderers: map[Tool]Renderer{}}
	_, err := m.Render(context.Background(), Request{Chart: &ChartRef{RepoURL: "oci://r", Chart: "c"}})
	var re *Error
	if !errors.As(err, &re) || err.Error() != "render: no renderer for Helm sources is configured in this soll" {
		t.Fatalf("error = %v", err)
	}
}
