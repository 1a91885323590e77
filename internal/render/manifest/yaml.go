package manifest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"soll.dev/internal/render"
)

// DecodeYAML decodes data, the contents of file, as a stream of YAML
// documents.
func DecodeYAML(ctx context.Context, file string, data []byte, b *render.Budget) (objs []render.Object, err error) {
	defer func() {
		// yaml.v3 reports errors by panicking with its own type, which it
		// recovers; any other panic is a parser bug that hostile input must
		// not turn into a crashed controller.
		if r := recover(); r != nil {
			objs, err = nil, &render.Error{File: file, Err: errors.New("invalid YAML: the parser failed on this file")}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for index := 0; ; index++ {
		if err := b.Check(ctx); err != nil {
			return nil, &render.Error{File: file, Err: err}
		}
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			line, reason := locate(data, err)
			return nil, &render.Error{File: file, Line: line, Err: fmt.Errorf("invalid YAML: %s", reason)}
		}
		if err := b.Document(); err != nil {
			line := n.Line
			if len(n.Content) > 0 {
				line = n.Content[0].Line
			}
			return nil, &render.Error{File: file, Line: line, Err: err}
		}
		if len(n.Content) == 0 {
			continue
		}
		doc, err := decodeNode(file, index, n.Content[0], b)
		if err != nil {
			return nil, err
		}
		more, err := doc.objects(b)
		if err != nil {
			return nil, err
		}
		objs = append(objs, more...)
	}
}

// decodeNode measures the document rooted at root against the limits, then
// converts it to JSON-compatible values.
func decodeNode(file string, index int, root *yaml.Node, b *render.Budget) (document, error) {
	fail := func(line int, err error) (document, error) {
		return document{}, &render.Error{File: file, Line: line, Err: err}
	}
	if line, err := measureDocument(root, b); err != nil {
		return fail(line, err)
	}
	v, err := convert(root)
	if err != nil {
		var le *lineError
		if errors.As(err, &le) {
			return fail(le.line, le.err)
		}
		return fail(root.Line, err)
	}
	doc := document{file: file, index: index, line: root.Line, value: v}
	if obj, ok := v.(map[string]any); ok && isList(obj) {
		doc.items = itemLines(root)
	}
	return doc, nil
}

// lineError is an error at a line of the document.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %v", e.line, e.err) }
func (e *lineError) Unwrap() error { return e.err }

func errorAt(n *yaml.Node, format string, args ...any) error {
	return &lineError{line: n.Line, err: fmt.Errorf(format, args...)}
}

// measure is what the measurer remembers of an anchored node.
type measure struct {
	size   int64 // nodes after alias expansion, saturated at maxSize
	height int   // levels of mappings and sequences, 0 for a scalar
}

// maxSize caps sizes so that sums cannot overflow: a bomb of 100 levels of
// ten aliases would otherwise reach 10^100.
const maxSize = math.MaxInt64 / 4

// measurer walks a node tree once, without expanding aliases: an anchored
// node is measured once and its measure reused for every alias to it, so the
// walk is linear in the size of the text even when the expansion is
// exponential.
type measurer struct {
	budget *render.Budget
	memo   map[*yaml.Node]measure
	active map[*yaml.Node]bool // anchored nodes being measured, to find cycles
	nodes  int64               // nodes in the text, without expansion
	height int                 // of the last node measured
}

// measure returns the expanded size of n, a node at nesting level depth
// when it is a mapping or sequence, and sets m.height to n's height. It
// fails when the document is too deep or an alias refers to a node that
// contains it.
func (m *measurer) measure(n *yaml.Node, depth int) (int64, error) {
	if n.Kind == yaml.AliasNode {
		target := n.Alias
		if target == nil {
			return 0, errorAt(n, "alias without an anchor")
		}
		if m.active[target] {
			return 0, errorAt(n, "alias refers to a node that contains it")
		}
		if got, ok := m.memo[target]; ok {
			if err := m.budget.Depth(depth + got.height - 1); err != nil {
				return 0, &lineError{line: n.Line, err: err}
			}
			m.height = got.height
			return got.size, nil
		}
		// An alias always follows its anchor, so the target is already
		// measured; measure it here anyway rather than trust that.
		return m.measure(target, depth)
	}
	if n.Anchor != "" {
		if got, ok := m.memo[n]; ok {
			m.height = got.height
			return got.size, nil
		}
		m.active[n] = true
		defer delete(m.active, n)
	}
	m.nodes++
	size, height := int64(1), 0
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		if err := m.budget.Depth(depth); err != nil {
			return 0, &lineError{line: n.Line, err: err}
		}
		for _, c := range n.Content {
			s, err := m.measure(c, depth+1)
			if err != nil {
				return 0, err
			}
			size = min(size+s, maxSize)
			height = max(height, m.height)
		}
		height++
	}
	if n.Anchor != "" {
		m.memo[n] = measure{size: size, height: height}
	}
	m.height = height
	return size, nil
}

