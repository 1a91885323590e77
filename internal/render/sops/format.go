package sops

import (
	"bytes"
	"errors"
	"io"
	"path"
	"strings"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/stores"
	"github.com/getsops/sops/v3/stores/dotenv"
	"github.com/getsops/sops/v3/stores/ini"
	"github.com/getsops/sops/v3/stores/json"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	"go.yaml.in/yaml/v3"
)

// format is a file format SOPS encrypts, with the store that reads it.
type format struct {
	name  string
	store sops.Store
	opts  stores.MetadataOpts // where the store keeps the metadata
	// mayHold is a cheap test that data may hold SOPS metadata; false
	// means it does not, and the file is not parsed at all.
	mayHold func(data []byte) bool
	// scan, when set, tells from a cheaper parse than the store's whether
	// data is a SOPS file, and refuses what the store must not see.
	scan func(data []byte) (bool, error)
}

// The stores are stateless: one of each serves all calls.
var (
	storesConfig = config.NewStoresConfig()

	yamlFormat = &format{
		name:  "YAML",
		store: sopsyaml.NewStore(&storesConfig.YAML),
		opts:  stores.MetadataOpts{Flatten: stores.MetadataFlattenNone},
		mayHold: func(data []byte) bool {
			// sops writes its metadata as a block mapping, at column 0.
			return hasPrefixLine(data, "sops:") || hasPrefixLine(data, `"sops":`) || hasPrefixLine(data, `'sops':`)
		},
		scan: scanYAML,
	}
	jsonFormat = &format{
		name:    "JSON",
		store:   json.NewStore(&storesConfig.JSON),
		opts:    stores.MetadataOpts{Flatten: stores.MetadataFlattenNone},
		mayHold: func(data []byte) bool { return bytes.Contains(data, []byte(`"sops"`)) },
	}
	dotenvFormat = &format{
		name:    "dotenv",
		store:   dotenv.NewStore(&storesConfig.Dotenv),
		opts:    stores.MetadataOpts{Flatten: stores.MetadataFlattenFull},
		mayHold: func(data []byte) bool { return hasPrefixLine(data, stores.SopsPrefix+"mac=") },
	}
	iniFormat = &format{
		name:    "INI",
		store:   ini.NewStore(&storesConfig.INI),
		opts:    stores.MetadataOpts{Flatten: stores.MetadataFlattenBelowTop, EscapeNewlines: true},
		mayHold: func(data []byte) bool { return hasPrefixLine(data, "["+stores.SopsMetadataKey+"]") },
	}
)

// formatOf returns the format of the file at name, from its extension, or
// nil when SOPS files of that kind are not decrypted.
func formatOf(name string) *format {
	switch path.Ext(name) {
	case ".yaml", ".yml":
		return yamlFormat
	case ".json":
		return jsonFormat
	case ".env":
		return dotenvFormat
	case ".ini":
		return iniFormat
	}
	return nil
}

// hasMetadata reports whether branches, as loaded by the store, carry SOPS
// metadata: a top-level "sops" mapping with "mac" and "version" (flattened
// into "sops_mac" and "sops_version" in dotenv files). A "sops" key that is
// not a mapping is someone else's data. A mapping without "mac" or "version"
// is an error rather than plain data: passing it on would apply the
// ciphertext.
func (f *format) hasMetadata(branches sops.TreeBranches) (bool, error) {
	if len(branches) == 0 {
		return false, nil
	}
	var md sops.TreeBranch
	if f.opts.Flatten == stores.MetadataFlattenFull {
		for _, item := range branches[0] {
			if k, ok := item.Key.(string); ok && strings.HasPrefix(k, stores.SopsPrefix) {
				md = append(md, sops.TreeItem{Key: k[len(stores.SopsPrefix):], Value: item.Value})
			}
		}
		if md == nil {
			return false, nil
		}
	} else {
		i := indexOf(branches[0], stores.SopsMetadataKey)
		if i < 0 {
			return false, nil
		}
		var ok bool
		if md, ok = branches[0][i].Value.(sops.TreeBranch); !ok {
			return false, nil
		}
	}
	if indexOf(md, "mac") < 0 || indexOf(md, "version") < 0 {
		return false, errIncomplete
	}
	return true, nil
}

var errIncomplete = errorf(ErrMalformed, "the top-level %q mapping has no mac or no version: the file is not completely encrypted; encrypt it again with sops", stores.SopsMetadataKey)

// indexOf returns the index of key in branch, or -1.
func indexOf(branch sops.TreeBranch, key string) int {
	for i, item := range branch {
		if k, ok := item.Key.(string); ok && k == key {
			return i
		}
	}
	return -1
}

// scanYAML tells whether data is a SOPS YAML file from its nodes, where an
// alias is a pointer, before the store sees it: the store copies what an
// alias points to, so a few hundred bytes of nested aliases would expand to
// gigabytes. A SOPS file with an alias is refused: sops never writes them,
// so the file was edited by hand, and its MAC would not verify anyway.
func scanYAML(data []byte) (bool, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		doc := new(yaml.Node)
		err := dec.Decode(doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false, errorf(ErrMalformed, "not valid YAML%s: fix the file or encrypt it again", lineOf(err))
		}
		docs = append(docs, doc)
	}
	if len(docs) == 0 || len(docs[0].Content) == 0 {
		return false, nil
	}
	md := mappingValue(docs[0].Content[0], stores.SopsMetadataKey)
	if md == nil || md.Kind != yaml.MappingNode {
		return false, nil
	}
	if mappingValue(md, "mac") == nil || mappingValue(md, "version") == nil {
		return false, errIncomplete
	}
	for _, doc := range docs {
		stack := []*yaml.Node{doc}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if n.Kind == yaml.AliasNode {
				return false, errorf(ErrMalformed, "YAML alias at line %d: sops never writes aliases, so the file was changed by hand; edit SOPS files with sops edit", n.Line)
			}
			stack = append(stack, n.Content...)
		}
	}
	return true, nil
}

// mappingValue returns the value of key in the mapping node m, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
