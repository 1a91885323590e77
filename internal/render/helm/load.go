package helm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/ignore"

	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
)

// The reasons an archive entry is refused.
var (
	errArchiveParent   = errors.New("chart archive holds an entry with a .. element: charts must not write outside their directory")
	errArchiveAbsolute = errors.New("chart archive holds an entry with an absolute path")
	errArchiveLink     = errors.New("chart archive holds a symlink or hard link: charts must hold regular files only")
	errArchiveType     = errors.New("chart archive holds an entry that is not a regular file or directory")
)

// utf8BOM is dropped from the start of chart files, as helm does.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// maxChartDepth bounds the nesting of subcharts (charts/ inside charts/ and
// dependencies of dependencies), so that a chart that depends on itself
// through file:// fails instead of recursing forever.
const maxChartDepth = 10

// files counts what the chart files of one render take, read from the
// repository or expanded from archives: the archives' decompressed bytes
// and entries are counted against the render's MaxTotalBytes and MaxFiles
// (repository files are counted by the render.Budget itself).
type files struct {
	limits  render.Limits
	bytes   int64
	entries int
	// own are the files each chart was loaded from, without charts/, to
	// build it again in the template process.
	own map[*chart.Chart][]*archive.BufferedFile
}

// entry counts one more archive entry against MaxFiles.
func (c *files) entry() error {
	c.entries++
	if max := c.limits.MaxFiles; max > 0 && c.entries > max {
		return &render.LimitError{Limit: render.LimitFiles, Max: int64(max), Actual: int64(c.entries)}
	}
	return nil
}

// overLimit returns the LimitError of n decompressed bytes beyond those
// counted, if they would take the render past MaxTotalBytes.
func (c *files) overLimit(n int64) error {
	if max := c.limits.MaxTotalBytes; max > 0 && c.bytes+n > max {
		return &render.LimitError{Limit: render.LimitTotalBytes, Max: max, Actual: c.bytes + n}
	}
	return nil
}

// inflated counts the bytes of an archive's decompressed stream as the tar
// reader reads them: every header, extended (PAX) and long-name header,
// padding and file body. Past max it reads nothing more and fails, so the
// tar reader never holds more than the render allows, however many
// extended headers it skips on its own between two entries.
type inflated struct {
	r    io.Reader
	n    int64
	max  int64 // < 0: no limit
	over bool
}

func (in *inflated) Read(p []byte) (int, error) {
	if in.over {
		return 0, errInflateLimit
	}
	if in.max >= 0 && int64(len(p)) > in.max-in.n+1 {
		// One byte more than allowed, to tell "at the limit" from "above".
		p = p[:in.max-in.n+1]
	}
	n, err := in.r.Read(p)
	in.n += int64(n)
	if in.max >= 0 && in.n > in.max {
		in.over = true
		return n, errInflateLimit
	}
	return n, err
}

// sparse tells a sparse file, whose holes would be allocated without being
// in the stream: charts have none.
func sparse(hd *tar.Header) bool {
	for k := range hd.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// errInflateLimit stops the tar reader once an archive inflates beyond the
// render's bytes; readArchive turns it into a LimitError.
var errInflateLimit = errors.New("chart archive inflates beyond the limit")

// readArchive expands a chart archive (.tgz) into memory. Unlike helm's
// loader, which turns links into empty files and counts only bytes, it
// refuses links and other special entries, and counts the entries and
// every decompressed byte (headers included) against the render's limits
// while it reads, so an archive that expands without end, in files or in
// headers, stops at the limit before more is allocated.
func (c *files) readArchive(data []byte) ([]*archive.BufferedFile, error) {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("chart archive is not gzip-compressed: %w", err)
	}
	defer gz.Close() //nolint:errcheck // a reader: its errors come from Read
	stream := &inflated{r: gz, max: -1}
	if max := c.limits.MaxTotalBytes; max > 0 {
		stream.max = max - c.bytes
	}
	out, err := c.readTar(tar.NewReader(stream), stream)
	// The limit is checked whatever the tar reader made of the refused read.
	if stream.over {
		return nil, fmt.Errorf("archive inflates beyond the limit, headers included: %w", c.overLimit(stream.n))
	}
	if err != nil {
		return nil, err
	}
	c.bytes += stream.n
	return out, nil
}

