package kustomize

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/types"
	kyaml "sigs.k8s.io/yaml"
)

// The refusals, for errors.Is. Their messages say what to do instead.
var (
	// ErrRemote refuses remote bases that were not fetched for the render:
	// those of applications whose Project does not allow them.
	ErrRemote = errors.New("remote bases are fetched only for applications whose Project allows them (spec.allowRemoteKustomizeBases): ask an admin to allow them, or copy the base into the repository")
	// ErrHelm refuses Helm chart inflation where the application does not
	// enable it.
	ErrHelm = errors.New("inflating Helm charts is off for this application: set spec.source.kustomize.enableHelm to true (soll inflates them with its own Helm renderer, in process), or render the chart with a Helm source")
	// ErrPlugin refuses KRM functions, exec and Go plugins.
	ErrPlugin = errors.New("KRM functions, exec and Go plugins are refused: only kustomize's builtin generators and transformers run in soll")
	// ErrAbsolute refuses absolute paths in kustomizations.
	ErrAbsolute = errors.New("absolute paths are refused: give a path relative to the kustomization")
)

// errHelmGenerator refuses the older ways to inflate a chart.
var errHelmGenerator = errors.New("the HelmChartInflationGenerator builtin is not supported: list the chart in the kustomization's helmCharts")

// fieldError is a refusal about one entry of a kustomization field.
type fieldError struct {
	field string
	entry string // a path or a redacted URL; never file contents
	err   error
}

func (e *fieldError) Error() string { return fmt.Sprintf("%s: %q: %v", e.field, e.entry, e.err) }
func (e *fieldError) Unwrap() error { return e.err }

// checkOptions say what kustomizations may do beyond kustomize's builtins.
type checkOptions struct {
	// remote returns the path, relative to the kustomization's directory,
	// of the fetched snapshot directory of a remote base entry; nil refuses
	// remote bases.
	remote func(entry string) (string, error)
	// helm allows helmCharts.
	helm bool
}

// checkKustomization refuses what a kustomization at rel (relative to its
// snapshot's root) may not do in soll, before kustomize acts on it: remote
// bases and resources that were not fetched and remote files (kustomize
// would exec git or download them), Helm charts unless allowed (kustomize
// would exec helm), plugins other than builtins, absolute paths, and
// relative paths that climb out of the snapshot. It returns the parsed
// kustomization and, for each remote base entry, the local path to read it
// from instead.
func checkKustomization(rel string, data []byte, opts checkOptions) (*types.Kustomization, map[string]string, error) {
	var k types.Kustomization
	if err := kyaml.Unmarshal(data, &k); err != nil {
		// Fail closed: what cannot be checked is not built.
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return nil, nil, fmt.Errorf("invalid kustomization: %s", msg)
	}
	if len(k.HelmChartInflationGenerator) > 0 {
		return nil, nil, fmt.Errorf("helmChartInflationGenerator: %w", errHelmGenerator)
	}
	if (len(k.HelmCharts) > 0 || k.HelmGlobals != nil) && !opts.helm {
		return nil, nil, fmt.Errorf("helmCharts: %w", ErrHelm)
	}
	c := checker{dir: path.Dir(rel), opts: opts}
	for _, f := range []struct {
		name  string
		paths []string
	}{
		{"resources", k.Resources},
		{"bases", k.Bases},
		{"components", k.Components},
		{"crds", k.Crds},
		{"configurations", k.Configurations},
	} {
		for _, p := range f.paths {
			c.path(f.name, p)
		}
	}
	for _, f := range []struct {
		name    string
		entries []string
	}{
		{"generators", k.Generators},
		{"transformers", k.Transformers},
		{"validators", k.Validators},
	} {
		for _, e := range f.entries {
			if strings.Contains(e, "\n") {
				c.err = errors.Join(c.err, checkPluginConfigs(f.name, []byte(e), true))
			} else {
				c.path(f.name, e)
			}
		}
	}
	for _, p := range k.PatchesStrategicMerge {
		if !strings.Contains(string(p), "\n") { // else an inline patch
			c.path("patchesStrategicMerge", string(p))
		}
	}
	for _, p := range k.Patches {
		c.optional("patches", p.Path)
	}
	for _, p := range k.PatchesJson6902 {
		c.optional("patchesJson6902", p.Path)
	}
	for _, r := range k.Replacements {
		c.optional("replacements", r.Path)
	}
	c.optional("openapi", k.OpenAPI["path"])
	for _, g := range k.ConfigMapGenerator {
		c.sources("configMapGenerator", g.KvPairSources)
	}
	for _, g := range k.SecretGenerator {
		c.sources("secretGenerator", g.KvPairSources)
	}
	for i, h := range k.HelmCharts {
		field := fmt.Sprintf("helmCharts[%d]", i)
		c.optional(field+".valuesFile", h.ValuesFile)
		for _, f := range h.AdditionalValuesFiles {
			c.path(field+".additionalValuesFiles", f)
		}
	}
	if k.HelmGlobals != nil {
		c.optional("helmGlobals.chartHome", k.HelmGlobals.ChartHome)
	}
	if c.err != nil {
		return nil, nil, c.err
	}
	return &k, c.rewrites, nil
}

// checker collects the refusals of one kustomization's paths.
type checker struct {
	dir      string // the kustomization's directory, relative to the root
	opts     checkOptions
	rewrites map[string]string // remote base entries to their local paths
	err      error
}

