package render

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"math"
	"time"

	"soll.dev/internal/render/confine"
)

// Limits bound the work and memory of one render, so that a hostile or
// broken repository costs a bounded amount and fails with an error that says
// which limit it hit. A zero field takes its default (see DefaultLimits); a
// negative one disables that limit, which only makes sense for trusted input
// such as `soll diff --local`.
type Limits struct {
	// MaxTotalBytes bounds the bytes of all files read by one render.
	MaxTotalBytes int64
	// MaxFileBytes bounds the size of any one file. Files are refused on
	// their size before they are read.
	MaxFileBytes int64
	// MaxFiles bounds the directory entries (files and directories) listed
	// by one render, read or not.
	MaxFiles int
	// MaxDocuments bounds the YAML documents, empty ones included, plus the
	// items of List objects, in one render.
	MaxDocuments int
	// MaxDepth bounds the nesting of mappings and sequences in one document
	// (a document that is one mapping has depth 1), after alias expansion.
	MaxDepth int
	// MaxAliasNodes bounds how many nodes YAML aliases may add to the
	// documents of one render when they are expanded. It stops "billion
	// laughs" documents, where a few hundred bytes expand to gigabytes.
	MaxAliasNodes int64
	// Timeout bounds the time of one render. The renderer checks it between
	// files and documents.
	Timeout time.Duration
	// MaxMemoryBytes bounds the memory of renders that run in a child
	// process (Jsonnet evaluations, Helm templates): the process ends once its live heap
	// passes it. Renders in the controller's own process cannot be bounded
	// this way; their other limits bound what they hold.
	MaxMemoryBytes int64
}

// The defaults: generous for real applications (the largest real manifests,
// CRDs with big schemas, are a few hundred KiB and about 40 levels deep), far
// below what would hurt a controller shared by many applications.
const (
	DefaultMaxTotalBytes = 32 << 20
	DefaultMaxFileBytes  = 8 << 20
	DefaultMaxFiles      = 10_000
	DefaultMaxDocuments  = 10_000
	DefaultMaxDepth      = 100
	DefaultMaxAliasNodes = 100_000
	DefaultTimeout       = time.Minute
	// DefaultMaxMemoryBytes leaves room for large Jsonnet programs (a
	// whole monitoring stack evaluates in a few hundred MiB).
	DefaultMaxMemoryBytes = 1 << 30
)

// DefaultLimits returns the limits used for zero fields.
func DefaultLimits() Limits {
	return Limits{
		MaxTotalBytes:  DefaultMaxTotalBytes,
		MaxFileBytes:   DefaultMaxFileBytes,
		MaxFiles:       DefaultMaxFiles,
		MaxDocuments:   DefaultMaxDocuments,
		MaxDepth:       DefaultMaxDepth,
		MaxAliasNodes:  DefaultMaxAliasNodes,
		Timeout:        DefaultTimeout,
		MaxMemoryBytes: DefaultMaxMemoryBytes,
	}
}

// WithDefaults returns l with each zero field set to its default.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	orDefault(&l.MaxTotalBytes, d.MaxTotalBytes)
	orDefault(&l.MaxFileBytes, d.MaxFileBytes)
	orDefault(&l.MaxFiles, d.MaxFiles)
	orDefault(&l.MaxDocuments, d.MaxDocuments)
	orDefault(&l.MaxDepth, d.MaxDepth)
	orDefault(&l.MaxAliasNodes, d.MaxAliasNodes)
	orDefault(&l.Timeout, d.Timeout)
	orDefault(&l.MaxMemoryBytes, d.MaxMemoryBytes)
	return l
}

func orDefault[T int | int64 | time.Duration](v *T, d T) {
	if *v == 0 {
		*v = d
	}
}

// WithTimeout returns ctx bounded by l.Timeout (after defaults). When the
// timeout fires, Budget.Check reports it as a LimitError.
func WithTimeout(ctx context.Context, l Limits) (context.Context, context.CancelFunc) {
	l = l.WithDefaults()
	if l.Timeout < 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, l.Timeout, &LimitError{Limit: LimitTimeout, Max: int64(l.Timeout)})
}

// Budget counts what one render has used against its Limits. Renderers
// create one per render and pass it to every step that reads or decodes; it
// is not safe for concurrent use. Its methods return *LimitError (or the
// error of the underlying read) without a file name: callers wrap them in an
// *Error that names the file.
type Budget struct {
	limits     Limits
	files      int
	bytes      int64
	documents  int
	aliasNodes int64
}

