package kustomize

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"strings"

	"github.com/Masterminds/semver/v3"
	"sigs.k8s.io/kustomize/api/types"
	kyaml "sigs.k8s.io/yaml"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
)

// inflater inflates the charts of kustomizations' helmCharts with soll's
// Helm renderer, in process, where kustomize would run the helm program.
// Each chart becomes a generated file of objects beside its kustomization,
// which is listed in its resources: the kustomization's transformers apply
// to the chart's objects as they would to kustomize's inflated ones.
type inflater struct {
	fsys *fileSystem
	helm render.Renderer
	req  render.Request
}

// inflate renders the charts of k, the kustomization at l, and returns the
// names of the generated files, relative to its directory. A nil inflater
// has nothing to inflate: checkKustomization refused helmCharts already.
func (in *inflater) inflate(l loc, k *types.Kustomization) ([]string, error) {
	if in == nil || len(k.HelmCharts) == 0 {
		return nil, nil
	}
	if in.helm == nil {
		return nil, errors.New("helmCharts: no Helm renderer is configured in this soll")
	}
	home := types.HelmDefaultHome
	if k.HelmGlobals != nil && k.HelmGlobals.ChartHome != "" {
		home = k.HelmGlobals.ChartHome
	}
	dir := path.Dir(l.rel)
	var names []string
	for i, c := range k.HelmCharts {
		objs, err := in.chart(l.m, dir, path.Join(dir, home), c)
		if err != nil {
			return nil, chartError(l, fmt.Sprintf("helmCharts[%d] (%s)", i, c.Name), err)
		}
		var out bytes.Buffer
		for _, o := range objs {
			if c.SkipHooks && o.Unstructured.GetAnnotations()["helm.sh/hook"] != "" {
				continue
			}
			y, err := kyaml.Marshal(o.Unstructured.Object)
			if err != nil {
				return nil, fmt.Errorf("helmCharts[%d] (%s): %w", i, c.Name, err)
			}
			out.WriteString("---\n")
			out.Write(y)
		}
		// A name no repository file takes: the generated file hides it.
		name := fmt.Sprintf(".soll-helmCharts-%d.yaml", i)
		in.fsys.built[loc{m: l.m, rel: path.Join(dir, name)}.String()] = out.Bytes()
		names = append(names, name)
	}
	return names, nil
}

// chartError locates err, about the chart entry of the kustomization at
// l: at the file of the chart the Helm renderer names, else at the
// kustomization.
func chartError(l loc, entry string, err error) error {
	re := &render.Error{Err: err}
	if errors.As(err, &re) {
		re = &render.Error{File: re.File, Line: re.Line, Err: re.Err}
	}
	if re.File == "" {
		re.File = l.String()
	} else {
		re.File = display(l.m.remote, re.File)
	}
	re.Err = fmt.Errorf("%s: %w", entry, re.Err)
	return re
}

// chart renders the chart c of the kustomization in dir of m, whose chart
// home is home: from home/<name> (home/<name>-<version>/<name> for a chart
// with a repo and a version, where kustomize would pull it) when it is in
// the repository, else from c's repository.
func (in *inflater) chart(m *mount, dir, home string, c types.HelmChart) ([]render.Object, error) {
	if c.Name == "" {
		return nil, errors.New("name is empty: name the chart")
	}
	values, err := in.values(m, dir, c)
	if err != nil {
		return nil, err
	}
	req := render.Request{
		App: in.req.App, SourceRepos: in.req.SourceRepos,
		Helm: &sollv1.HelmSource{
			ReleaseName: cmp.Or(c.ReleaseName, c.Name), Namespace: c.Namespace, Values: values,
			SkipCrds: !c.IncludeCRDs, KubeVersion: c.KubeVersion, APIVersions: c.ApiVersions,
		},
	}
	local := path.Join(home, c.Name)
	if c.Repo != "" && c.Version != "" {
		local = path.Join(home, c.Name+"-"+c.Version, c.Name)
	}
	info, err := m.root.Stat(local)
	switch {
	case err == nil && info.IsDir():
		req.Root, req.Path = m.dir, local
	case refused(err):
		return nil, &render.Error{File: display(m.remote, local), Err: err}
	case c.Repo == "":
		return nil, fmt.Errorf("no chart directory %s and no repo to fetch the chart from: vendor the chart there or set repo and version", display(m.remote, local))
	case !exactVersion(c.Version):
		return nil, fmt.Errorf("version %q: give the exact version of the chart to fetch from %s: soll renders a commit once and keeps the result", c.Version, redact(c.Repo))
	default:
		req.Chart = &render.ChartRef{RepoURL: c.Repo, Chart: c.Name, Version: c.Version, Credentials: in.req.ChartCredentials[c.Repo]}
	}
	res, err := in.helm.Render(in.fsys.ctx, req)
	if err != nil {
		return nil, err
	}
	return res.Objects, nil
}

// values merges the chart's values files and inline values as kustomize
// does: valuesInline over valuesFile (valuesMerge override, the default),
// valuesFile over valuesInline (merge), or valuesInline alone (replace),
// then each of additionalValuesFiles over the result. The chart's own
// values.yaml stays beneath them all, as in helm.
func (in *inflater) values(m *mount, dir string, c types.HelmChart) (string, error) {
	file := map[string]any{}
	if c.ValuesFile != "" {
		var err error
		if file, err = in.valuesFile(m, dir, "valuesFile", c.ValuesFile); err != nil {
			return "", err
		}
	}
	var vals map[string]any
	switch c.ValuesMerge {
	case "", "override":
		vals = mergeValues(file, c.ValuesInline)
	case "merge":
		vals = mergeValues(c.ValuesInline, file)
	case "replace":
		vals = mergeValues(nil, c.ValuesInline)
	default:
		return "", fmt.Errorf("valuesMerge %q: use override, merge or replace", c.ValuesMerge)
	}
	for _, f := range c.AdditionalValuesFiles {
		more, err := in.valuesFile(m, dir, "additionalValuesFiles", f)
		if err != nil {
			return "", err
		}
		vals = mergeValues(vals, more)
	}
	if len(vals) == 0 {
		return "", nil
	}
	out, err := kyaml.Marshal(vals)
	return string(out), err
}

// valuesFile reads the values file p, written in field of the
// kustomization in dir of m (checked by checkKustomization).
func (in *inflater) valuesFile(m *mount, dir, field, p string) (map[string]any, error) {
	l := loc{m: m, rel: path.Join(dir, p)}
	data, err := in.fsys.read(l)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s %q: no such file", field, p)
	}
	if err != nil {
		return nil, err
	}
	var vals map[string]any
	if err := kyaml.Unmarshal(data, &vals); err != nil {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return nil, &render.Error{File: l.String(), Err: fmt.Errorf("values file: %s", msg)}
	}
	return vals, nil
}

// mergeValues returns over merged into base: maps are merged key by key,
// anything else in over replaces what base has.
func mergeValues(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range over {
		if om, ok := v.(map[string]any); ok {
			if bm, ok := out[k].(map[string]any); ok {
				out[k] = mergeValues(bm, om)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// exactVersion tells whether v names one chart version, not a range.
func exactVersion(v string) bool {
	_, err := semver.StrictNewVersion(strings.TrimPrefix(v, "v"))
	return v != "" && err == nil
}
