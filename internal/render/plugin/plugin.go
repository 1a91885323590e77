package plugin

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
	"soll.dev/internal/render/manifest"
	"soll.dev/internal/render/process"
)

// Renderer renders applications with the plugins of its Config.
type Renderer struct {
	// Config returns the plugins currently configured; it is called once
	// per render, so that configuration changes apply to the next one. Nil,
	// or a nil Config, means no plugins.
	Config func() *Config

	// Limits bound the copy of the repository (bytes, files, Timeout) and
	// the decoding of the output; zero fields take their defaults. The
	// plugin's programs are bounded by the plugin's own Timeout.
	Limits render.Limits
}

var _ render.Renderer = (*Renderer)(nil)

// Render runs the plugin named in req.Plugin, or the one discovered in the
// application directory, in a private copy of the repository, and decodes
// what it prints.
func (r *Renderer) Render(ctx context.Context, req render.Request) (*render.Result, error) {
	// Limits.Timeout bounds soll's own work; the programs have the
	// plugin's Timeout, which may be longer.
	copyCtx, cancel := render.WithTimeout(ctx, r.Limits)
	defer cancel()
	budget := render.NewBudget(r.Limits)

	var src sollv1.PluginSource
	if req.Plugin != nil {
		src = *req.Plugin
	}
	root, app, err := render.OpenApp(req)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	var cfg Config
	if r.Config != nil && r.Config() != nil {
		cfg = *r.Config()
	}
	p, err := choose(&cfg, src.Name, root, budget, app)
	if err != nil {
		return nil, err
	}
	env, err := environment(src.Env, req.App)
	if err != nil {
		return nil, &render.Error{File: app, Err: fmt.Errorf("plugin %s: %w", p.Name, err)}
	}
	if err := budget.Check(copyCtx); err != nil {
		return nil, &render.Error{File: app, Err: err}
	}

	tmp, err := os.MkdirTemp("", "soll-plugin-")
	if err != nil {
		return nil, &render.Error{Err: fmt.Errorf("plugin %s: %w", p.Name, err)}
	}
	defer removeAll(tmp) //nolint:errcheck // a directory left in the temporary directory is all a failure costs
	repo, home, tmpdir := filepath.Join(tmp, "repo"), filepath.Join(tmp, "home"), filepath.Join(tmp, "tmp")
	for _, d := range []string{repo, home, tmpdir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, &render.Error{Err: fmt.Errorf("plugin %s: %w", p.Name, err)}
		}
	}
	c := &copier{ctx: copyCtx, root: root, budget: budget, dst: repo}
	if err := c.copyDir("."); err != nil {
		return nil, err
	}

	env = append(env, "HOME="+home, "TMPDIR="+tmpdir)
	sandbox := &process.Sandbox{ReadWrite: []string{tmp}, MaxMemoryBytes: budget.Limits().MaxMemoryBytes}
	out, err := generate(ctx, p, filepath.Join(repo, filepath.FromSlash(app)), env, sandbox)
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), repo+"/", "")
		msg = strings.ReplaceAll(msg, tmp, "$TMP")
		return nil, &render.Error{File: app, Err: &pluginError{plugin: p.Name, msg: msg, err: err}}
	}
	file := fmt.Sprintf("%s (plugin %s)", app, p.Name)
	objs, err := manifest.Decode(ctx, file, out, budget)
	if err != nil {
		return nil, err
	}
	return &render.Result{Objects: objs}, nil
}

// generate runs the plugin's Init, then its Generate, in dir, within the
// plugin's Timeout, confined by sandbox.
func generate(ctx context.Context, p Plugin, dir string, env []string, sandbox *process.Sandbox) ([]byte, error) {
	p = p.withDefaults()
	ctx, cancel := context.WithTimeoutCause(ctx, p.Timeout,
		fmt.Errorf("ran longer than %s, the plugin's timeout: %w", p.Timeout, context.DeadlineExceeded))
	defer cancel()
	if len(p.Init) > 0 {
		if _, err := run(ctx, dir, env, p.Init, p.MaxOutputBytes, sandbox); err != nil {
			return nil, fmt.Errorf("init: %w", err)
		}
	}
	out, err := run(ctx, dir, env, p.Generate, p.MaxOutputBytes, sandbox)
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	return out, nil
}

// pluginError is a failed plugin run. Its message has the copy's location
// taken out; errors.Is still sees the cause, such as context.Canceled.
type pluginError struct {
	plugin string
	msg    string
	err    error
}

