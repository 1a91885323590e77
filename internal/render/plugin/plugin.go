package plugin

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/render"
	"soll.dev/internal/render/confine"
	"soll.dev/internal/render/manifest"
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
	defer removeAll(tmp)
	repo, home := filepath.Join(tmp, "repo"), filepath.Join(tmp, "home")
	for _, d := range []string{repo, home} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, &render.Error{Err: fmt.Errorf("plugin %s: %w", p.Name, err)}
		}
	}
	c := &copier{ctx: copyCtx, root: root, budget: budget, dst: repo}
	if err := c.copyDir("."); err != nil {
		return nil, err
	}

	out, err := generate(ctx, p, filepath.Join(repo, filepath.FromSlash(app)), append(env, "HOME="+home))
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
// plugin's Timeout.
func generate(ctx context.Context, p Plugin, dir string, env []string) ([]byte, error) {
	p = p.withDefaults()
	ctx, cancel := context.WithTimeoutCause(ctx, p.Timeout,
		fmt.Errorf("ran longer than %s, the plugin's timeout: %w", p.Timeout, context.DeadlineExceeded))
	defer cancel()
	if len(p.Init) > 0 {
		if _, err := run(ctx, dir, env, p.Init, p.MaxOutputBytes); err != nil {
			return nil, fmt.Errorf("init: %w", err)
		}
	}
	out, err := run(ctx, dir, env, p.Generate, p.MaxOutputBytes)
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

// environment builds a plugin's whole environment but HOME: the clean PATH,
// the application's declared variables and the SOLL_ variables.
func environment(declared []sollv1.EnvEntry, app render.AppInfo) ([]string, error) {
	env := []string{"PATH=" + cleanPath}
	for i, e := range declared {
		switch {
		case e.Name == "PATH" || e.Name == "HOME" || strings.HasPrefix(e.Name, "SOLL_"):
			return nil, fmt.Errorf("plugin.env[%d]: %s is set by soll and cannot be overridden", i, e.Name)
		case e.Name == "" || strings.ContainsAny(e.Name, "=\x00"):
			return nil, fmt.Errorf("plugin.env[%d]: invalid variable name", i)
		case strings.ContainsRune(e.Value, 0):
			return nil, fmt.Errorf("plugin.env[%d] %s: the value holds a NUL byte", i, e.Name)
		}
		env = append(env, e.Name+"="+e.Value)
	}
	return append(env,
		"SOLL_APP_NAME="+app.Name,
		"SOLL_APP_NAMESPACE="+app.Namespace,
		"SOLL_APP_PROJECT="+app.Project,
		"SOLL_APP_REVISION="+app.Revision,
		"SOLL_DESTINATION_NAMESPACE="+app.DestinationNamespace,
	), nil
}
