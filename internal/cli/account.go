package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"soll.dev/internal/apiclient"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/auth"
)

// accountCmd holds what every soll account subcommand shares.
type accountCmd struct {
	apiCmd
}

func newAccountCommand(g *globals) *cobra.Command {
	a := &accountCmd{apiCmd{g: g}}
	cmd := &cobra.Command{
		Use:     "account",
		Aliases: []string{"accounts"},
		Short:   "Manage soll's local accounts, their passwords and API tokens",
		Long: "Manage local accounts through soll's API server. Commands that take an optional NAME work on your own account without it. " +
			"You may always read your own account, change its password and manage its API tokens; everything else needs the RBAC right on accounts.\n\n" +
			"Passwords are asked on the terminal, or read from standard input (--password-stdin ...): never from flag values.",
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(a.listCommand(), a.getCommand(), a.createCommand(), a.setCommand(),
		a.enableCommand(true), a.enableCommand(false), a.deleteCommand(),
		a.updatePasswordCommand(), a.generateTokenCommand(), a.deleteTokenCommand())
	return cmd
}

// nameCommand is a command whose first argument is an account name,
// which the shell completes.
func (a *accountCmd) nameCommand(cmd *cobra.Command) *cobra.Command {
	cmd.ValidArgsFunction = a.completeNames(func(ctx context.Context, c *apiclient.Client) ([]string, error) {
		accts, err := c.ListAccounts(ctx)
		return accountNames(accts), err
	})
	return cmd
}

func accountNames(accts []apitypes.Account) []string {
	out := make([]string, len(accts))
	for i := range accts {
		out[i] = accts[i].Name
	}
	return out
}

// clientFor returns the client and the account the command is about, as
// target does.
func (a *accountCmd) clientFor(cmd *cobra.Command, args []string) (c *apiclient.Client, name string, own bool, err error) {
	if c, err = a.client(cmd); err != nil {
		return nil, "", false, err
	}
	name, own, err = a.target(cmd, c, args)
	return c, name, own, err
}

// target returns the account args name, or the caller's own when args is
// empty, and whether it is the caller's own.
func (a *accountCmd) target(cmd *cobra.Command, c *apiclient.Client, args []string) (string, bool, error) {
	sess, err := c.Session(cmd.Context())
	if err != nil {
		return "", false, fmt.Errorf("who is logged in: %w", err)
	}
	own := ""
	if sess.Project == "" {
		own = sess.Subject
	}
	if len(args) > 0 {
		return args[0], args[0] == own, nil
	}
	if own == "" {
		return "", false, fmt.Errorf("you are logged in with a token of role %s of project %s, which is no account: name the account", sess.Role, sess.Project)
	}
	return own, true, nil
}

// checkCapabilities refuses capabilities other than login and apiKey.
func checkCapabilities(caps []string) error {
	for _, c := range caps {
		if c != auth.CapabilityLogin && c != auth.CapabilityAPIKey {
			return fmt.Errorf("--capability %q: want %s, %s or both (comma-separated)", c, auth.CapabilityLogin, auth.CapabilityAPIKey)
		}
	}
	return nil
}

func capabilitiesText(caps []string) string {
	if len(caps) == 0 {
		return "none"
	}
	return strings.Join(caps, ",")
}

func (a *accountCmd) listCommand() *cobra.Command {
	return a.viewCommand(&cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List local accounts (those you may read; your own always)",
		Args:    cobra.NoArgs,
	}, func(cmd *cobra.Command, _ []string, c *apiclient.Client) (view, error) {
		accts, err := c.ListAccounts(cmd.Context())
		return view{
			value: nonNil(accts),
			empty: len(accts) == 0,
			none:  "no accounts on soll at " + c.Server() + " that you may read",
			table: func(w io.Writer, wide bool) error {
				t := newTable(w, "", wide)
				t.row([]string{"NAME", "ENABLED", "CAPABILITIES", "PASSWORD", "TOKENS"}, "PASSWORD CHANGED")
				for _, acct := range accts {
					t.row([]string{acct.Name, strconv.FormatBool(acct.Enabled), capabilitiesText(acct.Capabilities), passwordText(acct), strconv.Itoa(len(acct.Tokens))},
						timeOrEmpty(acct.PasswordChangedAt))
				}
				return t.flush()
			},
			names: func() []string { return accountNames(accts) },
		}, kindAccount.err(c, "list", "", err)
	})
}

func passwordText(acct apitypes.Account) string {
	if acct.HasPassword {
		return "set"
	}
	return "none"
}