func (e *pluginError) Error() string { return "plugin " + e.plugin + ": " + e.msg }
func (e *pluginError) Unwrap() error { return e.err }

// choose returns the plugin named name or, when name is empty, the one
// plugin whose Discover glob matches an entry of the application directory.
func choose(cfg *Config, name string, root *confine.Root, b *render.Budget, app string) (Plugin, error) {
	if name != "" {
		for _, p := range cfg.Plugins {
			if p.Name == name {
				return p, nil
			}
		}
		return Plugin{}, &render.Error{File: app, Err: fmt.Errorf("plugin.name: no plugin %s; %s", name, cfg.names())}
	}
	entries, err := b.ReadDir(root, app)
	if err != nil {
		return Plugin{}, &render.Error{File: app, Err: err}
	}
	var found []Plugin
	for _, p := range cfg.Plugins {
		if p.Discover == "" {
			continue
		}
		for _, e := range entries {
			if ok, _ := path.Match(p.Discover, e.Name()); ok && !e.IsDir() {
				found = append(found, p)
				break
			}
		}
	}
	switch len(found) {
	case 0:
		return Plugin{}, &render.Error{File: app, Err: fmt.Errorf("no plugin's discover pattern matches a file in the application directory: set plugin.name (%s)", cfg.names())}
	case 1:
		return found[0], nil
	}
	var names []string
	for _, p := range found {
		names = append(names, p.Name)
	}
	return Plugin{}, &render.Error{File: app, Err: fmt.Errorf("the discover patterns of several plugins match files in the application directory (%s): set plugin.name", strings.Join(names, ", "))}
}

// EnvPrefix is put before the name of each variable of an Application's
// plugin env: STAGE reaches the plugin as SOLL_ENV_STAGE. The prefix keeps
// an Application from setting the variables that change how programs run
// (LD_PRELOAD, BASH_ENV, PATH, PYTHONPATH, ...), which would let the
// repository run its own code in the plugin's process.
const EnvPrefix = "SOLL_ENV_"

// ArgoCDEnvPrefix is the prefix Argo CD gives the same variables; soll sets
// it too, so that plugins written for Argo CD read their variables
// unchanged.
const ArgoCDEnvPrefix = "ARGOCD_ENV_"

// The bounds of an Application's plugin env.
const (
	MaxEnv          = 100
	MaxEnvNameBytes = 253
	MaxEnvBytes     = 64 << 10 // names and values together
)

// envName is what a variable name of an Application's plugin env may be.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// environment builds a plugin's whole environment but HOME and TMPDIR:
// the clean PATH, LANG=C, the application's declared variables, each
// under EnvPrefix and ArgoCDEnvPrefix, and the SOLL_APP_ variables.
func environment(declared []sollv1.EnvEntry, app render.AppInfo) ([]string, error) {
	if len(declared) > MaxEnv {
		return nil, fmt.Errorf("plugin.env: %d variables, at most %d are allowed", len(declared), MaxEnv)
	}
	env := []string{"PATH=" + cleanPath, "LANG=C"}
	seen := map[string]bool{}
	size := 0
	for i, e := range declared {
		switch {
		case len(e.Name) > MaxEnvNameBytes:
			return nil, fmt.Errorf("plugin.env[%d].name: longer than %d characters", i, MaxEnvNameBytes)
		case !envName.MatchString(e.Name):
			return nil, fmt.Errorf("plugin.env[%d].name %q: a name is a letter or _ followed by letters, digits and _ ([A-Za-z_][A-Za-z0-9_]*)", i, e.Name)
		case seen[e.Name]:
			return nil, fmt.Errorf("plugin.env[%d].name %q: another variable has this name", i, e.Name)
		case strings.ContainsRune(e.Value, 0):
			return nil, fmt.Errorf("plugin.env[%d].value of %s: holds a NUL byte", i, e.Name)
		}
		seen[e.Name] = true
		if size += len(e.Name) + len(e.Value); size > MaxEnvBytes {
			return nil, fmt.Errorf("plugin.env[%d]: the names and values of plugin.env pass %d bytes together", i, MaxEnvBytes)
		}
		env = append(env, EnvPrefix+e.Name+"="+e.Value, ArgoCDEnvPrefix+e.Name+"="+e.Value)
	}
	return append(env,
		"SOLL_APP_NAME="+app.Name,
		"SOLL_APP_NAMESPACE="+app.Namespace,
		"SOLL_APP_PROJECT="+app.Project,
		"SOLL_APP_REVISION="+app.Revision,
		"SOLL_DESTINATION_NAMESPACE="+app.DestinationNamespace,
	), nil
}
