package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

func newContextCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "context [NAME]",
		Aliases: []string{"contexts", "ctx"},
		Short:   "List the contexts (soll servers logged in to), or switch to context NAME",
		Long: "Without NAME, list the contexts of the configuration file ($" + ConfigEnv + ", else $XDG_CONFIG_HOME/soll/config, " +
			"else ~/.config/soll/config), the current one marked with *. With NAME, make NAME the current context.",
		Example:           "  soll context\n  soll context prod\n  soll context rm staging",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: g.completeContext,
		RunE: g.withConfig(func(cmd *cobra.Command, args []string, cfg *Config, path string) error {
			if len(args) == 0 {
				if len(cfg.Contexts) == 0 {
					_, err := fmt.Fprintf(cmd.ErrOrStderr(), "no contexts in %s: log in with soll login SERVER\n", path)
					return err
				}
				t := newTable(cmd.OutOrStdout(), "", false)
				t.row([]string{"CURRENT", "NAME", "SERVER", "USER", "LOGGED IN"})
				for _, c := range cfg.Contexts {
					current, loggedIn := "", "no"
					if c.Name == cfg.CurrentContext {
						current = "*"
					}
					if c.Token != "" {
						loggedIn = "yes"
					}
					t.row([]string{current, c.Name, c.Server, c.User, loggedIn})
				}
				return t.flush()
			}
			name := args[0]
			c, err := cfg.find(name, path)
			if err != nil {
				return err
			}
			cfg.CurrentContext = name
			if err := cfg.save(path); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "switched to context %s (%s)\n", name, c.Server)
			return err
		}),
	}
	cmd.AddCommand(&cobra.Command{
		Use:               "rm NAME",
		Aliases:           []string{"remove", "delete"},
		Short:             "Remove a context from the configuration (soll logout NAME first ends its session on the server)",
		Args:              exactlyArgs("NAME"),
		ValidArgsFunction: g.completeContext,
		RunE: g.withConfig(func(cmd *cobra.Command, args []string, cfg *Config, path string) error {
			name := args[0]
			c, err := cfg.find(name, path)
			if err != nil {
				return err
			}
			loggedIn := c.Token != ""
			cfg.remove(name)
			if err := cfg.save(path); err != nil {
				return err
			}
			msg := fmt.Sprintf("context %s removed", name)
			if loggedIn {
				msg += "; its session was not ended on the server (soll logout does that) and stays valid until it expires"
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), msg)
			return err
		}),
	})
	return cmd
}

// withConfig is a RunE that reads the configuration file for run.
func (g *globals) withConfig(run func(cmd *cobra.Command, args []string, cfg *Config, path string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		cfg, path, err := g.loadConfig(cmd)
		if err != nil {
			return err
		}
		return run(cmd, args, cfg, path)
	}
}

// completeContext completes a context name as the first argument.
func (g *globals) completeContext(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	path, err := configPath()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	cfg, err := loadConfig(path, io.Discard)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return cfg.names(), cobra.ShellCompDirectiveNoFileComp
}
