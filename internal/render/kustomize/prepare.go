package kustomize

import (
	"fmt"
	"path"
	"path/filepath"

	kyaml "sigs.k8s.io/yaml"
)

// kustomization checks the kustomization data read at l (see
// checkKustomization) and returns it as kustomize is to read it: its remote
// bases pointed to their fetched snapshots, its Helm charts inflated into
// generated resource files. The result is kept, so that the work is done
// once per build.
func (f *fileSystem) kustomization(l loc, data []byte) ([]byte, error) {
	opts := checkOptions{helm: f.helm != nil}
	if f.remotes != nil {
		opts.remote = func(entry string) (string, error) { return f.remoteBase(l, entry) }
	}
	k, rewrites, err := checkKustomization(l.rel, data, opts)
	if err != nil {
		return nil, err
	}
	if len(rewrites) > 0 || len(k.HelmCharts) > 0 || k.HelmGlobals != nil {
		for _, list := range []*[]string{&k.Resources, &k.Bases, &k.Components} {
			for i, e := range *list {
				if local, ok := rewrites[e]; ok {
					(*list)[i] = local
				}
			}
		}
		generated, err := f.helm.inflate(l, k)
		if err != nil {
			return nil, err
		}
		k.Resources = append(k.Resources, generated...)
		k.HelmCharts, k.HelmGlobals = nil, nil
		if data, err = kyaml.Marshal(k); err != nil {
			return nil, err
		}
	}
	f.built[l.String()] = data
	return data, nil
}

// remoteBase mounts the fetched snapshot of the remote base entry, named
// by the kustomization at from, and returns the path of the base's
// directory relative to the kustomization's: kustomize takes it for a
// local base, read through the mount.
func (f *fileSystem) remoteBase(from loc, entry string) (string, error) {
	rem, err := ParseRemote(entry)
	if err != nil {
		return "", err
	}
	dir, ok := f.remotes[rem.Key()]
	if !ok {
		return "", fmt.Errorf("it was not fetched before the render: %w", ErrRemote)
	}
	m, err := f.mount(dir, &rem)
	if err != nil {
		return "", err
	}
	target := loc{m: m, rel: rem.Path}.abs()
	rel, err := filepath.Rel(loc{m: from.m, rel: path.Dir(from.rel)}.abs(), target)
	if err != nil {
		return "", err
	}
	return filepath.ToSlash(rel), nil
}
