package kustomize

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/resid"
	kyaml "sigs.k8s.io/yaml"

	sollv1 "soll.dev/api/v1alpha1"
)

// hasOverrides tells whether o changes anything.
func hasOverrides(o *sollv1.KustomizeSource) bool {
	return o != nil && (len(o.Images) > 0 || len(o.Replicas) > 0 || o.NamePrefix != "" || o.NameSuffix != "" ||
		o.Namespace != "" || len(o.CommonLabels) > 0 || len(o.CommonAnnotations) > 0 || len(o.Patches) > 0 ||
		len(o.Components) > 0)
}

// applyOverrides returns the kustomization data, at file (relative to the
// root), edited as `kustomize edit` would apply o: images and replicas
// replace the entries of the same name or are added, the name prefix and
// suffix and the namespace replace the kustomization's, labels and
// annotations are merged (the overrides win), patches and components are
// appended. The result is only ever held in memory.
func applyOverrides(file string, data []byte, o *sollv1.KustomizeSource) ([]byte, error) {
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return nil, fmt.Errorf("%s (it must be valid to apply the application's kustomize overrides)", msg)
	}
	for _, img := range o.Images {
		k.Images = setByName(k.Images, types.Image{Name: img.Name, NewName: img.NewName, NewTag: img.NewTag, Digest: img.Digest},
			func(i types.Image) string { return i.Name })
	}
	for _, r := range o.Replicas {
		k.Replicas = setByName(k.Replicas, types.Replica{Name: r.Name, Count: int64(r.Count)},
			func(r types.Replica) string { return r.Name })
	}
	if o.NamePrefix != "" {
		k.NamePrefix = o.NamePrefix
	}
	if o.NameSuffix != "" {
		k.NameSuffix = o.NameSuffix
	}
	if o.Namespace != "" {
		k.Namespace = o.Namespace
	}
	k.CommonLabels = merge(k.CommonLabels, o.CommonLabels)
	k.CommonAnnotations = merge(k.CommonAnnotations, o.CommonAnnotations)
	dir := path.Dir(file)
	for i, p := range o.Patches {
		patch, err := convertPatch(dir, p)
		if err != nil {
			return nil, fmt.Errorf("kustomize.patches[%d]: %w", i, err)
		}
		k.Patches = append(k.Patches, patch)
	}
	for i, c := range o.Components {
		if err := checkPath(dir, c); err != nil {
			return nil, fmt.Errorf("kustomize.components[%d] %q: %w", i, c, err)
		}
		k.Components = append(k.Components, c)
	}
	return kyaml.Marshal(&k)
}

// setByName replaces the item of list named like item, or appends item.
func setByName[T any](list []T, item T, name func(T) string) []T {
	for i := range list {
		if name(list[i]) == name(item) {
			list[i] = item
			return list
		}
	}
	return append(list, item)
}

// merge returns base with over's entries set.
func merge(base, over map[string]string) map[string]string {
	if len(over) == 0 {
		return base
	}
	if base == nil {
		base = make(map[string]string, len(over))
	}
	maps.Copy(base, over)
	return base
}

// convertPatch turns a patch of the Application into a kustomization's,
// checking its file path, relative to dir, the application's directory.
func convertPatch(dir string, p sollv1.KustomizePatch) (types.Patch, error) {
	out := types.Patch{Path: p.Path, Patch: p.Patch}
	if p.Path != "" {
		if err := checkPath(dir, p.Path); err != nil {
			return out, fmt.Errorf("path %q: %w", p.Path, err)
		}
	}
	if t := p.Target; t != nil {
		out.Target = &types.Selector{
			ResId: resid.ResId{
				Gvk:       resid.Gvk{Group: t.Group, Version: t.Version, Kind: t.Kind},
				Name:      t.Name,
				Namespace: t.Namespace,
			},
			LabelSelector:      t.LabelSelector,
			AnnotationSelector: t.AnnotationSelector,
		}
	}
	if len(p.Options) > 0 {
		out.Options = &types.PatchArgs{}
		for _, name := range slices.Sorted(maps.Keys(p.Options)) {
			v := p.Options[name]
			switch name {
			case "allowNameChange":
				out.Options.AllowNameChange = v
			case "allowKindChange":
				out.Options.AllowKindChange = v
			default:
				return out, fmt.Errorf("options: unknown option %q: use allowNameChange or allowKindChange", name)
			}
		}
	}
	return out, nil
}