// convert turns a measured node into JSON-compatible values, expanding
// aliases and merge keys. Every alias gets its own copy, so objects never
// share maps.
func convert(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.AliasNode:
		return convert(n.Alias)
	case yaml.ScalarNode:
		return scalar(n)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := convert(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return mapping(n)
	}
	return nil, errorAt(n, "unexpected YAML node")
}

// mapping converts a mapping node. Keys written in the mapping win over
// merged ones ("<<: *defaults"), and among merged mappings the first wins, as
// the YAML merge-key specification says.
func mapping(n *yaml.Node) (map[string]any, error) {
	out := make(map[string]any, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		key, err := mappingKey(k)
		if err != nil {
			return nil, err
		}
		if _, dup := out[key]; dup {
			return nil, errorAt(k, "mapping key %s is defined twice, first at line %d", quoteKey(key), firstKeyLine(n, key))
		}
		val, err := convert(v)
		if err != nil {
			return nil, err
		}
		out[key] = val
	}
	for _, m := range merges {
		sources := []*yaml.Node{m}
		if resolve(m).Kind == yaml.SequenceNode {
			sources = resolve(m).Content
		}
		for _, s := range sources {
			if resolve(s).Kind != yaml.MappingNode {
				return nil, errorAt(s, "the value of a merge key (<<) must be a mapping or a list of mappings")
			}
			merged, err := mapping(resolve(s))
			if err != nil {
				return nil, err
			}
			for k, v := range merged {
				if _, ok := out[k]; !ok {
					out[k] = v
				}
			}
		}
	}
	return out, nil
}

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// mappingKey returns a key as a string. JSON, and so Kubernetes, only has
// string keys: a scalar key is used as written (80, true), anything else is
// an error.
func mappingKey(k *yaml.Node) (string, error) {
	r := resolve(k)
	if r.Kind != yaml.ScalarNode {
		return "", errorAt(k, "mapping key is a mapping or a list: only scalar keys are supported")
	}
	if r.ShortTag() == "!!null" && (r.Value == "" || r.Value == "~") {
		return "null", nil
	}
	return r.Value, nil
}

func firstKeyLine(n *yaml.Node, key string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, err := mappingKey(n.Content[i]); err == nil && k == key {
			return n.Content[i].Line
		}
	}
	return 0
}

// quoteKey quotes a mapping key for an error. Keys are structure (a Secret's
// key names, not its values), but a long one is cut.
func quoteKey(k string) string {
	if len(k) > 40 {
		k = k[:40] + "..."
	}
	return strconv.Quote(k)
}

// scalar converts a scalar with the YAML 1.2 core schema of yaml.v3, except
// that timestamps stay the string written: Kubernetes has no timestamp type
// and kubectl keeps them as written too.
func scalar(n *yaml.Node) (any, error) {
	tag := n.ShortTag()
	switch tag {
	case "!!str", "!!timestamp", "!!merge":
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!int":
		// Plain decimals; yaml.v3 reads a leading 0 as octal (0644), as
		// kubectl does.
		if v := strings.TrimLeft(n.Value, "+-"); v == "0" || !strings.HasPrefix(v, "0") {
			if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
				return i, nil
			}
		}
	case "!!bool":
		switch n.Value {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	// Other forms (0x1F, 0o17, 1_000, .inf, TRUE, !!binary, custom tags):
	// let yaml.v3 read them. Its error would quote the value, so it is
	// replaced.
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, errorAt(n, "value cannot be read as %s", tag)
	}
	switch v := v.(type) {
	case string, bool, nil:
		return v, nil
	case int:
		return int64(v), nil
	case int64:
		return v, nil
	case uint64:
		// Above math.MaxInt64: JSON decoding into unstructured gives a float
		// for such numbers too.
		return float64(v), nil
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, errorAt(n, "infinite and NaN numbers cannot be represented in JSON")
		}
		return v, nil
	case time.Time:
		return n.Value, nil
	}
	return nil, errorAt(n, "value of type %s is not supported", tag)
}

