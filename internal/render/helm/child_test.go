package helm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/chart/loader/archive"

	"soll.dev/internal/render"
)

// TestChildCPULimit: a template process that has used its CPU time ends
// with an error saying so, even when nothing else would stop it (its
// parent gone, or a render without a deadline).
func TestChildCPULimit(t *testing.T) {
	items := "items:\n" + strings.Repeat("  - 1\n", 1500)
	loop := "{{- range .Values.items }}{{- range $.Values.items }}{{- range $.Values.items }}{{ end }}{{ end }}{{ end }}\n"
	wv, err := toWireValue(map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	req := childRequest{
		Chart: chartNode{Files: []*archive.BufferedFile{
			{Name: "Chart.yaml", Data: []byte("apiVersion: v2\nname: demo\nversion: 0.1.0\n")},
			{Name: "values.yaml", Data: []byte(items)},
			{Name: "templates/loop.yaml", Data: []byte(loop)},
		}},
		Values:     wv,
		Release:    releaseSpec{Name: "demo", Namespace: "default"},
		Limits:     render.DefaultLimits(),
		CPUSeconds: 1,
	}
	start := time.Now()
	// No deadline: only the CPU limit stops the child.
	_, err = renderInChild(context.Background(), req, "demo")
	var le *render.LimitError
	if !errors.As(err, &le) || le.Limit != render.LimitTimeout || !strings.Contains(err.Error(), "CPU time") {
		t.Errorf("error %v is not a CPU time LimitError", err)
	}
	if !strings.HasPrefix(err.Error(), "render demo: ") {
		t.Errorf("error %q does not name the chart", err)
	}
	t.Logf("after %s: %v", time.Since(start), err)
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the child ran for %s", d)
	}
}