// readTar reads the entries of tr, whose decompressed stream is stream.
func (c *files) readTar(tr *tar.Reader, stream *inflated) ([]*archive.BufferedFile, error) {
	var out []*archive.BufferedFile
	top := ""
	for {
		hd, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read chart archive: %w", err)
		}
		if err := c.entry(); err != nil {
			return nil, err
		}
		switch hd.Typeflag {
		case tar.TypeXGlobalHeader:
			continue
		case tar.TypeSymlink, tar.TypeLink:
			return nil, errArchiveLink
		case tar.TypeDir:
		case tar.TypeReg:
		default:
			return nil, errArchiveType
		}
		if sparse(hd) {
			return nil, errArchiveType
		}
		name := strings.ReplaceAll(hd.Name, `\`, "/")
		if strings.HasPrefix(name, "/") || (len(name) > 1 && name[1] == ':') {
			return nil, errArchiveAbsolute
		}
		if slices.Contains(strings.Split(name, "/"), "..") {
			return nil, errArchiveParent
		}
		// The body is refused on its declared size before it is read.
		if err := c.overLimit(stream.n + max(hd.Size, 0)); err != nil {
			return nil, err
		}
		if hd.Typeflag == tar.TypeDir {
			continue
		}
		// Entries sit in one top directory, the chart's name; the chart's
		// files are what is below it.
		first, rest, ok := strings.Cut(path.Clean(name), "/")
		if !ok || rest == "" {
			return nil, fmt.Errorf("chart archive holds a file outside the chart's directory")
		}
		if top == "" {
			top = first
		}
		if first != top {
			return nil, fmt.Errorf("chart archive holds more than one top directory")
		}
		// A body longer than its header is a broken archive, which the tar
		// reader reports.
		body, err := io.ReadAll(io.LimitReader(tr, hd.Size))
		if err != nil {
			return nil, fmt.Errorf("read chart archive: %w", err)
		}
		out = append(out, &archive.BufferedFile{Name: rest, ModTime: hd.ModTime, Data: bytes.TrimPrefix(body, utf8BOM)})
	}
	if len(out) == 0 {
		return nil, errors.New("chart archive holds no files")
	}
	return out, nil
}

// loadArchive loads a chart archive, its vendored subcharts included.
func (c *files) loadArchive(data []byte, depth int) (*chart.Chart, error) {
	bf, err := c.readArchive(data)
	if err != nil {
		return nil, err
	}
	return c.load(bf, depth)
}

// load builds a chart from its files. It hands helm's loader the chart's own
// files and loads the subcharts in charts/ itself, so that vendored .tgz
// subcharts are expanded by readArchive, within the limits, and not by
// helm's loader.
func (c *files) load(bf []*archive.BufferedFile, depth int) (*chart.Chart, error) {
	if depth > maxChartDepth {
		return nil, fmt.Errorf("subcharts are nested more than %d levels deep", maxChartDepth)
	}
	var own []*archive.BufferedFile
	subcharts := map[string][]*archive.BufferedFile{}
	for _, f := range bf {
		rest, ok := strings.CutPrefix(f.Name, "charts/")
		if !ok || path.Ext(f.Name) == ".prov" {
			own = append(own, f)
			continue
		}
		name, _, _ := strings.Cut(rest, "/")
		// helm skips entries starting with "_" or "." in charts/.
		if strings.IndexAny(name, "_.") == 0 {
			continue
		}
		subcharts[name] = append(subcharts[name], &archive.BufferedFile{Name: rest, ModTime: f.ModTime, Data: f.Data})
	}
	ch, err := loader.LoadFiles(own)
	if err != nil {
		return nil, err
	}
	if c.own == nil {
		c.own = map[*chart.Chart][]*archive.BufferedFile{}
	}
	c.own[ch] = own
	for _, name := range slices.Sorted(maps.Keys(subcharts)) {
		sub, err := c.loadSubchart(name, subcharts[name], depth)
		if err != nil {
			return nil, fmt.Errorf("subchart charts/%s: %w", name, err)
		}
		if sub != nil {
			ch.AddDependency(sub)
		}
	}
	return ch, nil
}

// tree returns ch and its dependencies as the template process builds
// them again.
func (c *files) tree(ch *chart.Chart) chartNode {
	n := chartNode{Files: c.own[ch]}
	for _, d := range ch.Dependencies() {
		n.Deps = append(n.Deps, c.tree(d))
	}
	return n
}

// loadSubchart loads charts/<name>, an archive or a directory.
func (c *files) loadSubchart(name string, bf []*archive.BufferedFile, depth int) (*chart.Chart, error) {
	if path.Ext(name) == ".tgz" {
		if len(bf) != 1 || bf[0].Name != name {
			return nil, errors.New("is a directory named like an archive")
		}
		return c.loadArchive(bf[0].Data, depth+1)
	}
	var inner []*archive.BufferedFile
	for _, f := range bf {
		_, rest, ok := strings.Cut(f.Name, "/")
		if !ok {
			// A file directly in charts/ that is not an archive: helm ignores it.
			continue
		}
		inner = append(inner, &archive.BufferedFile{Name: rest, ModTime: f.ModTime, Data: f.Data})
	}
	if len(inner) == 0 {
		return nil, nil
	}
	return c.load(inner, depth+1)
}

// dirReader reads a chart directory from the repository snapshot.
type dirReader struct {
	ctx    context.Context
	root   *confine.Root
	budget *render.Budget

	parents []fs.FileInfo // directories being walked, to detect loops
}

// read returns the files of the chart directory dir (relative to the root),
// named relative to dir, without those its .helmignore skips. Symlinks are
// followed when they stay inside the repository. Errors are *render.Error
// values naming the file.
func (d *dirReader) read(dir string) ([]*archive.BufferedFile, error) {
	rules := ignore.Empty()
	ignoreFile := path.Join(dir, ignore.HelmIgnore)
	if _, err := d.root.Stat(ignoreFile); err == nil {
		data, err := d.budget.ReadFile(d.root, ignoreFile)
		if err != nil {
			return nil, &render.Error{File: ignoreFile, Err: err}
		}
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, &render.Error{File: ignoreFile, Err: fmt.Errorf("parse .helmignore: %w", err)}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, &render.Error{File: ignoreFile, Err: err}
	}
	rules.AddDefaults()
	info, err := d.root.Stat(dir)
	if err != nil {
		return nil, &render.Error{File: dir, Err: err}
	}
	var out []*archive.BufferedFile
	if err := d.walk(dir, "", info, rules, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func (d *dirReader) walk(top, rel string, info fs.FileInfo, rules *ignore.Rules, out *[]*archive.BufferedFile) error {
	dir := path.Join(top, rel)
	if err := d.budget.Check(d.ctx); err != nil {
		return &render.Error{File: dir, Err: err}
	}
	for _, p := range d.parents {
		if os.SameFile(p, info) {
			return &render.Error{File: dir, Err: confine.ErrLoop}
		}
	}
	d.parents = append(d.parents, info)
	defer func() { d.parents = d.parents[:len(d.parents)-1] }()

	entries, err := d.budget.ReadDir(d.root, dir)
	if err != nil {
		return &render.Error{File: dir, Err: err}
	}
	for _, e := range entries {
		name := path.Join(rel, e.Name())
		full := path.Join(top, name)
		info, err := d.root.Stat(full)
		if err != nil {
			return &render.Error{File: full, Err: err}
		}
		if rules.Ignore(name, info) {
			continue
		}
		if info.IsDir() {
			if err := d.walk(top, name, info, rules, out); err != nil {
				return err
			}
			continue
		}
		data, err := d.budget.ReadFile(d.root, full)
		if err != nil {
			return &render.Error{File: full, Err: err}
		}
		*out = append(*out, &archive.BufferedFile{Name: name, ModTime: info.ModTime(), Data: bytes.TrimPrefix(data, utf8BOM)})
	}
	return nil
}
