package helm

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"

	"soll.dev/internal/render"
	"soll.dev/internal/render/manifest"
	"soll.dev/internal/render/process"
)

// Templates run in a child process: the soll binary itself (whatever
// binary links this package: soll, or a test binary), started again with
// childEnv set, as Jsonnet evaluations are. Go templates can be neither
// interrupted nor bounded in memory (a few nested range loops over a long
// list keep a core busy and the heap growing for hours), but a process can
// be killed and refused memory and CPU time.
//
// The parent fetches and reads the chart files (network, credentials and
// caches stay in the controller) and merges the user's values; the child
// gets the files of every chart of the tree and the values, builds the
// charts with helm's loader, processes the dependencies, validates the
// values, runs the engine and answers with the rendered files. It is this
// package's init: it reads a childRequest on standard input, writes a
// childResponse on standard output and exits, before the program's main
// (or a test's TestMain) ever runs.
const childEnv = "SOLL_RENDER_CHILD"

const childHelm = "helm"

func init() {
	if os.Getenv(childEnv) == childHelm {
		os.Exit(childMain(os.Stdin, os.Stdout))
	}
}

// chartNode is a chart as the parent read it: the files helm's loader
// builds it from (without charts/), and its subcharts and dependencies in
// order.
type chartNode struct {
	Files []*archive.BufferedFile
	Deps  []chartNode
}

// releaseSpec is the release a chart is rendered for, checked by the
// parent (see rendering.release).
type releaseSpec struct {
	Name, Namespace string
	// KubeVersion is the Kubernetes version; empty means helm's default.
	KubeVersion string
	// APIVersions are added to helm's default set.
	APIVersions []string
}

// childRequest is what the parent asks the child to render.
type childRequest struct {
	Chart    chartNode
	Values   wireValue
	Release  releaseSpec
	SkipCRDs bool
	// Dir is the chart's repository directory when FromDir; template
	// names map to files below it. A chart from a repository is known by
	// its template names.
	Dir     string
	FromDir bool
	Limits  render.Limits
	// CPUSeconds bounds the child's CPU time; 0 means no bound.
	CPUSeconds uint64
}

// renderedFile is a file of the render's output, named by its origin (see
// childRequest.Dir).
type renderedFile struct {
	File string
	Data string
}

// childResponse is the child's answer: the CRDs (unless skipped) and the
// rendered templates in path order, without NOTES.txt and empty ones, or
// the error that stopped the render.
type childResponse struct {
	CRDs      []renderedFile
	Templates []renderedFile
	Error     *wireError
}

// wireError carries a *render.Error from the child to the parent, with the
// LimitError in its chain, if any.
type wireError struct {
	File    string
	Line    int
	Message string
	Limit   *render.LimitError
}

// The child's exit codes beyond 0 (answered) and 3 (could not talk).
// childOutputSlack is what the child's answer may hold beyond the files:
// the encoding around them and an error.
const childOutputSlack = 64 << 10

// childMain is the child: it renders the request on in and writes the
// response to out. It returns the exit code.
func childMain(in io.Reader, out io.Writer) int {
	var req childRequest
	if err := gob.NewDecoder(in).Decode(&req); err != nil {
		fmt.Fprintf(os.Stderr, "read the request: %v\n", err)
		return 3
	}
	process.LimitChildMemory(req.Limits.MaxMemoryBytes)
	process.LimitChildCPU(req.CPUSeconds)
	// Everything the templates need arrived on in: from here on the
	// child reads no file and writes none, whatever a chart makes Helm's
	// template functions do.
	resp, err := (*childResponse)(nil), process.RestrictSelf(process.Sandbox{})
	if err == nil {
		resp, err = renderRequest(req)
	} else {
		err = fmt.Errorf("confine the Helm template process: %w", err)
	}
	if err != nil {
		resp = &childResponse{Error: toWire(err)}
	}
	if err := gob.NewEncoder(out).Encode(resp); err != nil {
		fmt.Fprintf(os.Stderr, "write the response: %v\n", err)
		return 3
	}
	return 0
}

