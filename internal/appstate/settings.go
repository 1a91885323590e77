package appstate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	gosync "sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/diff"
	"soll.dev/internal/health"
	"soll.dev/internal/render/plugin"
)

// The settings ConfigMap (sollv1.SettingsConfigMap) in soll's namespace
// holds cluster-wide customizations, in the key format Argo CD users know:
//
//	resource.customizations.health.<group>_<Kind>             a Lua health check
//	resource.customizations.ignoreDifferences.<group>_<Kind>  ignore rules (YAML)
//	resource.customizations.ignoreDifferences.all             ignore rules for every kind
//	plugins.yaml                                              rendering plugins (see render/plugin)
//
// For core kinds the key ends in the kind alone (…health.ConfigMap).
// Changes apply at the next comparison (the controller watches the
// ConfigMap and compares every app again at once); a key that does not
// parse stops comparisons with a condition naming the key, rather than
// being ignored.

const (
	pluginsKey   = "plugins.yaml"
	healthPrefix = "resource.customizations.health."
	ignorePrefix = "resource.customizations.ignoreDifferences."
)

// settings are the parsed customizations of one ConfigMap version.
type settings struct {
	version string
	health  *health.Checker
	ignore  []diff.IgnoreRule
	// plugins are the configured rendering plugins, nil when none;
	// pluginsHash identifies their definition in render requests, so a
	// changed plugin renders anew.
	plugins     *plugin.Config
	pluginsHash string
}

type settingsCache struct {
	mu      gosync.Mutex
	current *settings
}

// settings returns the customizations for soll's namespace ns, parsed
// again only when the ConfigMap changed.
func (p *Pipeline) settings(ctx context.Context, ns string) (*settings, error) {
	var cm corev1.ConfigMap
	err := p.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: sollv1.SettingsConfigMap}, &cm)
	version := ""
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("read ConfigMap %s/%s: %w", ns, sollv1.SettingsConfigMap, err)
	default:
		version = string(cm.UID) + "/" + cm.ResourceVersion
	}
	p.settingsCache.mu.Lock()
	defer p.settingsCache.mu.Unlock()
	if s := p.settingsCache.current; s != nil && s.version == version {
		return s, nil
	}
	s, err := parseSettings(cm.Data, p.Health)
	if err != nil {
		return nil, fmt.Errorf("ConfigMap %s/%s: %w", ns, sollv1.SettingsConfigMap, err)
	}
	s.version = version
	p.settingsCache.current = s
	return s, nil
}

// parseSettings builds settings from ConfigMap data; without health
// scripts, the default checker is kept.
func parseSettings(data map[string]string, defaultHealth *health.Checker) (*settings, error) {
	s := &settings{health: defaultHealth}
	scripts := map[schema.GroupKind]string{}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := data[k]
		switch {
		case strings.HasPrefix(k, healthPrefix):
			gk, err := parseGroupKind(strings.TrimPrefix(k, healthPrefix))
			if err != nil {
				return nil, fmt.Errorf("key %s: %w", k, err)
			}
			if _, err := health.New(health.Options{Scripts: map[schema.GroupKind]string{gk: v}}); err != nil {
				return nil, fmt.Errorf("key %s: %w", k, err)
			}
			scripts[gk] = v
		case k == pluginsKey:
			cfg, err := plugin.ParseConfig([]byte(v))
			if err != nil {
				return nil, fmt.Errorf("key %s: %w", k, err)
			}
			sum := sha256.Sum256([]byte(v))
			s.plugins, s.pluginsHash = cfg, hex.EncodeToString(sum[:8])
		case strings.HasPrefix(k, ignorePrefix):
			var rule struct {
				JSONPointers          []string `json:"jsonPointers"`
				JQPathExpressions     []string `json:"jqPathExpressions"`
				ManagedFieldsManagers []string `json:"managedFieldsManagers"`
			}
			if err := yaml.UnmarshalStrict([]byte(v), &rule); err != nil {
				return nil, fmt.Errorf("key %s: %w: expect jsonPointers, jqPathExpressions and managedFieldsManagers lists", k, err)
			}
			ir := diff.IgnoreRule{JSONPointers: rule.JSONPointers, JQPathExpressions: rule.JQPathExpressions, ManagedFieldsManagers: rule.ManagedFieldsManagers}
			if name := strings.TrimPrefix(k, ignorePrefix); name == "all" {
				ir.Group, ir.Kind = "*", "*"
			} else {
				gk, err := parseGroupKind(name)
				if err != nil {
					return nil, fmt.Errorf("key %s: %w", k, err)
				}
				ir.Group, ir.Kind = gk.Group, gk.Kind
			}
			if _, err := diff.NewIgnorer([]diff.IgnoreRule{ir}); err != nil {
				return nil, fmt.Errorf("key %s: %w", k, err)
			}
			s.ignore = append(s.ignore, ir)
		}
	}
	if len(scripts) > 0 {
		hc, err := health.New(health.Options{Scripts: scripts})
		if err != nil {
			return nil, err
		}
		s.health = hc
	}
	return s, nil
}

// parseGroupKind reads "<group>_<Kind>" or "<Kind>" (core group).
func parseGroupKind(s string) (schema.GroupKind, error) {
	if s == "" {
		return schema.GroupKind{}, fmt.Errorf("no kind: use <group>_<Kind>, or <Kind> for core kinds")
	}
	if i := strings.LastIndex(s, "_"); i >= 0 {
		if i == 0 || i == len(s)-1 {
			return schema.GroupKind{}, fmt.Errorf("%q: use <group>_<Kind>, or <Kind> for core kinds", s)
		}
		return schema.GroupKind{Group: s[:i], Kind: s[i+1:]}, nil
	}
	return schema.GroupKind{Kind: s}, nil
}

// pluginConfig returns the plugins of the settings last read.
func (p *Pipeline) pluginConfig() *plugin.Config {
	p.settingsCache.mu.Lock()
	defer p.settingsCache.mu.Unlock()
	if s := p.settingsCache.current; s != nil {
		return s.plugins
	}
	return nil
}
