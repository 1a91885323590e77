package plugin

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// The defaults and bounds of a plugin's limits.
const (
	DefaultTimeout        = time.Minute
	MaxTimeout            = 10 * time.Minute
	DefaultMaxOutputBytes = 16 << 20
)

// Config lists the plugins an operator allows. The controller reads it from
// the plugins.yaml key of the soll-config ConfigMap.
type Config struct {
	Plugins []Plugin
}

// Plugin is one generator: programs run in a copy of the repository that
// print the application's manifests.
type Plugin struct {
	// Name is how Applications select the plugin (spec.source.plugin.name).
	Name string
	// Discover, when set, is a glob (path.Match) of a file name that
	// selects this plugin for applications that name no plugin: "*.cue",
	// "Tanka.yaml". It matches the names of the entries directly in the
	// application directory.
	Discover string
	// Init, when set, runs before Generate, with the same directory,
	// environment and time limit; its output is discarded.
	Init []string
	// Generate is the program and its arguments that print the manifests,
	// YAML or JSON, on standard output.
	Generate []string
	// Timeout bounds Init and Generate together; at most MaxTimeout.
	Timeout time.Duration
	// MaxOutputBytes bounds what Generate prints.
	MaxOutputBytes int64
}

// fileConfig is the YAML form of Config.
type fileConfig struct {
	Plugins []filePlugin `json:"plugins"`
}

type filePlugin struct {
	Name           string   `json:"name"`
	Discover       string   `json:"discover,omitempty"`
	Init           []string `json:"init,omitempty"`
	Generate       []string `json:"generate"`
	Timeout        string   `json:"timeout,omitempty"`
	MaxOutputBytes int64    `json:"maxOutputBytes,omitempty"`
}

// ParseConfig reads and checks a plugins.yaml document:
//
//	plugins:
//	- name: cue
//	  discover: "*.cue"
//	  init: [cue, mod, tidy]
//	  generate: [cue, export, --out, yaml]
//	  timeout: 2m
//	  maxOutputBytes: 33554432
//
// Unknown keys are errors. Zero limits take their defaults.
func ParseConfig(data []byte) (*Config, error) {
	var fc fileConfig
	if err := yaml.UnmarshalStrict(data, &fc); err != nil {
		return nil, fmt.Errorf("parse plugins: %w", err)
	}
	cfg := &Config{}
	seen := map[string]bool{}
	for i, fp := range fc.Plugins {
		p, err := fp.plugin()
		if err == nil && seen[p.Name] {
			err = errors.New("name: another plugin has this name")
		}
		if err != nil {
			if fp.Name == "" {
				return nil, fmt.Errorf("plugins[%d]: %w", i, err)
			}
			return nil, fmt.Errorf("plugin %s: %w", fp.Name, err)
		}
		seen[p.Name] = true
		cfg.Plugins = append(cfg.Plugins, p)
	}
	return cfg, nil
}

// plugin checks fp and returns it with defaults.
func (fp filePlugin) plugin() (Plugin, error) {
	p := Plugin{Name: fp.Name, Discover: fp.Discover, Init: fp.Init, Generate: fp.Generate, MaxOutputBytes: fp.MaxOutputBytes}
	switch {
	case fp.Name == "":
		return p, errors.New("name is required")
	case strings.ContainsAny(fp.Name, " \t\n/"):
		return p, errors.New("name: no blanks or slashes")
	case len(fp.Generate) == 0:
		return p, errors.New("generate is required: the program that prints the manifests and its arguments")
	case fp.Generate[0] == "":
		return p, errors.New("generate[0], the program, is empty")
	case len(fp.Init) > 0 && fp.Init[0] == "":
		return p, errors.New("init[0], the program, is empty")
	case fp.MaxOutputBytes < 0:
		return p, errors.New("maxOutputBytes must not be negative")
	}
	if fp.Discover != "" {
		if strings.Contains(fp.Discover, "/") {
			return p, errors.New(`discover matches file names in the application directory: no "/"`)
		}
		if _, err := path.Match(fp.Discover, ""); err != nil {
			return p, fmt.Errorf("discover: %w", err)
		}
	}
	if fp.Timeout != "" {
		d, err := time.ParseDuration(fp.Timeout)
		if err != nil {
			return p, fmt.Errorf("timeout: %w", err)
		}
		if d <= 0 || d > MaxTimeout {
			return p, fmt.Errorf("timeout must be above 0 and at most %s", MaxTimeout)
		}
		p.Timeout = d
	}
	return p.withDefaults(), nil
}

func (p Plugin) withDefaults() Plugin {
	if p.Timeout <= 0 {
		p.Timeout = DefaultTimeout
	}
	p.Timeout = min(p.Timeout, MaxTimeout)
	if p.MaxOutputBytes <= 0 {
		p.MaxOutputBytes = DefaultMaxOutputBytes
	}
	return p
}

// names lists the configured plugin names, for errors.
func (c *Config) names() string {
	var names []string
	for _, p := range c.Plugins {
		names = append(names, p.Name)
	}
	if len(names) == 0 {
		return "none is configured (plugins.yaml in the soll-config ConfigMap)"
	}
	return "configured: " + strings.Join(names, ", ")
}
