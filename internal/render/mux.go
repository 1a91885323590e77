package render

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"soll.dev/internal/metrics"
	"soll.dev/internal/tracing"
)

// Mux routes each request to the renderer of its tool. The tool is, first
// match wins: a chart reference (Helm), Request.Tool, the tool whose options
// are set, or what Detect finds in the application directory.
type Mux struct {
	// Renderers maps tools to their renderers. A tool without a renderer
	// fails the render with an error naming the tool.
	Renderers map[Tool]Renderer
}

var _ Renderer = (*Mux)(nil)

// Render renders req with the renderer of its tool. When req has a
// Decrypter, the result's Decrypted says which files it decrypted and what
// came out of them.
func (m *Mux) Render(ctx context.Context, req Request) (*Result, error) {
	tool, err := ToolOf(req)
	if err != nil {
		return nil, err
	}
	r := m.Renderers[tool]
	if r == nil {
		return nil, &Error{Err: fmt.Errorf("no renderer for %s sources is configured in this soll", tool)}
	}
	req.Tool = tool
	start := time.Now()
	ctx, span := tracing.Tracer().Start(ctx, "render", trace.WithAttributes(attribute.String("soll.tool", string(tool))))
	res, err := renderRecording(ctx, r, req)
	tracing.End(span, err)
	metrics.ObserveRender(string(tool), err, start)
	return res, err
}

// ToolOf tells which tool renders req (see Mux).
func ToolOf(req Request) (Tool, error) {
	if tool, ok := NamedTool(req); ok {
		return tool, nil
	}
	return Detect(req.Root, req.Path)
}

// NamedTool returns the tool req names (a chart, a tool, or one tool's
// options); ok is false when only its files can tell (Detect).
func NamedTool(req Request) (tool Tool, ok bool) {
	switch {
	case req.Chart != nil:
		return ToolHelm, true
	case req.Tool != "":
		return req.Tool, true
	case req.Kustomize != nil:
		return ToolKustomize, true
	case req.Helm != nil:
		return ToolHelm, true
	case req.Jsonnet != nil:
		return ToolJsonnet, true
	case req.Plugin != nil:
		return ToolPlugin, true
	case req.Directory != nil:
		return ToolDirectory, true
	}
	return "", false
}