// path checks p, a path or URL written in field.
func (c *checker) path(field, p string) {
	if remoteFields[field] && isRemote(p) {
		c.remote(field, p)
		return
	}
	if err := checkPath(c.dir, p); err != nil {
		entry := p
		if errors.Is(err, errRemoteField) {
			entry = redact(p)
		}
		c.err = errors.Join(c.err, &fieldError{field: field, entry: entry, err: err})
	}
}

// remote checks the remote base p, written in field, and records where to
// read it from.
func (c *checker) remote(field, p string) {
	local, err := c.localOf(p)
	if err != nil {
		c.err = errors.Join(c.err, &fieldError{field: field, entry: redact(p), err: err})
		return
	}
	if c.rewrites == nil {
		c.rewrites = map[string]string{}
	}
	c.rewrites[p] = local
}

// localOf returns the local path of the remote base p.
func (c *checker) localOf(p string) (string, error) {
	if _, err := ParseRemote(p); err != nil {
		return "", err
	}
	if c.opts.remote == nil {
		return "", ErrRemote
	}
	return c.opts.remote(p)
}

// optional checks p when it is set.
func (c *checker) optional(field, p string) {
	if p != "" {
		c.path(field, p)
	}
}

// sources checks the files a generator reads: "key=path" or "path".
func (c *checker) sources(field string, s types.KvPairSources) {
	for _, f := range s.FileSources {
		if _, p, ok := strings.Cut(f, "="); ok {
			f = p
		}
		c.path(field, f)
	}
	for _, e := range s.EnvSources {
		c.path(field, e)
	}
	c.optional(field, s.EnvSource)
}

// checkPath checks p, written in a kustomization in dir where a file or a
// local directory is expected: it must be local, relative and stay inside
// the root.
func checkPath(dir, p string) error {
	switch {
	case isRemote(p):
		return errRemoteField
	case strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`):
		return ErrAbsolute
	case dir != "" && escapes(path.Join(dir, p)):
		return errOutside
	}
	return nil
}

// escapes tells whether p, cleaned and relative to the root, leaves it.
func escapes(p string) bool {
	return p == ".." || strings.HasPrefix(p, "../")
}

// userAt matches the "user@" of scp-like Git URLs (git@github.com:org/repo).
var userAt = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// isRemote tells whether kustomize would fetch p rather than read it: a URL
// with a scheme (it downloads http(s) files and clones the rest with git),
// an scp-like Git address, or a github.com path. It follows kustomize's
// own parsing of remote targets, and errs on the side of refusing.
func isRemote(p string) bool {
	lower := strings.ToLower(p)
	lower = strings.TrimPrefix(lower, "git::")
	return strings.Contains(lower, "://") ||
		userAt.MatchString(lower) ||
		strings.HasPrefix(lower, "github.com/") || strings.HasPrefix(lower, "github.com:")
}

// redact drops credentials from a URL, so that errors can quote it.
func redact(p string) string {
	if u, err := url.Parse(p); err == nil && u.User != nil {
		if _, hasPassword := u.User.Password(); hasPassword {
			u.User = url.User("redacted")
		}
		return u.String()
	}
	return p
}

// checkPluginConfigs checks the generator and transformer configs in data.
// Builtins must not inflate Helm charts nor read remote files. With inline
// (data is written in a kustomization's generators, transformers or
// validators), anything else is a plugin and refused; kustomize refuses
// those too, soll says so first with a clearer message. Without it, data is
// any file kustomize reads, and only its builtin configs are checked. Data
// that is not YAML passes: kustomize reports it.
func checkPluginConfigs(field string, data []byte, inline bool) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
		}
		var n yaml.Node
		if dec.Decode(&n) != nil {
			return nil // io.EOF, or not YAML
		}
		if n.Decode(&doc) != nil {
			continue
		}
		what := doc.Kind
		if field != "" {
			what = field + ": " + doc.Kind
		}
		if doc.APIVersion != "builtin" {
			if inline && doc.Kind != "" {
				return fmt.Errorf("%s: %w", what, ErrPlugin)
			}
			continue
		}
		if doc.Kind == "HelmChartInflationGenerator" {
			return fmt.Errorf("%s: %w", what, errHelmGenerator)
		}
		if err := checkConfigPaths(what, &n); err != nil {
			return err
		}
	}
}

// pathKeys are the keys under which builtin plugin configs name files.
var pathKeys = map[string]bool{"path": true, "paths": true, "files": true, "envs": true, "env": true}

// checkConfigPaths refuses remote and absolute paths under pathKeys in n.
// Relative paths are resolved by kustomize against the kustomization that
// uses the config, which the file system confines.
func checkConfigPaths(field string, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			if err := checkConfigPaths(field, c); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if pathKeys[k.Value] {
				var paths []string
				switch v.Kind {
				case yaml.ScalarNode:
					paths = []string{v.Value}
				case yaml.SequenceNode:
					for _, s := range v.Content {
						paths = append(paths, s.Value)
					}
				}
				for _, p := range paths {
					if _, after, ok := strings.Cut(p, "="); ok && k.Value == "files" {
						p = after
					}
					if err := checkPath("", p); err != nil && !strings.Contains(p, "\n") {
						if errors.Is(err, errRemoteField) {
							p = redact(p)
						}
						return &fieldError{field: field, entry: p, err: err}
					}
				}
			}
			if err := checkConfigPaths(field, v); err != nil {
				return err
			}
		}
	}
	return nil
}
