package cli

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"soll.dev/internal/apiclient"
	"soll.dev/internal/version"
)

// globals are the flags every command shares, which choose soll's API
// server and the credentials for it, and what the commands talk to
// besides the network (replaced in tests).
type globals struct {
	server, authToken, context string
	insecureSkipTLSVerify      bool
	plaintext                  bool

	stdin io.Reader
	// openBrowser shows a URL to the user in a browser.
	openBrowser func(url string) error
}

func (g *globals) register(cmd *cobra.Command) {
	fl := cmd.PersistentFlags()
	fl.StringVar(&g.server, "server", "", "soll's API server URL, instead of the current context's ($"+ServerEnv+")")
	fl.StringVar(&g.authToken, "auth-token", "", "token for the API server, instead of the context's ($"+AuthTokenEnv+")")
	fl.StringVar(&g.context, "context", "", "context to use instead of the current one (see soll context)")
	fl.BoolVar(&g.insecureSkipTLSVerify, "insecure-skip-tls-verify", false, "accept any TLS certificate of the server (test servers only)")
	fl.BoolVar(&g.plaintext, "plaintext", false, "talk plain HTTP to a server given without a scheme")
}

// target is the API server a command talks to and how.
type target struct {
	server, token string
	insecure      bool
	// context names the context it came from; "" when the flags or the
	// environment chose the server.
	context string
}

// loadConfig reads the configuration file, warning on stderr.
func (g *globals) loadConfig(cmd *cobra.Command) (*Config, string, error) {
	path, err := configPath()
	if err != nil {
		return nil, "", err
	}
	c, err := loadConfig(path, cmd.ErrOrStderr())
	return c, path, err
}

// target resolves the API server: --server, then $SOLL_SERVER, then the
// context (--context, else the current one). The token is --auth-token,
// then $SOLL_AUTH_TOKEN, then the context's, which is sent only to the
// context's own server. It returns nil when no server is configured.
func (g *globals) target(cmd *cobra.Command) (*target, error) {
	t := &target{insecure: g.insecureSkipTLSVerify, token: cmp.Or(g.authToken, os.Getenv(AuthTokenEnv))}
	if s := cmp.Or(g.server, os.Getenv(ServerEnv)); s != "" {
		server, err := apiclient.ParseServer(s, g.plaintext)
		if err != nil {
			return nil, err
		}
		t.server = server
	}
	var ctx *Context
	if g.context != "" || t.server == "" || t.token == "" {
		cfg, path, err := g.loadConfig(cmd)
		if err != nil {
			return nil, err
		}
		ctx = cfg.current()
		if g.context != "" {
			if ctx, err = cfg.find(g.context, path); err != nil {
				return nil, err
			}
		}
	}
	if ctx != nil && g.context != "" && t.server != "" && t.server != ctx.Server {
		return nil, fmt.Errorf("--context %s is the server %s, and --server (or $%s) names %s: give one of them", ctx.Name, ctx.Server, ServerEnv, t.server)
	}
	if ctx != nil && (t.server == "" || t.server == ctx.Server) {
		t.server, t.context = ctx.Server, ctx.Name
		t.insecure = t.insecure || ctx.InsecureSkipTLSVerify
		if t.token == "" {
			t.token = ctx.Token
		}
	}
	if t.server == "" {
		if t.token != "" {
			return nil, fmt.Errorf("a token is given (--auth-token or $%s) but no server: add --server or set $%s", AuthTokenEnv, ServerEnv)
		}
		return nil, nil
	}
	return t, nil
}

// client returns an API client for t.
func (t *target) client() (*apiclient.Client, error) {
	return apiclient.New(apiclient.Options{
		Server: t.server, Token: t.token, InsecureSkipTLSVerify: t.insecure,
		UserAgent: userAgent(),
	})
}

func userAgent() string { return "soll-cli/" + version.Version }

// apiClient returns a client of the configured server, or an error that
// says how to configure one.
func (g *globals) apiClient(cmd *cobra.Command) (*apiclient.Client, error) {
	t, err := g.target(cmd)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, fmt.Errorf("no soll server configured: log in with soll login SERVER, or pass --server (or set $%s)", ServerEnv)
	}
	return t.client()
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none (log in with soll login SERVER)"
	}
	return strings.Join(names, ", ")
}
