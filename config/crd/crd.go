package crd

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
)

// FS holds the generated CRD manifests, one CustomResourceDefinition per
// file, named <group>_<plural>.yaml as controller-gen writes them. The
// pattern names the group so that kustomization.yaml is not embedded.
//
//go:embed soll.dev_*.yaml
var FS embed.FS

// CRDs returns the YAML manifests of all CRDs, one document per element,
// sorted by file name so that installation order is stable.
func CRDs() ([][]byte, error) {
	names, err := fs.Glob(FS, "*.yaml")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	docs := make([][]byte, 0, len(names))
	for _, name := range names {
		b, err := FS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read embedded CRD %s: %w", name, err)
		}
		docs = append(docs, b)
	}
	return docs, nil
}
