package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Environment variables of the CLI's configuration.
const (
	// ConfigEnv names the configuration file instead of the default.
	ConfigEnv = "SOLL_CONFIG"
	// ServerEnv and AuthTokenEnv choose the server and the token without
	// a context, for CI jobs; --server and --auth-token win over them.
	ServerEnv    = "SOLL_SERVER"
	AuthTokenEnv = "SOLL_AUTH_TOKEN"
)

// Config is the CLI's configuration file: the soll servers it has logged
// in to (contexts) and the one it uses by default. It holds tokens, so it
// is written with mode 0600.
type Config struct {
	// Contexts are the known servers, each with its credentials.
	Contexts []Context `json:"contexts"`
	// CurrentContext names the context commands use by default.
	CurrentContext string `json:"currentContext,omitempty"`
}

// Context is one soll server and the session the CLI holds there.
type Context struct {
	// Name is how commands refer to the context.
	Name string `json:"name"`
	// Server is soll's base URL.
	Server string `json:"server"`
	// User is who the server took the token for at login.
	User string `json:"user,omitempty"`
	// Token is the session or API token; empty after soll logout.
	Token string `json:"token,omitempty"`
	// InsecureSkipTLSVerify accepts any certificate of the server.
	InsecureSkipTLSVerify bool `json:"insecureSkipTLSVerify,omitempty"`
}

// configPath is where the configuration lives: $SOLL_CONFIG, else
// $XDG_CONFIG_HOME/soll/config, else ~/.config/soll/config.
func configPath() (string, error) {
	if p := os.Getenv(ConfigEnv); p != "" {
		return p, nil
	}
	if dir := os.Getenv("XDG_CONFIG_HOME"); dir != "" {
		return filepath.Join(dir, "soll", "config"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the configuration file: %w: set $%s", err, ConfigEnv)
	}
	return filepath.Join(home, ".config", "soll", "config"), nil
}

// loadConfig reads the configuration at path; a missing file is an empty
// configuration. A file others may read exposes its tokens: loadConfig
// says so on warn (and saveConfig tightens the mode).
func loadConfig(path string, warn io.Writer) (*Config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the configuration: %w", err)
	}
	var c Config
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return nil, fmt.Errorf("configuration %s is not valid: %w: fix it, or remove it and log in again", path, err)
	}
	for i, ctx := range c.Contexts {
		if ctx.Name == "" || ctx.Server == "" {
			return nil, fmt.Errorf("configuration %s: contexts[%d] needs a name and a server: fix it, or remove it with soll context rm", path, i)
		}
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 && c.hasTokens() {
		//nolint:errcheck // a warning on stderr: there is nowhere else to report that it could not be written
		fmt.Fprintf(warn, "warning: %s holds tokens and other users may read it (mode %04o): run chmod 600 %s, and log in again if they are not to be trusted\n",
			path, fi.Mode().Perm(), path)
	}
	return &c, nil
}

func (c *Config) hasTokens() bool {
	return slices.ContainsFunc(c.Contexts, func(x Context) bool { return x.Token != "" })
}

// save writes the configuration to path atomically (a reader sees the old
// or the new file, never a part) with mode 0600, creating its directory
// with mode 0700.
func (c *Config) save(path string) error {
	b, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode the configuration: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save the configuration: %w", err)
	}
	f, err := os.CreateTemp(dir, ".config-*")
	if err != nil {
		return fmt.Errorf("save the configuration: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) //nolint:errcheck // gone after a successful rename; after a failure, the error returned says more
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(b)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("save the configuration: %w", err)
	}
	return nil
}

// context returns the context name, or nil.
func (c *Config) context(name string) *Context {
	for i := range c.Contexts {
		if c.Contexts[i].Name == name {
			return &c.Contexts[i]
		}
	}
	return nil
}

// find returns the context name, or an error that lists the known ones
// (path names the configuration file).
func (c *Config) find(name, path string) (*Context, error) {
	if ctx := c.context(name); ctx != nil {
		return ctx, nil
	}
	return nil, fmt.Errorf("context %q not found in %s: known contexts: %s", name, path, listOrNone(c.names()))
}

// current returns the current context, or nil when there is none.
func (c *Config) current() *Context {
	if c.CurrentContext == "" {
		return nil
	}
	return c.context(c.CurrentContext)
}

// set adds ctx, or replaces the context of the same name.
func (c *Config) set(ctx Context) {
	if cur := c.context(ctx.Name); cur != nil {
		*cur = ctx
		return
	}
	c.Contexts = append(c.Contexts, ctx)
	slices.SortFunc(c.Contexts, func(a, b Context) int { return strings.Compare(a.Name, b.Name) })
}

// remove deletes the context name; the current context becomes none if
// it was that one. It reports whether there was such a context.
func (c *Config) remove(name string) bool {
	n := len(c.Contexts)
	c.Contexts = slices.DeleteFunc(c.Contexts, func(x Context) bool { return x.Name == name })
	if c.CurrentContext == name {
		c.CurrentContext = ""
	}
	return len(c.Contexts) < n
}

// names lists the contexts' names.
func (c *Config) names() []string {
	out := make([]string, len(c.Contexts))
	for i, x := range c.Contexts {
		out[i] = x.Name
	}
	return out
}
