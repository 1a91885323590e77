package jsonnet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
	"soll.dev/internal/render/process"
)

// Evaluations run in a child process: the soll binary itself (whatever
// binary links this package: soll, or a test binary), started again with
// childEnv set. go-jsonnet cannot be interrupted and does not bound its
// memory, but a process can be killed and refused memory.
//
// The child is this package's init: it reads a childRequest on standard
// input, evaluates, writes a childResponse on standard output and exits,
// before the program's main (or a test's TestMain) ever runs.
const childEnv = "SOLL_RENDER_CHILD"

const childJsonnet = "jsonnet"

func init() {
	if os.Getenv(childEnv) == childJsonnet {
		os.Exit(childMain(os.Stdin, os.Stdout))
	}
}

// childRequest is what the parent asks the child to evaluate.
type childRequest struct {
	// Root is the snapshot's absolute path; App, Libs and Files are
	// relative to it and checked by the parent.
	Root     string
	App      string
	Libs     []string
	Files    []string
	Options  sollv1.JsonnetSource
	MaxStack int
	Limits   render.Limits
}

// childResponse is the child's answer: the JSON of each file, in order, or
// the error of the first file that failed.
type childResponse struct {
	Outputs []json.RawMessage `json:",omitempty"`
	Error   *wireError        `json:",omitempty"`
}

// wireError carries a *render.Error from the child to the parent, with the
// causes callers tell apart (limits and confinement refusals).
type wireError struct {
	File    string `json:",omitempty"`
	Line    int    `json:",omitempty"`
	Message string
	// Limit is the LimitError in the chain, if any.
	Limit *render.LimitError `json:",omitempty"`
	// Sentinel names the sentinel error in the chain (see sentinels).
	Sentinel string `json:",omitempty"`
}

// sentinels are the errors a wireError keeps for errors.Is, by name.
var sentinels = map[string]error{
	"absolute":   confine.ErrAbsolute,
	"parent":     confine.ErrParent,
	"escape":     confine.ErrEscape,
	"loop":       confine.ErrLoop,
	"notRegular": confine.ErrNotRegular,
	"invalid":    confine.ErrInvalid,
	"notExist":   fs.ErrNotExist,
}

// childOutputSlack is what the child's answer may hold beyond the JSON of
// the files: the JSON around it and an error.
const childOutputSlack = 64 << 10

// childMain is the child: it evaluates the request on in and writes the
// response to out. It returns the exit code.
func childMain(in io.Reader, out io.Writer) int {
	var req childRequest
	if err := json.NewDecoder(in).Decode(&req); err != nil {
		fmt.Fprintf(os.Stderr, "read the request: %v\n", err)
		return 3
	}
	process.LimitChildMemory(req.Limits.MaxMemoryBytes)
	var resp childResponse
	// From here on the child reads the snapshot and nothing else, and
	// writes nothing: whatever a bug in the evaluator or the importer
	// would let a repository do.
	outputs, err := []string(nil), process.RestrictSelf(process.Sandbox{ReadOnly: []string{req.Root}})
	if err == nil {
		outputs, err = evaluateRequest(req)
	} else {
		err = &render.Error{File: req.App, Err: fmt.Errorf("confine the Jsonnet evaluation: %w", err)}
	}
	if err != nil {
		resp.Error = toWire(err)
	}
	for _, o := range outputs {
		resp.Outputs = append(resp.Outputs, json.RawMessage(o))
	}
	if err := json.NewEncoder(out).Encode(&resp); err != nil {
		fmt.Fprintf(os.Stderr, "write the response: %v\n", err)
		return 3
	}
	return 0
}