// NewBudget starts counting against l, with defaults for its zero fields.
func NewBudget(l Limits) *Budget {
	return &Budget{limits: l.WithDefaults()}
}

// Limits returns the limits counted against, defaults applied.
func (b *Budget) Limits() Limits { return b.limits }

// Check returns the reason ctx ended, if it did: a *LimitError when the
// render's Timeout fired (see WithTimeout), the context's cause otherwise.
func (b *Budget) Check(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	return context.Cause(ctx)
}

// ReadDir lists the directory name in root, counting its entries against
// MaxFiles.
func (b *Budget) ReadDir(root *confine.Root, name string) ([]fs.DirEntry, error) {
	n := 0
	if b.limits.MaxFiles > 0 {
		// One more than allowed, to tell "exactly at the limit" from "above".
		n = max(b.limits.MaxFiles-b.files, 0) + 1
	}
	entries, err := root.ReadDir(name, n)
	if err != nil {
		return nil, err
	}
	b.files += len(entries)
	if b.limits.MaxFiles > 0 && b.files > b.limits.MaxFiles {
		return nil, &LimitError{Limit: LimitFiles, Max: int64(b.limits.MaxFiles), Actual: int64(b.files)}
	}
	return entries, nil
}

// ReadFile reads the regular file name in root. It refuses the file on its
// size before reading it when the file is above MaxFileBytes or would take
// the render above MaxTotalBytes, and stops reading at the limits if the file
// grows meanwhile.
func (b *Budget) ReadFile(root *confine.Root, name string) ([]byte, error) {
	f, info, err := root.OpenFile(name)
	if err != nil {
		return nil, err
	}
	defer f.Close() //nolint:errcheck // opened for reading: closing loses nothing
	if err := b.fits(info.Size()); err != nil {
		return nil, err
	}
	allowed := int64(math.MaxInt64 - 1)
	if b.limits.MaxFileBytes > 0 {
		allowed = b.limits.MaxFileBytes
	}
	if b.limits.MaxTotalBytes > 0 {
		allowed = min(allowed, b.limits.MaxTotalBytes-b.bytes)
	}
	var buf bytes.Buffer
	buf.Grow(int(min(info.Size(), allowed)) + bytes.MinRead)
	if _, err := buf.ReadFrom(io.LimitReader(f, allowed+1)); err != nil {
		return nil, fmt.Errorf("read file: %w", err)
	}
	if err := b.fits(int64(buf.Len())); err != nil {
		return nil, err
	}
	b.bytes += int64(buf.Len())
	return buf.Bytes(), nil
}

// fits checks that a file of size bytes may be read.
func (b *Budget) fits(size int64) error {
	if b.limits.MaxFileBytes > 0 && size > b.limits.MaxFileBytes {
		return &LimitError{Limit: LimitFileBytes, Max: b.limits.MaxFileBytes, Actual: size}
	}
	if b.limits.MaxTotalBytes > 0 && b.bytes+size > b.limits.MaxTotalBytes {
		return &LimitError{Limit: LimitTotalBytes, Max: b.limits.MaxTotalBytes, Actual: b.bytes + size}
	}
	return nil
}

// Document counts one YAML document or List item against MaxDocuments.
func (b *Budget) Document() error {
	b.documents++
	if b.limits.MaxDocuments > 0 && b.documents > b.limits.MaxDocuments {
		return &LimitError{Limit: LimitDocuments, Max: int64(b.limits.MaxDocuments), Actual: int64(b.documents)}
	}
	return nil
}

// AliasNodes counts n nodes added by expanding YAML aliases against
// MaxAliasNodes.
func (b *Budget) AliasNodes(n int64) error {
	b.aliasNodes += n
	if b.limits.MaxAliasNodes > 0 && b.aliasNodes > b.limits.MaxAliasNodes {
		return &LimitError{Limit: LimitAliasNodes, Max: b.limits.MaxAliasNodes, Actual: b.aliasNodes}
	}
	return nil
}

// Depth checks a nesting depth against MaxDepth.
func (b *Budget) Depth(depth int) error {
	if b.limits.MaxDepth > 0 && depth > b.limits.MaxDepth {
		return &LimitError{Limit: LimitDepth, Max: int64(b.limits.MaxDepth), Actual: int64(depth)}
	}
	return nil
}
