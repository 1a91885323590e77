package render

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Error is a render failure, located in the repository when possible.
//
// Its message reads "render apps/web/deploy.yaml:17: <reason>". Reasons never
// quote file contents (manifests hold Secrets): they name the file, the
// line, and at most a mapping key.
type Error struct {
	// File is the path relative to the repository root, slash-separated, of
	// the file or directory at fault; empty when the error is not about one
	// (a bad option, the root itself).
	File string
	// Line is the 1-based line in File, 0 when unknown or not applicable.
	Line int
	// Err is the reason. errors.Is and errors.As see through Error to it.
	Err error
}

func (e *Error) Error() string {
	switch {
	case e.File == "":
		return "render: " + e.Err.Error()
	case e.Line <= 0:
		return fmt.Sprintf("render %s: %v", e.File, e.Err)
	default:
		return fmt.Sprintf("render %s:%d: %v", e.File, e.Line, e.Err)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// The names of the limits, as used in LimitError.Limit: each is the name of
// the Limits field that was exceeded.
const (
	LimitTotalBytes = "MaxTotalBytes"
	LimitFileBytes  = "MaxFileBytes"
	LimitFiles      = "MaxFiles"
	LimitDocuments  = "MaxDocuments"
	LimitDepth      = "MaxDepth"
	LimitAliasNodes = "MaxAliasNodes"
	LimitTimeout    = "Timeout"
	LimitMemory     = "MaxMemoryBytes"
)

// LimitError reports that a render went past one of its Limits. It usually
// reaches the caller inside an *Error that names the file; use errors.As.
//
// A timeout is a LimitError with Limit LimitTimeout, and it also matches
// context.DeadlineExceeded with errors.Is.
type LimitError struct {
	// Limit is the name of the Limits field that was exceeded (LimitFileBytes,
	// ...).
	Limit string
	// Max is the limit's value: bytes, a count, or for LimitTimeout a
	// time.Duration.
	Max int64
	// Actual is how far the render got: the size of the file or of all files
	// read so far, for the byte limits. For the other limits, Max+1 (they are
	// checked one step at a time) or 0 when not known.
	Actual int64
}

func (e *LimitError) Error() string {
	switch e.Limit {
	case LimitFileBytes:
		return fmt.Sprintf("file is %s, above the %s limit per file: split it or raise %s",
			formatBytes(e.Actual), formatBytes(e.Max), e.Limit)
	case LimitTotalBytes:
		return fmt.Sprintf("files read add up to %s, above the %s limit per render: split the application or raise %s",
			formatBytes(e.Actual), formatBytes(e.Max), e.Limit)
	case LimitFiles:
		return fmt.Sprintf("more than %d files and directories visited, the limit per render: narrow the path, exclude directories or raise %s",
			e.Max, e.Limit)
	case LimitDocuments:
		return fmt.Sprintf("more than %d documents and List items, the limit per render: split the application or raise %s",
			e.Max, e.Limit)
	case LimitDepth:
		return fmt.Sprintf("nested deeper than %d levels, the limit per document: flatten the document or raise %s",
			e.Max, e.Limit)
	case LimitAliasNodes:
		return fmt.Sprintf("YAML aliases expand to more than %d nodes, the limit per render (an alias bomb?): use fewer aliases or raise %s",
			e.Max, e.Limit)
	case LimitTimeout:
		return fmt.Sprintf("rendering took longer than %s, the limit per render: make the application smaller or raise %s",
			time.Duration(e.Max), e.Limit)
	case LimitMemory:
		return fmt.Sprintf("evaluation needed more than %s of memory, the limit per render: look for a loop or a huge array or string, or raise %s",
			formatBytes(e.Max), e.Limit)
	default:
		if strings.HasSuffix(e.Limit, "Bytes") {
			return fmt.Sprintf("larger than %s, the %s limit", formatBytes(e.Max), e.Limit)
		}
		return fmt.Sprintf("above the limit %s of %d", e.Limit, e.Max)
	}
}

// Is makes a timeout match context.DeadlineExceeded.
func (e *LimitError) Is(target error) bool {
	return e.Limit == LimitTimeout && target == context.DeadlineExceeded
}

// formatBytes prints sizes the way people set limits: "8 MiB", "1.5 KiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	v := float64(n) / unit
	i := 0
	for v >= unit && i < len(units)-1 {
		v /= unit
		i++
	}
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %s", int64(v), units[i])
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}
