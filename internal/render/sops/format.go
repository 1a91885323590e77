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
	// aliases says the format has YAML aliases, which the store expands
	// without bound.
	aliases bool
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
		aliases: true,
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
		return false, errorf(ErrMalformed, "the top-level %q mapping has no mac or no version: the file is not completely encrypted; encrypt it again with sops", stores.SopsMetadataKey)
	}
	return true, nil
}

// indexOf returns the index of key in branch, or -1.
func indexOf(branch sops.TreeBranch, key string) int {
	for i, item := range branch {
		if k, ok := item.Key.(string); ok && k == key {
			return i
		}
	}
	return -1
}

// refuseAliases refuses YAML with aliases before the store sees it: the store
// copies what an alias points to, so a few hundred bytes of nested aliases
// would expand to gigabytes. sops never writes aliases, so a SOPS file with
// one was edited by hand, and its MAC would not verify anyway.
func refuseAliases(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return errorf(ErrMalformed, "not valid YAML%s: fix the file or encrypt it again", lineOf(err))
		}
		stack := []*yaml.Node{&doc}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if n.Kind == yaml.AliasNode {
				return errorf(ErrMalformed, "YAML alias at line %d: sops never writes aliases, so the file was changed by hand; edit SOPS files with sops edit", n.Line)
			}
			stack = append(stack, n.Content...)
		}
	}
}