func timeOrEmpty(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func (a *accountCmd) getCommand() *cobra.Command {
	return a.nameCommand(a.viewCommand(&cobra.Command{
		Use:   "get [NAME]",
		Short: "Show a local account (your own without NAME): capabilities, password, API tokens",
		Args:  cobra.MaximumNArgs(1),
	}, func(cmd *cobra.Command, args []string, c *apiclient.Client) (view, error) {
		name, _, err := a.target(cmd, c, args)
		if err != nil {
			return view{}, err
		}
		acct, err := c.GetAccount(cmd.Context(), name)
		if err != nil {
			return view{}, kindAccount.err(c, "get", name, err)
		}
		return view{
			value: acct,
			table: func(w io.Writer, _ bool) error { return writeAccountSummary(w, acct) },
			names: func() []string { return []string{acct.Name} },
		}, nil
	}))
}

func writeAccountSummary(w io.Writer, acct *apitypes.Account) error {
	s := &summary{w: w}
	s.line(0, "Name", acct.Name)
	s.line(0, "Enabled", strconv.FormatBool(acct.Enabled))
	s.line(0, "Capabilities", capabilitiesText(acct.Capabilities))
	pw := passwordText(*acct)
	if acct.PasswordChangedAt != nil {
		pw += ", changed " + timeOrEmpty(acct.PasswordChangedAt)
	}
	s.line(0, "Password", pw)
	if len(acct.Tokens) == 0 {
		s.line(0, "Tokens", "none")
		return s.err
	}
	s.text("Tokens:")
	if s.err != nil {
		return s.err
	}
	t := newTable(w, "  ", false)
	t.row([]string{"ID", "ISSUED", "EXPIRES"})
	for _, tok := range acct.Tokens {
		expires := "never"
		if !tok.ExpiresAt.IsZero() {
			expires = tok.ExpiresAt.UTC().Format(time.RFC3339)
		}
		t.row([]string{tok.ID, tok.IssuedAt.UTC().Format(time.RFC3339), expires})
	}
	return t.flush()
}

func (a *accountCmd) createCommand() *cobra.Command {
	var caps []string
	var passwordStdin, disabled bool
	var output string
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a local account",
		Example: "  soll account create alice                          # login; set a password with soll account update-password alice\n" +
			"  soll account create ci --capability apiKey          # for API tokens only\n" +
			"  soll account create bob --password-stdin < password",
		Args: exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if err := checkCapabilities(caps); err != nil {
				return err
			}
			req := apitypes.AccountRequest{Name: args[0], Capabilities: nonNil(caps)}
			if passwordStdin {
				p, err := readSecretStdin(a.g.stdin, "--password-stdin")
				if err != nil {
					return err
				}
				req.Password = p
			}
			if disabled {
				req.Enabled = new(bool)
			}
			c, err := a.client(cmd)
			if err != nil {
				return err
			}
			acct, err := c.CreateAccount(cmd.Context(), req)
			var e *apiclient.Error
			if errors.As(err, &e) && e.Code == "AlreadyExists" {
				return fmt.Errorf("account %s already exists on soll at %s: see it with soll account get %s", req.Name, c.Server(), req.Name)
			}
			if err != nil {
				return kindAccount.err(c, "create", req.Name, err)
			}
			msg := fmt.Sprintf("account %s created (capabilities: %s)", acct.Name, capabilitiesText(acct.Capabilities))
			if !acct.HasPassword && slices.Contains(acct.Capabilities, auth.CapabilityLogin) {
				msg += "; it has no password yet: set one with soll account update-password " + acct.Name
			}
			return view{
				value: acct,
				table: func(w io.Writer, _ bool) error { _, err := fmt.Fprintln(w, msg); return err },
				names: func() []string { return []string{acct.Name} },
			}.print(cmd, output)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&caps, "capability", []string{auth.CapabilityLogin}, "what the account may do: login (password logins), apiKey (API tokens), or both")
	fl.BoolVar(&passwordStdin, "password-stdin", false, "read the account's password from standard input")
	fl.BoolVar(&disabled, "disabled", false, "create the account disabled")
	addOutputFlag(cmd, &output)
	return cmd
}

// patch applies patch to account name and says what it did.
func (a *accountCmd) patch(cmd *cobra.Command, name string, patch apitypes.AccountPatch, done func(*apitypes.Account) string) error {
	c, err := a.client(cmd)
	if err != nil {
		return err
	}
	acct, err := c.PatchAccount(cmd.Context(), name, patch)
	if err != nil {
		return kindAccount.err(c, "update", name, err)
	}
	return say(cmd, "account %s %s", name, done(acct))
}

