package plugin

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseConfig(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
plugins:
- name: cue
  discover: "*.cue"
  init: [cue, mod, tidy]
  generate: [cue, export, --out, yaml]
  timeout: 2m
  maxOutputBytes: 1048576
- name: tanka
  generate: [tk, show, --dangerous-allow-redirect, .]
`))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	want := &Config{Plugins: []Plugin{
		{Name: "cue", Discover: "*.cue", Init: []string{"cue", "mod", "tidy"}, Generate: []string{"cue", "export", "--out", "yaml"}, Timeout: 2 * time.Minute, MaxOutputBytes: 1 << 20},
		{Name: "tanka", Generate: []string{"tk", "show", "--dangerous-allow-redirect", "."}, Timeout: DefaultTimeout, MaxOutputBytes: DefaultMaxOutputBytes},
	}}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if cfg, err := ParseConfig(nil); err != nil || len(cfg.Plugins) != 0 {
		t.Errorf("ParseConfig(empty) = %v, %v; want no plugins", cfg, err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"plugins:\n- name: a\n  generate: [x]\n- name: a\n  generate: [y]", "plugin a: name: another plugin has this name"},
		{"plugins:\n- name: a", "plugin a: generate is required"},
		{"plugins:\n- name: a\n  generate: ['']", "plugin a: generate[0], the program, is empty"},
		{"plugins:\n- name: a\n  init: ['']\n  generate: [x]", "plugin a: init[0], the program, is empty"},
		{"plugins:\n- generate: [x]", "plugins[0]: name is required"},
		{"plugins:\n- name: a\n  generate: [x]\n  timeout: 11m", "plugin a: timeout must be above 0 and at most 10m0s"},
		{"plugins:\n- name: a\n  generate: [x]\n  timeout: soon", "plugin a: timeout:"},
		{"plugins:\n- name: a\n  generate: [x]\n  discover: '[a'", "plugin a: discover: syntax error in pattern"},
		{"plugins:\n- name: a\n  generate: [x]\n  discover: 'sub/*.cue'", `plugin a: discover matches file names`},
		{"plugins:\n- name: a\n  generate: [x]\n  maxOutputBytes: -1", "plugin a: maxOutputBytes must not be negative"},
		{"plugins:\n- name: a\n  generate: [x]\n  command: [y]", `unknown field "command"`},
	}
	for _, tt := range tests {
		_, err := ParseConfig([]byte(tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseConfig(%q) = %v, want an error saying %q", tt.yaml, err, tt.want)
		}
	}
}
