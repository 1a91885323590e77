package argoimport

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Limits bound what ReadFiles reads.
type Limits struct {
	// MaxFileBytes is the largest file read; default 8 MiB.
	MaxFileBytes int64
	// MaxTotalBytes bounds all files together; default 128 MiB.
	MaxTotalBytes int64
	// MaxObjects bounds the number of objects; default 20000.
	MaxObjects int
	// MaxFiles bounds the number of files; default 20000.
	MaxFiles int
}

func (l Limits) orDefaults() Limits {
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = 8 << 20
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = 128 << 20
	}
	if l.MaxObjects <= 0 {
		l.MaxObjects = 20000
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = 20000
	}
	return l
}

// ReadFiles reads the objects of the YAML or JSON files named by paths,
// and of the .yaml, .yml and .json files under the directories among
// them (hidden ones, such as .git, are skipped). Files may hold several
// documents and kind: List objects. Each Input's File is the path as
// found, and Rel its path relative to the directory given (the file's
// base name for a file given).
func ReadFiles(paths []string, l Limits) ([]Input, error) {
	l = l.orDefaults()
	var inputs []Input
	var total int64
	files := 0
	readOne := func(path, rel string) error {
		files++
		if files > l.MaxFiles {
			return fmt.Errorf("more than %d files: import a smaller directory at a time", l.MaxFiles)
		}
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		if st.Size() > l.MaxFileBytes {
			return fmt.Errorf("%s: %d bytes, more than the limit of %d", path, st.Size(), l.MaxFileBytes)
		}
		total += st.Size()
		if total > l.MaxTotalBytes {
			return fmt.Errorf("the files hold more than %d bytes: import a smaller directory at a time", l.MaxTotalBytes)
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close() //nolint:errcheck // opened for reading: closing loses nothing
		objs, err := Decode(io.LimitReader(f, l.MaxFileBytes+1))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, o := range objs {
			inputs = append(inputs, Input{Object: o, File: path, Rel: rel})
		}
		if len(inputs) > l.MaxObjects {
			return fmt.Errorf("more than %d objects: import a smaller directory at a time", l.MaxObjects)
		}
		return nil
	}
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			if err := readOne(root, filepath.Base(root)); err != nil {
				return nil, err
			}
			continue
		}
		var found []string
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != root && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && isManifest(d.Name()) {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		for _, p := range found {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return nil, err
			}
			if err := readOne(p, rel); err != nil {
				return nil, err
			}
		}
	}
	return inputs, nil
}

func isManifest(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// Decode reads the objects of a YAML or JSON stream: every document, and
// the items of kind: List documents. Empty documents are skipped.
func Decode(r io.Reader) ([]map[string]any, error) {
	yr := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var out []map[string]any
	for doc := 1; ; doc++ {
		b, err := yr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		j, err := yaml.YAMLToJSON(b)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
			continue
		}
		var m map[string]any
		if err := utiljson.Unmarshal(j, &m); err != nil {
			return nil, fmt.Errorf("document %d: not an object: %w", doc, err)
		}
		if kind(m) == "List" || strings.HasSuffix(kind(m), "List") && m["items"] != nil {
			items, _ := m["items"].([]any)
			for i, it := range items {
				o, ok := it.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("document %d: items[%d] is not an object", doc, i)
				}
				out = append(out, o)
			}
			continue
		}
		if kind(m) == "" {
			return nil, fmt.Errorf("document %d: no kind: is this a Kubernetes object?", doc)
		}
		out = append(out, m)
	}
}

// Mask is what Encode shows for a Secret's values unless asked for them.
const Mask = "********"

// Encode writes obj as YAML without the fields the API server sets
// (creationTimestamp, and the status of converted objects). A Secret's
// values are masked unless showSecrets, also in Secrets kept unchanged.
func Encode(obj runtime.Object, showSecrets bool) ([]byte, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	if _, isU := obj.(interface{ UnstructuredContent() map[string]any }); !isU {
		delete(m, "status")
	}
	if kind(m) == "Secret" && apiVersion(m) == "v1" && !showSecrets {
		for _, key := range []string{"data", "stringData"} {
			if d, ok := m[key].(map[string]any); ok {
				for k := range d {
					d[k] = Mask
				}
			}
		}
	}
	return yaml.Marshal(m)
}