func (a *accountCmd) setCommand() *cobra.Command {
	var caps []string
	cmd := &cobra.Command{
		Use:     "set NAME --capability CAPABILITIES",
		Short:   "Replace an account's capabilities: login, apiKey, both or none",
		Long:    "Replace an account's capabilities. Taking login away refuses its sessions, taking apiKey away its API tokens, from then on; giving them back makes them valid again.",
		Example: "  soll account set ci --capability apiKey\n  soll account set alice --capability login,apiKey",
		Args:    exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("capability") {
				return errors.New("nothing to set: pass --capability (login, apiKey, both comma-separated, or '' for none)")
			}
			if err := checkCapabilities(caps); err != nil {
				return err
			}
			caps = nonNil(caps)
			return a.patch(cmd, args[0], apitypes.AccountPatch{Capabilities: &caps}, func(acct *apitypes.Account) string {
				return "now has the capabilities " + capabilitiesText(acct.Capabilities)
			})
		},
	}
	cmd.Flags().StringSliceVar(&caps, "capability", nil, "login (password logins), apiKey (API tokens), both, or '' for none")
	return a.nameCommand(cmd)
}

func (a *accountCmd) enableCommand(enable bool) *cobra.Command {
	use, short := "disable", "Disable an account: its logins, sessions and API tokens are refused until it is enabled again"
	if enable {
		use, short = "enable", "Enable a disabled account: its sessions and API tokens are valid again"
	}
	return a.nameCommand(&cobra.Command{
		Use:   use + " NAME",
		Short: short,
		Args:  exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.patch(cmd, args[0], apitypes.AccountPatch{Enabled: &enable}, func(*apitypes.Account) string {
				if enable {
					return "enabled"
				}
				return "disabled: its sessions and tokens are refused until soll account enable " + args[0]
			})
		},
	})
}

func (a *accountCmd) deleteCommand() *cobra.Command {
	return a.nameCommand(&cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a local account and its API tokens (not admin: disable that instead)",
		Args:  exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd)
			if err != nil {
				return err
			}
			if err := c.DeleteAccount(cmd.Context(), args[0]); err != nil {
				return kindAccount.err(c, "delete", args[0], err)
			}
			return say(cmd, "account %s deleted, and with it its sessions and API tokens", args[0])
		},
	})
}

// passwordFlags are the flags of soll account update-password.
type passwordFlags struct {
	currentStdin, newStdin bool
}

// read returns the current password (when own is true: changing your own
// password needs it) and the new one: from stdin, or asked on the
// terminal.
func (f *passwordFlags) read(cmd *cobra.Command, stdin io.Reader, name string, own bool) (current, password string, err error) {
	switch {
	case f.currentStdin && !own:
		return "", "", fmt.Errorf("setting the password of %s, which is not your account, needs no current password: drop --current-password-stdin", name)
	case f.currentStdin != f.newStdin && own:
		return "", "", errors.New("changing your own password needs the current and the new one: pass --current-password-stdin and --new-password-stdin, " +
			"and give the current password on the first line of standard input, the new one on the second")
	case f.newStdin && own:
		lines, err := readStdinLines(stdin, 2, "the current password", "the new password")
		if err != nil {
			return "", "", err
		}
		return lines[0], lines[1], nil
	case f.newStdin:
		password, err = readSecretStdin(stdin, "--new-password-stdin")
		return "", password, err
	}
	fd, ok := terminalFD(stdin)
	if !ok {
		return "", "", errors.New("no terminal to ask for the passwords: pass --new-password-stdin (and --current-password-stdin for your own account)")
	}
	if own {
		if current, err = askHidden(cmd, fd, "Current password of "+name+": "); err != nil {
			return "", "", err
		}
	}
	password, err = askNewPassword(cmd, fd, "New password of "+name+": ")
	return current, password, err
}

func (a *accountCmd) updatePasswordCommand() *cobra.Command {
	var f passwordFlags
	cmd := &cobra.Command{
		Use:   "update-password [NAME]",
		Short: "Change your own password (with the current one), or set another account's (with the update right)",
		Long: "Change your own password (NAME left out, or your account's name), which needs the current one, " +
			"or set the password of another account, which needs the update right on accounts. " +
			"Either way the account's sessions issued before are refused from then on; when that ends the session of your current context, " +
			"the command logs it in again with the new password. Wrong current passwords are throttled as failed logins are.",
		Example: "  soll account update-password                       # asks on the terminal\n" +
			"  printf '%s\\n%s\\n' \"$OLD\" \"$NEW\" | soll account update-password --current-password-stdin --new-password-stdin\n" +
			"  soll account update-password alice --new-password-stdin < password",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := a.g.target(cmd)
			if err != nil {
				return err
			}
			c, name, own, err := a.clientFor(cmd, args)
			if err != nil {
				return err
			}
			current, password, err := f.read(cmd, a.g.stdin, name, own)
			if err != nil {
				return err
			}
			err = c.SetPassword(cmd.Context(), name, apitypes.PasswordChange{CurrentPassword: current, NewPassword: password})
			var e *apiclient.Error
			switch {
			case errors.As(err, &e) && e.Status == http.StatusTooManyRequests:
				return fmt.Errorf("password of %s not changed: too many wrong passwords: retry %s", name, retryWhen(e))
			case errors.As(err, &e) && e.Field == "currentPassword":
				return fmt.Errorf("password of %s not changed: the current password is wrong", name)
			case errors.As(err, &e) && e.Field == "newPassword":
				return fmt.Errorf("password of %s not changed: the new password is refused: %s", name, e.Message)
			case err != nil:
				return kindAccount.err(c, "change the password of", name, err)
			}
			if !own {
				return say(cmd, "password of %s set; its sessions issued before are refused from now on", name)
			}
			return a.relogin(cmd, t, c, name, password)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.currentStdin, "current-password-stdin", false, "read the current password from standard input (the first line, with --new-password-stdin)")
	fl.BoolVar(&f.newStdin, "new-password-stdin", false, "read the new password from standard input (the second line, with --current-password-stdin)")
	return a.nameCommand(cmd)
}

