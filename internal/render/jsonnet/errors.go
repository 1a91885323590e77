package jsonnet

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	gojsonnet "github.com/google/go-jsonnet"
	"github.com/google/go-jsonnet/ast"

	"soll.dev/internal/render"
	"soll.dev/internal/render/manifest"
)

// evalError turns an error of go-jsonnet, met while evaluating entry (a path
// relative to the root), into a *render.Error located in the file and line
// at fault, which may be a library rather than entry.
//
// Messages go through manifest.Sanitize: Jsonnet's messages may quote
// values (a failed std.assertEqual prints both sides), and those may come
// from Secrets committed to the repository.
func evalError(err error, entry string, imp *importer) error {
	file, line := entry, 0
	// A failed import is the cause of whatever go-jsonnet reports then,
	// and its error keeps the confinement or limit error for errors.Is.
	if ie := imp.failed; ie != nil {
		var rt gojsonnet.RuntimeError
		if errors.As(err, &rt) {
			file, line = locate(rt.StackTrace, entry, imp)
		}
		if ie.From != "" {
			file = ie.From
		}
		return &render.Error{File: file, Line: line, Err: ie}
	}
	var msg string
	var rt gojsonnet.RuntimeError
	var static interface {
		error
		Loc() ast.LocationRange
	}
	switch {
	case errors.As(err, &rt):
		file, line = locate(rt.StackTrace, entry, imp)
		msg = rt.Msg
		// A syntax error in an imported file arrives as the message of a
		// runtime error at the import, prefixed with its own location.
		if m := locationPrefix.FindStringSubmatch(msg); m != nil && imp.known(m[1]) {
			file = m[1]
			line, _ = strconv.Atoi(m[2])
			msg = msg[len(m[0]):]
		}
	case errors.As(err, &static):
		loc := static.Loc()
		if imp.known(loc.FileName) {
			file, line = loc.FileName, loc.Begin.Line
		}
		msg = strings.TrimPrefix(static.Error(), loc.String())
	default:
		msg = err.Error()
	}
	msg = manifest.Sanitize(strings.ReplaceAll(msg, imp.root.Name()+"/", ""))
	return &render.Error{File: file, Line: line, Err: errors.New("jsonnet: " + msg)}
}

// locationPrefix matches the location go-jsonnet puts before a static
// error's message: "lib/k.libsonnet:3:5-9 " or "lib/k.libsonnet:(3:5)-(4:1) ".
var locationPrefix = regexp.MustCompile(`^(\S+?):\(?(\d+):\S*\s+`)

// locate returns the innermost frame of trace that is in a file of the
// repository (not in std or in code given in the Application), or entry and
// line 0.
func locate(trace []gojsonnet.TraceFrame, entry string, imp *importer) (string, int) {
	for i := len(trace) - 1; i >= 0; i-- {
		if loc := trace[i].Loc; imp.known(loc.FileName) {
			return loc.FileName, loc.Begin.Line
		}
	}
	return entry, 0
}