// itemLines returns the lines of the items of the List document root, or nil
// when they cannot be found (items from a merge key).
func itemLines(root *yaml.Node) []int {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "items" {
			items := resolve(root.Content[i+1])
			if items.Kind != yaml.SequenceNode {
				return nil
			}
			lines := make([]int, len(items.Content))
			for j, it := range items.Content {
				lines[j] = it.Line
			}
			return lines
		}
	}
	return nil
}

// locate turns a yaml.v3 syntax error into a line of the file and a reason.
//
// yaml.v3's line is not reliable: for parser errors it reports where the
// enclosing block started, zero-based (a bad indentation on line 19 of a
// mapping that starts on line 17 says "line 16"). The line users need is the
// first one at which the text stops being valid YAML, so locate searches for
// it: the smallest prefix of the text, cut at a line end, that fails with the
// same reason. The search starts at the document that failed and costs a few
// parses of it; the parser's own line is kept for documents above 1 MiB.
func locate(data []byte, err error) (int, string) {
	line, reason := splitYAMLError(err.Error())
	starts := lineStarts(data)
	first := 0 // 0-based line where the search parses from: a document start
	for i := min(max(line, 1), len(starts)) - 1; i > 0; i-- {
		if isDocumentStart(data[starts[i]:]) {
			first = i
			break
		}
	}
	if len(data)-starts[first] > 1<<20 {
		return line, sanitize(reason)
	}
	fails := func(last int) bool { // last: 1-based line to cut after
		end := len(data)
		if last < len(starts) {
			end = starts[last]
		}
		err := parseAll(data[starts[first]:end])
		if err == nil {
			return false
		}
		_, r := splitYAMLError(err.Error())
		return r == reason
	}
	lo, hi := max(line, first+1), len(starts)
	if lo > hi || !fails(hi) {
		return line, sanitize(reason)
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, sanitize(reason)
}

// parseAll parses every document of data into nodes, without converting
// them.
func parseAll(data []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("parser failed")
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// splitYAMLError splits "yaml: line 3: reason" into 3 and "reason".
func splitYAMLError(msg string) (int, string) {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		num, reason, ok := strings.Cut(rest, ": ")
		if n, err := strconv.Atoi(num); ok && err == nil {
			return n, reason
		}
	}
	return 0, msg
}

// lineStarts returns the offset of the start of each line of data; a final
// line without newline counts, an empty data has one empty line.
func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, c := range data {
		if c == '\n' && i+1 < len(data) {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// isDocumentStart tells whether line begins with a "---" marker.
func isDocumentStart(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("---")) {
		return false
	}
	return len(line) == 3 || strings.ContainsRune(" \t\r\n", rune(line[3]))
}

// CheckYAML measures the YAML documents in data, the contents of file,
// against the depth and alias limits of b, without requiring them to be
// Kubernetes objects and without expanding anything. Tools that parse YAML
// themselves (kustomize) use it to refuse an alias bomb before their parser
// expands it. Data that is not valid YAML passes: the tool reports its own
// error, or reads the file as plain text (a generator's input).
func CheckYAML(ctx context.Context, file string, data []byte, b *render.Budget) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = nil // not YAML the parser can read: nothing to measure
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		if err := b.Check(ctx); err != nil {
			return &render.Error{File: file, Err: err}
		}
		var n yaml.Node
		if dec.Decode(&n) != nil {
			return nil // io.EOF, or text that is not YAML
		}
		if len(n.Content) == 0 {
			continue
		}
		if line, err := measureDocument(n.Content[0], b); err != nil {
			return &render.Error{File: file, Line: line, Err: err}
		}
	}
}

// measureDocument measures the document rooted at root against the depth
// and alias limits of b, and returns the line at fault with the error.
func measureDocument(root *yaml.Node, b *render.Budget) (int, error) {
	m := measurer{budget: b, memo: map[*yaml.Node]measure{}, active: map[*yaml.Node]bool{}}
	size, err := m.measure(root, 1)
	if err == nil {
		err = b.AliasNodes(size - m.nodes)
	}
	if err != nil {
		var le *lineError
		if errors.As(err, &le) {
			return le.line, le.err
		}
		return root.Line, err
	}
	return 0, nil
}