// relogin follows a change of your own password: the context's session,
// issued before it, is refused from now on, so the context logs in again
// with the new password. A token of the flags or the environment is left
// alone.
func (a *accountCmd) relogin(cmd *cobra.Command, t *target, c *apiclient.Client, name, password string) error {
	fromContext := t.context != "" && a.g.authToken == "" && os.Getenv(AuthTokenEnv) == ""
	if !fromContext {
		return say(cmd, "password of %s changed; its sessions issued before are refused from now on", name)
	}
	cfg, path, err := a.g.loadConfig(cmd)
	if err != nil {
		return err
	}
	ctx := cfg.context(t.context)
	if ctx == nil || ctx.User != name {
		return say(cmd, "password of %s changed; its sessions issued before are refused from now on", name)
	}
	res, err := c.Login(cmd.Context(), name, password)
	if err != nil {
		return fmt.Errorf("password of %s changed, which ended the session of context %s, and logging in again failed: log in with soll login %s --name %s: %w",
			name, ctx.Name, ctx.Server, ctx.Name, err)
	}
	ctx.Token = res.Token
	if err := cfg.save(path); err != nil {
		return err
	}
	return say(cmd, "password of %s changed; its sessions issued before are refused from now on, and context %s is logged in again", name, ctx.Name)
}

// retryWhen says when a throttled request may be tried again.
func retryWhen(e *apiclient.Error) string {
	if e.RetryAfter <= 0 {
		return "later"
	}
	return fmt.Sprintf("in %s (at %s)", e.RetryAfter, time.Now().Add(e.RetryAfter).Format("15:04:05"))
}

func (a *accountCmd) generateTokenCommand() *cobra.Command {
	var f tokenFlags
	cmd := &cobra.Command{
		Use:   "generate-token [NAME]",
		Short: "Issue an API token for an account with the apiKey capability (your own without NAME); it is printed this once only",
		Example: "  soll account generate-token ci --expires-in 720h --id pipeline > token\n" +
			"  SOLL_SERVER=https://soll.example.com SOLL_AUTH_TOKEN=$(cat token) soll app list",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := f.request()
			if err != nil {
				return err
			}
			c, name, _, err := a.clientFor(cmd, args)
			if err != nil {
				return err
			}
			tok, err := c.CreateAccountToken(cmd.Context(), name, req)
			var e *apiclient.Error
			if errors.As(err, &e) && e.Status == http.StatusBadRequest && strings.Contains(e.Message, auth.CapabilityAPIKey) {
				return fmt.Errorf("%s: give it with soll account set %s --capability %s (with any other capability it keeps, comma-separated)", e.Message, name, auth.CapabilityAPIKey)
			}
			if err != nil {
				return kindAccount.err(c, "issue a token for", name, err)
			}
			return f.print(cmd, tok, "account "+name)
		},
	}
	f.register(cmd)
	return a.nameCommand(cmd)
}

func (a *accountCmd) deleteTokenCommand() *cobra.Command {
	return a.nameCommand(&cobra.Command{
		Use:   "delete-token NAME ID",
		Short: "Revoke an API token of an account",
		Args:  exactlyArgs("NAME", "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, id := args[0], args[1]
			c, err := a.client(cmd)
			if err != nil {
				return err
			}
			err = c.DeleteAccountToken(cmd.Context(), name, id)
			if apiclient.IsNotFound(err) {
				if _, getErr := c.GetAccount(cmd.Context(), name); getErr != nil {
					return kindAccount.err(c, "get", name, getErr)
				}
				return fmt.Errorf("account %s has no token %s: its tokens are listed by soll account get %s", name, id, name)
			}
			if err != nil {
				return kindAccount.err(c, "revoke token "+id+" of", name, err)
			}
			return say(cmd, "token %s of account %s revoked", id, name)
		},
	})
}