// evaluateRequest evaluates the files of req in order.
func evaluateRequest(req childRequest) (outputs []string, err error) {
	defer func() {
		if p := recover(); p != nil {
			outputs, err = nil, &render.Error{File: req.App, Err: fmt.Errorf("jsonnet evaluation crashed: %v", p)}
		}
	}()
	root, err := confine.Open(req.Root)
	if err != nil {
		return nil, &render.Error{Err: err}
	}
	defer root.Close()
	budget := render.NewBudget(req.Limits)
	imp := newImporter(root, budget, req.App, req.Libs)
	vm := newVM(req.Options, req.MaxStack, imp)
	limits := budget.Limits()
	var total int64
	for _, f := range req.Files {
		out, err := evaluateFile(vm, imp, f)
		if err != nil {
			return nil, err
		}
		total += int64(len(out))
		if err := outputFits(limits, int64(len(out)), total); err != nil {
			return nil, &render.Error{File: f, Err: fmt.Errorf("output: %w", err)}
		}
		outputs = append(outputs, out)
	}
	return outputs, nil
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
	for name, s := range sentinels {
		if errors.Is(err, s) {
			w.Sentinel = name
		}
	}
	return w
}

// childError is an error of the child, rebuilt by the parent: its message
// as the child wrote it, and the cause callers match.
type childError struct {
	msg   string
	cause error
}

func (e *childError) Error() string { return e.msg }
func (e *childError) Unwrap() error { return e.cause }

// fromWire rebuilds the error w describes.
func fromWire(w *wireError) error {
	ce := &childError{msg: w.Message, cause: sentinels[w.Sentinel]}
	if w.Limit != nil {
		ce.cause = w.Limit
	}
	return &render.Error{File: w.File, Line: w.Line, Err: ce}
}

// evaluateInChild runs req in a child process, bounded by ctx (the
// render's timeout kills it), req.Limits.MaxMemoryBytes and the size of
// its output, and returns the JSON of each file.
func evaluateInChild(ctx context.Context, req childRequest) ([]string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, &render.Error{Err: fmt.Errorf("find soll's own program to evaluate Jsonnet in: %w", err)}
	}
	in, err := json.Marshal(&req)
	if err != nil {
		return nil, &render.Error{Err: err}
	}
	max := int64(childOutputSlack)
	if req.Limits.MaxTotalBytes > 0 {
		max += req.Limits.MaxTotalBytes
	} else {
		max = 1 << 62
	}
	out, err := process.Run(ctx, process.Command{
		Path:      self,
		Env:       []string{childEnv + "=" + childJsonnet, "GOTRACEBACK=none"},
		Stdin:     bytes.NewReader(in),
		MaxOutput: max,
	})
	if err != nil {
		return nil, childFailure(ctx, req, err)
	}
	var resp childResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, &render.Error{File: req.App, Err: fmt.Errorf("read the answer of the Jsonnet evaluation: %w", err)}
	}
	if resp.Error != nil {
		return nil, fromWire(resp.Error)
	}
	outputs := make([]string, len(resp.Outputs))
	for i, o := range resp.Outputs {
		outputs[i] = string(o)
	}
	return outputs, nil
}

// childFailure explains why the child did not answer.
func childFailure(ctx context.Context, req childRequest, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		return &render.Error{File: req.App, Err: cause}
	}
	var pe *process.Error
	if !errors.As(err, &pe) {
		return &render.Error{File: req.App, Err: err}
	}
	switch {
	case errors.Is(pe.Err, process.ErrOutputLimit):
		return &render.Error{File: req.App, Err: fmt.Errorf("output: %w",
			&render.LimitError{Limit: render.LimitTotalBytes, Max: req.Limits.MaxTotalBytes})}
	case pe.ExitCode == process.ExitMemory || process.OutOfMemory(pe.StderrHead),
		// Go's runtime can crash, rather than fail cleanly, when the
		// kernel refuses it memory in the middle of a collection: a
		// crash after holding more than the limit is the limit.
		req.Limits.MaxMemoryBytes > 0 && pe.MaxRSS > req.Limits.MaxMemoryBytes:
		return &render.Error{File: req.App, Err: &render.LimitError{Limit: render.LimitMemory, Max: req.Limits.MaxMemoryBytes}}
	}
	// The Go runtime's own reason, never the program's values: a crash
	// prints the runtime's message and stack addresses only.
	reason := "exit status " + fmt.Sprint(pe.ExitCode)
	if first, _, _ := strings.Cut(pe.StderrHead, "\n"); strings.HasPrefix(first, "fatal error: ") || strings.HasPrefix(first, "runtime: ") {
		reason = first
	}
	return &render.Error{File: req.App, Err: fmt.Errorf("the Jsonnet evaluation process failed: %s", reason)}
}
