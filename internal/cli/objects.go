package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"soll.dev/internal/apiclient"
	"soll.dev/internal/apitypes"
)

// apiCmd is what the proj, repo and account commands share: they work
// through soll's API only, with the client made on first use so that flag
// errors come before any connection.
type apiCmd struct {
	g *globals
	c *apiclient.Client
}

func (a *apiCmd) client(cmd *cobra.Command) (*apiclient.Client, error) {
	if a.c != nil {
		return a.c, nil
	}
	c, err := a.g.apiClient(cmd)
	if err != nil {
		return nil, err
	}
	a.c = c
	return c, nil
}

// kind is a kind of object the API serves, as the CLI names it to people.
type kind struct {
	// noun names one object ("project").
	noun string
	// list is the command that lists them ("soll proj list").
	list string
}

var (
	kindProject    = kind{"project", "soll proj list"}
	kindRepository = kind{"repository", "soll repo list"}
	kindAccount    = kind{"account", "soll account list"}
)

// err says what failed on the object name of kind k (on all of them when
// name is ""); a missing object gets the command that lists them, and an
// unreachable server's error is clear enough as it is.
func (k kind) err(c *apiclient.Client, verb, name string, err error) error {
	if err == nil {
		return nil
	}
	if apiclient.IsNotFound(err) && name != "" {
		return fmt.Errorf("%s %s not found on soll at %s: list them with %s", k.noun, name, c.Server(), k.list)
	}
	var ue *apiclient.UnreachableError
	if errors.As(err, &ue) {
		return err
	}
	what := k.noun + "s"
	if name != "" {
		what = k.noun + " " + name
	}
	return fmt.Errorf("%s %s: %w", verb, what, err)
}

// viewCommand completes cmd into a command that shows what show returns
// in the format of -o.
func (a *apiCmd) viewCommand(cmd *cobra.Command, show func(cmd *cobra.Command, args []string, c *apiclient.Client) (view, error)) *cobra.Command {
	var output string
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkOutput(output); err != nil {
			return err
		}
		c, err := a.client(cmd)
		if err != nil {
			return err
		}
		v, err := show(cmd, args, c)
		if err != nil {
			return err
		}
		return v.print(cmd, output)
	}
	addOutputFlag(cmd, &output)
	return cmd
}

// completeNames completes the first argument with the names list returns.
func (a *apiCmd) completeNames(list func(ctx context.Context, c *apiclient.Client) ([]string, error)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		return completeFirst(cmd, args, func(ctx context.Context) ([]string, error) {
			c, err := a.client(cmd)
			if err != nil {
				return nil, err
			}
			return list(ctx, c)
		})
	}
}

// completeFirst completes the first argument with the names list returns:
// one request, bounded in time, and nothing at all if it fails.
func completeFirst(cmd *cobra.Command, args []string, list func(ctx context.Context) ([]string, error)) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Second)
	defer cancel()
	names, err := list(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// toggle adds entry to list (add true) or removes it from list, comparing
// with eq (nil: ==). Adding an entry the list has is errUnchanged;
// removing one it lacks is the error missing returns.
func toggle[T comparable](list *[]T, entry T, add bool, eq func(a, b T) bool, missing func() error) error {
	i := slices.IndexFunc(*list, func(e T) bool { return e == entry || eq != nil && eq(e, entry) })
	switch {
	case add && i >= 0:
		return errUnchanged
	case add:
		*list = append(*list, entry)
	case i < 0:
		return missing()
	default:
		*list = slices.Delete(*list, i, i+1)
	}
	return nil
}

// addedOrRemoved is the past of what toggle did.
func addedOrRemoved(add bool) string {
	if add {
		return "added"
	}
	return "removed"
}

// say prints a line for people on stdout.
func say(cmd *cobra.Command, format string, args ...any) error {
	_, err := fmt.Fprintf(cmd.OutOrStdout(), format+"\n", args...)
	return err
}

// tokenFlags are the flags of the commands that issue API tokens.
type tokenFlags struct {
	expiresIn time.Duration
	id        string
	output    string
}

func (f *tokenFlags) register(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&f.expiresIn, "expires-in", 0, "lifetime of the token, such as 24h or 720h; 0 means it never expires")
	cmd.Flags().StringVar(&f.id, "id", "", "id of the token, to revoke it by (default: a random one)")
	cmd.Flags().StringVarP(&f.output, "output", "o", "token", "output format: token (the token alone), json or yaml (id, token and times)")
}

func (f *tokenFlags) request() (apitypes.TokenRequest, error) {
	switch {
	case f.expiresIn < 0:
		return apitypes.TokenRequest{}, fmt.Errorf("--expires-in %s is negative: give a lifetime such as 24h, or 0 for none", f.expiresIn)
	case f.output != "token" && f.output != outputJSON && f.output != outputYAML:
		return apitypes.TokenRequest{}, fmt.Errorf("unknown output format %q for --output: use token, json or yaml", f.output)
	}
	return apitypes.TokenRequest{ExpiresIn: apitypes.Duration(f.expiresIn), ID: f.id}, nil
}

// print shows a token that was just issued, the only time it is shown:
// the token alone on stdout (for scripts), and what it is on stderr.
func (f *tokenFlags) print(cmd *cobra.Command, tok *apitypes.Token, what string) error {
	if f.output != "token" {
		return printValue(cmd.OutOrStdout(), f.output, tok)
	}
	expiry := "never expires"
	if tok.ExpiresAt != nil {
		expiry = "expires at " + tok.ExpiresAt.UTC().Format(time.RFC3339)
	}
	cmd.PrintErrf("token %s for %s, %s; it is shown this once only, store it now:\n", tok.ID, what, expiry)
	_, err := fmt.Fprintln(cmd.OutOrStdout(), tok.Token)
	return err
}

// askHidden asks question on the terminal fd and reads the answer without
// echo.
func askHidden(cmd *cobra.Command, fd int, question string) (string, error) {
	cmd.PrintErr(question)
	b, err := term.ReadPassword(fd)
	cmd.PrintErrln()
	if err != nil {
		return "", fmt.Errorf("read the answer to %q: %w", strings.TrimSpace(question), err)
	}
	return string(b), nil
}

// askNewPassword asks for a new password twice on the terminal fd.
func askNewPassword(cmd *cobra.Command, fd int, question string) (string, error) {
	p, err := askHidden(cmd, fd, question)
	if err != nil {
		return "", err
	}
	again, err := askHidden(cmd, fd, "Repeat it: ")
	if err != nil {
		return "", err
	}
	if p != again {
		return "", errors.New("the two passwords differ: nothing was changed, run the command again")
	}
	return p, nil
}

// readStdinLines reads n lines from stdin, for the commands that take
// more than one secret there; each must be non-empty.
func readStdinLines(r io.Reader, n int, what ...string) ([]string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("read standard input: %w", err)
	}
	lines := strings.Split(strings.TrimSuffix(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n"), "\n")
	if len(lines) != n {
		return nil, fmt.Errorf("standard input has %d line(s): want %d, %s, one a line", len(lines), n, strings.Join(what, " then "))
	}
	for i, l := range lines {
		if l == "" {
			return nil, fmt.Errorf("standard input: line %d (%s) is empty", i+1, what[i])
		}
	}
	return lines, nil
}

// readFile reads a file named by flag, for keys and certificates, which
// are never taken as flag values: those land in shell history and ps.
func readFile(flag, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--%s: %w", flag, err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return "", fmt.Errorf("--%s: %s is empty", flag, path)
	}
	return string(b), nil
}