// renderRequest renders the chart of req.
func renderRequest(req childRequest) (resp *childResponse, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, &render.Error{Err: fmt.Errorf("helm template rendering crashed: %v", p)}
		}
	}()
	originOf := func(name string) string { return name }
	if req.FromDir {
		originOf = func(name string) string {
			_, rest, _ := strings.Cut(name, "/")
			return path.Join(req.Dir, rest)
		}
	}
	ch, err := buildChart(req.Chart)
	if err != nil {
		return nil, &render.Error{Err: fmt.Errorf("load chart: %s", manifest.Sanitize(err.Error()))}
	}
	vals, _ := req.Values.value().(map[string]any)
	if vals == nil {
		vals = map[string]any{}
	}
	opts, caps, err := req.Release.options()
	if err != nil {
		return nil, err
	}
	if err := chartutil.ProcessDependencies(ch, vals); err != nil {
		return nil, &render.Error{Err: fmt.Errorf("chart dependencies: %s", manifest.Sanitize(err.Error()))}
	}
	if kv := ch.Metadata.KubeVersion; kv != "" && !chartutil.IsCompatibleRange(kv, caps.KubeVersion.String()) {
		return nil, &render.Error{Err: fmt.Errorf("chart %s requires Kubernetes %s, not %s: set helm.kubeVersion", ch.Name(), kv, caps.KubeVersion.String())}
	}
	top, err := util.ToRenderValuesWithSchemaValidation(ch, vals, opts, caps, true)
	if err != nil {
		return nil, &render.Error{Err: fmt.Errorf("chart values: %s", manifest.Sanitize(err.Error()))}
	}
	if err := validateSchema(ch, top["Values"]); err != nil {
		return nil, err
	}

	limits := req.Limits
	g := guardedFuncs(limits.MaxFileBytes)
	// The child has no context of its own: the parent kills it to cancel.
	rendered, err := engine.Engine{CustomTemplateFuncs: g.funcs}.RenderWithContext(context.Background(), ch, top)
	if err != nil {
		re := templateError(err, templateNames(ch), originOf)
		if le := g.hit.Load(); le != nil {
			re.Err = le
		}
		return nil, re
	}

	resp = &childResponse{}
	if !req.SkipCRDs {
		for _, crd := range ch.CRDObjects() {
			resp.CRDs = append(resp.CRDs, renderedFile{File: originOf(crd.Filename), Data: string(crd.File.Data)})
		}
	}
	var total int64
	for _, name := range slices.Sorted(maps.Keys(rendered)) {
		content := rendered[name]
		file := originOf(name)
		size := int64(len(content))
		total += size
		if limits.MaxFileBytes > 0 && size > limits.MaxFileBytes {
			return nil, &render.Error{File: file, Err: &render.LimitError{Limit: render.LimitFileBytes, Max: limits.MaxFileBytes, Actual: size}}
		}
		if limits.MaxTotalBytes > 0 && total > limits.MaxTotalBytes {
			return nil, &render.Error{File: file, Err: &render.LimitError{Limit: render.LimitTotalBytes, Max: limits.MaxTotalBytes, Actual: total}}
		}
		if path.Base(name) == "NOTES.txt" || strings.TrimSpace(content) == "" {
			continue
		}
		resp.Templates = append(resp.Templates, renderedFile{File: file, Data: content})
	}
	return resp, nil
}

// buildChart builds the chart n describes with helm's loader.
func buildChart(n chartNode) (*chart.Chart, error) {
	ch, err := loader.LoadFiles(n.Files)
	if err != nil {
		return nil, err
	}
	for _, d := range n.Deps {
		sub, err := buildChart(d)
		if err != nil {
			return nil, err
		}
		ch.AddDependency(sub)
	}
	return ch, nil
}

// toWire describes err for the parent.
func toWire(err error) *wireError {
	w := &wireError{Message: err.Error()}
	var re *render.Error
	if errors.As(err, &re) {
		w.File, w.Line, w.Message = re.File, re.Line, re.Err.Error()
	}
	var le *render.LimitError
	if errors.As(err, &le) {
		w.Limit = le
	}
	return w
}

// childError is an error of the child, rebuilt by the parent: its message
// as the child wrote it, and the LimitError callers match.
type childError struct {
	msg   string
	cause error
}

