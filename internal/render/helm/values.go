package helm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/strvals"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
	"soll.dev/internal/render/manifest"
)

// valueSource reads the files that value files and file parameters name.
type valueSource struct {
	budget *render.Budget
	// root and app locate a chart in the repository: relative paths are
	// read from app inside root. Both are empty for a fetched chart, whose
	// relative paths name files of the chart itself (chartFiles).
	root       *confine.Root
	app        string
	chartFiles map[string][]byte
	// refs are the other sources' roots, opened on first use.
	refs   map[string]string
	opened map[string]*confine.Root
}

// close releases the refs' roots.
func (s *valueSource) close() {
	for _, r := range s.opened {
		r.Close()
	}
}

// read returns the content of the file spec names: "$ref/path" in the
// source with that ref, a path relative to the chart directory otherwise.
// file is the name errors use: the repository-relative path, or spec itself.
func (s *valueSource) read(spec string) (data []byte, file string, err error) {
	if strings.HasPrefix(spec, "http://") || strings.HasPrefix(spec, "https://") {
		return nil, spec, errors.New("value files from http(s) URLs are not supported: commit the file to a repository and name it as \"$ref/path\"")
	}
	if ref, ok := strings.CutPrefix(spec, "$"); ok {
		return s.readRef(spec, ref)
	}
	p, err := confine.Path(spec)
	if err != nil {
		return nil, spec, err
	}
	if s.root == nil {
		data, ok := s.chartFiles[p]
		if !ok {
			return nil, spec, fmt.Errorf("no such file in the chart: %w", fs.ErrNotExist)
		}
		return data, spec, nil
	}
	file = path.Join(s.app, p)
	data, err = s.budget.ReadFile(s.root, file)
	return data, file, err
}

func (s *valueSource) readRef(spec, ref string) ([]byte, string, error) {
	name, rel, ok := strings.Cut(ref, "/")
	if !ok || name == "" || rel == "" {
		return nil, spec, errors.New(`a file from another source is written "$ref/path"`)
	}
	dir, ok := s.refs[name]
	if !ok {
		return nil, spec, fmt.Errorf("no source of this application has the ref %q: set ref on the source that holds the file", name)
	}
	p, err := confine.Path(rel)
	if err != nil {
		return nil, spec, err
	}
	r := s.opened[name]
	if r == nil {
		if r, err = confine.Open(dir); err != nil {
			return nil, spec, err
		}
		if s.opened == nil {
			s.opened = map[string]*confine.Root{}
		}
		s.opened[name] = r
	}
	data, err := s.budget.ReadFile(r, p)
	return data, spec, err
}

// values merges the values of h in helm's order: value files in order, then
// values and valuesObject, then parameters (--set, then --set-string), then
// file parameters (--set-file). Later ones win. Errors are *render.Error
// values that name the file or the parameter, never a value.
func (s *valueSource) values(h *sollv1.HelmSource) (map[string]any, error) {
	base := map[string]any{}
	if h == nil {
		return base, nil
	}
	for _, spec := range h.ValueFiles {
		data, file, err := s.read(spec)
		if errors.Is(err, fs.ErrNotExist) && h.IgnoreMissingValueFiles {
			continue
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &render.Error{File: file, Err: errors.New("value file does not exist (set ignoreMissingValueFiles to skip missing ones)")}
		}
		if err != nil {
			return nil, &render.Error{File: file, Err: fmt.Errorf("value file: %w", err)}
		}
		m, err := parseValues(data)
		if err != nil {
			return nil, &render.Error{File: file, Err: err}
		}
		base = loader.MergeMaps(base, m)
	}
	if h.Values != "" {
		m, err := parseValues([]byte(h.Values))
		if err != nil {
			return nil, &render.Error{Err: fmt.Errorf("helm values: %w", err)}
		}
		base = loader.MergeMaps(base, m)
	}
	if h.ValuesObject != nil && len(h.ValuesObject.Raw) > 0 {
		var m map[string]any
		if err := json.Unmarshal(h.ValuesObject.Raw, &m); err != nil {
			return nil, &render.Error{Err: errors.New("helm valuesObject is not a mapping")}
		}
		base = loader.MergeMaps(base, m)
	}
	for _, forceString := range []bool{false, true} {
		for _, p := range h.Parameters {
			if p.ForceString != forceString {
				continue
			}
			set := strvals.ParseInto
			if forceString {
				set = strvals.ParseIntoString
			}
			if err := set(p.Name+"="+escapeValue(p.Value), base); err != nil {
				return nil, &render.Error{Err: fmt.Errorf("helm parameter %s: %s", p.Name, manifest.Sanitize(err.Error()))}
			}
		}
	}
	for _, p := range h.FileParameters {
		var readErr error
		reader := func([]rune) (any, error) {
			data, file, err := s.read(p.Path)
			if err != nil {
				readErr = &render.Error{File: file, Err: fmt.Errorf("helm file parameter %s: %w", p.Name, err)}
				return nil, readErr
			}
			return string(data), nil
		}
		// The path is passed to reader by the closure, not parsed by strvals,
		// so a comma or an equals sign in it means nothing.
		if err := strvals.ParseIntoFile(p.Name+"=file", base, reader); err != nil {
			if readErr != nil {
				return nil, readErr
			}
			return nil, &render.Error{Err: fmt.Errorf("helm file parameter %s: %s", p.Name, manifest.Sanitize(err.Error()))}
		}
	}
	return base, nil
}

// escapeValue keeps a parameter's value one value: --set splits on commas
// and reads backslashes as escapes.
func escapeValue(v string) string {
	return strings.NewReplacer(`\`, `\\`, `,`, `\,`).Replace(v)
}

// parseValues parses a values file: YAML documents whose mappings are merged.
// Errors keep the parser's reason, never the content.
func parseValues(data []byte) (map[string]any, error) {
	m, err := loader.LoadValues(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("values are not valid YAML: %s", manifest.Sanitize(err.Error()))
	}
	return m, nil
}