func (e *childError) Error() string { return e.msg }
func (e *childError) Unwrap() error { return e.cause }

// fromWire rebuilds the error w describes.
func fromWire(w *wireError) error {
	ce := &childError{msg: w.Message}
	if w.Limit != nil {
		ce.cause = w.Limit
	}
	return &render.Error{File: w.File, Line: w.Line, Err: ce}
}

// renderInChild runs req in a child process, bounded by ctx (the render's
// timeout kills it), req.Limits.MaxMemoryBytes, req.CPUSeconds and the
// size of its answer. label names the chart in errors: its repository
// directory, or its name for a chart from a repository.
func renderInChild(ctx context.Context, req childRequest, label string) (*childResponse, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, &render.Error{File: label, Err: fmt.Errorf("find soll's own program to render Helm templates in: %w", err)}
	}
	if deadline, ok := ctx.Deadline(); ok {
		// Twice the time left: the engine runs on one core, the garbage
		// collector on others meanwhile.
		req.CPUSeconds = uint64(2*time.Until(deadline).Seconds()) + 1
	}
	var in bytes.Buffer
	if err := gob.NewEncoder(&in).Encode(&req); err != nil {
		return nil, &render.Error{File: label, Err: fmt.Errorf("pass the chart to the template process: %w", err)}
	}
	max := int64(1 << 62)
	if req.Limits.MaxTotalBytes > 0 {
		// The rendered templates and the CRDs, each bounded by
		// MaxTotalBytes.
		max = 2*req.Limits.MaxTotalBytes + childOutputSlack
	}
	out, err := process.Run(ctx, process.Command{
		Path:      self,
		Env:       []string{childEnv + "=" + childHelm, "GOTRACEBACK=none"},
		Stdin:     &in,
		MaxOutput: max,
	})
	if err != nil {
		return nil, childFailure(ctx, req, label, err)
	}
	var resp childResponse
	if err := gob.NewDecoder(bytes.NewReader(out)).Decode(&resp); err != nil {
		return nil, &render.Error{File: label, Err: fmt.Errorf("read the answer of the template process: %w", err)}
	}
	if resp.Error != nil {
		return nil, fromWire(resp.Error)
	}
	return &resp, nil
}

// childFailure explains why the child did not answer: the limit it hit
// (time, memory, CPU time, size of the answer), named after the chart.
func childFailure(ctx context.Context, req childRequest, label string, err error) error {
	templates := func(err error) error {
		return &render.Error{File: label, Err: fmt.Errorf("chart templates: %w", err)}
	}
	if cause := context.Cause(ctx); cause != nil {
		return templates(cause)
	}
	var pe *process.Error
	if !errors.As(err, &pe) {
		return templates(err)
	}
	switch {
	case errors.Is(pe.Err, process.ErrOutputLimit):
		return templates(fmt.Errorf("output: %w", &render.LimitError{Limit: render.LimitTotalBytes, Max: req.Limits.MaxTotalBytes}))
	case pe.ExitCode == process.ExitCPU:
		return templates(fmt.Errorf("used more than %d s of CPU time, twice the time left: %w", req.CPUSeconds,
			&render.LimitError{Limit: render.LimitTimeout, Max: int64(req.Limits.Timeout)}))
	case pe.ExitCode == process.ExitMemory || process.OutOfMemory(pe.StderrHead),
		// Go's runtime can crash, rather than fail cleanly, when the
		// kernel refuses it memory in the middle of a collection: a
		// crash after holding more than the limit is the limit.
		req.Limits.MaxMemoryBytes > 0 && pe.MaxRSS > req.Limits.MaxMemoryBytes:
		return templates(&render.LimitError{Limit: render.LimitMemory, Max: req.Limits.MaxMemoryBytes})
	}
	// The Go runtime's own reason, never the chart's values: a crash
	// prints the runtime's message and stack addresses only.
	reason := "exit status " + fmt.Sprint(pe.ExitCode)
	if first, _, _ := strings.Cut(pe.StderrHead, "\n"); strings.HasPrefix(first, "fatal error: ") || strings.HasPrefix(first, "runtime: ") {
		reason = first
	}
	return templates(fmt.Errorf("the template process failed: %s", reason))
}
