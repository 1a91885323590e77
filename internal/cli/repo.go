package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apiclient"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/project"
	"soll.dev/internal/repocreds"
)

// repoCmd holds what every soll repo subcommand shares.
type repoCmd struct {
	apiCmd
}

func newRepoCommand(g *globals) *cobra.Command {
	r := &repoCmd{apiCmd{g: g}}
	cmd := &cobra.Command{
		Use:     "repo",
		Aliases: []string{"repos", "repository"},
		Short:   "Manage the credentials soll uses for Git repositories, Helm chart repositories and OCI registries",
		Long: "Manage repository credentials through soll's API server: each is a Secret in soll's namespace " +
			"(labelled soll.dev/secret-type) with a repository URL and one kind of credentials. " +
			"soll repo add tests them before it saves them.\n\n" +
			"Passwords, tokens and passphrases are read from standard input (--password-stdin ...) or asked on the terminal, " +
			"keys and certificates from files: never from flag values, which land in shell history and process lists. " +
			"No command prints them, and the API never returns them.",
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(r.addCommand(), r.listCommand(), r.removeCommand(), r.testCommand())
	return cmd
}

// repoCredFlags are the flags that give a repository's credentials.
type repoCredFlags struct {
	username                             string
	passwordStdin, bearerTokenStdin      bool
	sshPrivateKeyPath, sshKnownHostsPath string
	sshPassphraseStdin                   bool
	tlsClientCertPath, tlsClientKeyPath  string
	caCertPath                           string
}

func (f *repoCredFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.username, "username", "", "user name for HTTPS (with --password-stdin, else the password is asked on the terminal)")
	fl.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password (or a token used as one) from standard input")
	fl.BoolVar(&f.bearerTokenStdin, "bearer-token-stdin", false, "read a bearer token for HTTPS from standard input")
	fl.StringVar(&f.sshPrivateKeyPath, "ssh-private-key-path", "", "file with the SSH private key, for ssh:// and user@host:path URLs")
	fl.BoolVar(&f.sshPassphraseStdin, "ssh-passphrase-stdin", false, "read the passphrase of an encrypted SSH private key from standard input")
	fl.StringVar(&f.sshKnownHostsPath, "ssh-known-hosts-path", "", "file with the server's host keys in known_hosts format (ssh-keyscan HOST)")
	fl.StringVar(&f.tlsClientCertPath, "tls-client-cert-path", "", "file with a TLS client certificate (PEM), with --tls-client-key-path")
	fl.StringVar(&f.tlsClientKeyPath, "tls-client-key-path", "", "file with the key of the TLS client certificate (PEM)")
	fl.StringVar(&f.caCertPath, "ca-cert-path", "", "file with the CA certificate(s) (PEM) that signed an HTTPS server's certificate")
}

// given reports whether any credentials flag was given.
func (f *repoCredFlags) given() bool {
	return f.username != "" || f.passwordStdin || f.bearerTokenStdin || f.sshPrivateKeyPath != "" || f.sshPassphraseStdin ||
		f.sshKnownHostsPath != "" || f.tlsClientCertPath != "" || f.tlsClientKeyPath != "" || f.caCertPath != ""
}

// request builds the request for repoURL from the flags, reading the
// secrets from stdin, the terminal and files; errors name the flags.
func (f *repoCredFlags) request(cmd *cobra.Command, stdin io.Reader, repoURL string) (apitypes.RepositoryRequest, error) {
	req := apitypes.RepositoryRequest{URL: repoURL, Username: f.username}
	var fromStdin []string
	fromStdin = appendIf(fromStdin, f.passwordStdin, "--password-stdin")
	fromStdin = appendIf(fromStdin, f.bearerTokenStdin, "--bearer-token-stdin")
	fromStdin = appendIf(fromStdin, f.sshPassphraseStdin, "--ssh-passphrase-stdin")
	switch {
	case len(fromStdin) > 1:
		return req, fmt.Errorf("only one flag can read standard input, and %s are given", strings.Join(fromStdin, " and "))
	case f.passwordStdin && f.username == "":
		return req, errors.New("--password-stdin needs --username (any non-empty name for hosts that take a token as the password)")
	case (f.tlsClientCertPath == "") != (f.tlsClientKeyPath == ""):
		return req, errors.New("a TLS client certificate needs both --tls-client-cert-path and --tls-client-key-path")
	case f.sshPassphraseStdin && f.sshPrivateKeyPath == "":
		return req, errors.New("--ssh-passphrase-stdin decrypts the key of --ssh-private-key-path, which is not given")
	}
	var err error
	secret := func(s *string, flag string) {
		if err == nil {
			*s, err = readSecretStdin(stdin, flag)
		}
	}
	switch {
	case f.passwordStdin:
		secret(&req.Password, "--password-stdin")
	case f.bearerTokenStdin:
		secret(&req.BearerToken, "--bearer-token-stdin")
	case f.sshPassphraseStdin:
		secret(&req.SSHPassphrase, "--ssh-passphrase-stdin")
	case f.username != "":
		fd, ok := terminalFD(stdin)
		if !ok {
			return req, fmt.Errorf("no terminal to ask for the password of %s: give it on standard input with --password-stdin", f.username)
		}
		req.Password, err = askHidden(cmd, fd, fmt.Sprintf("Password of %s for %s: ", f.username, repoURL))
	}
	for _, file := range []struct {
		value *string
		flag  string
		path  string
	}{
		{&req.SSHPrivateKey, "ssh-private-key-path", f.sshPrivateKeyPath},
		{&req.SSHKnownHosts, "ssh-known-hosts-path", f.sshKnownHostsPath},
		{&req.TLSClientCert, "tls-client-cert-path", f.tlsClientCertPath},
		{&req.TLSClientKey, "tls-client-key-path", f.tlsClientKeyPath},
		{&req.CACert, "ca-cert-path", f.caCertPath},
	} {
		if err == nil && file.path != "" {
			*file.value, err = readFile(file.flag, file.path)
		}
	}
	return req, err
}

// readSecretStdin reads the one line of stdin that flag says holds a
// secret.
func readSecretStdin(stdin io.Reader, flag string) (string, error) {
	lines, err := readStdinLines(stdin, 1, "the secret of "+flag)
	if err != nil {
		return "", err
	}
	return lines[0], nil
}

// scpLikeURL is the user@host:path form of SSH repository URLs.
var scpLikeURL = regexp.MustCompile(`^[^@/\s]+@[^:/\s]+:\S+$`)

// isRepoURL tells a repository URL from the name of a repository Secret.
func isRepoURL(s string) bool { return strings.Contains(s, "://") || scpLikeURL.MatchString(s) }

// serverAdvice turns the API's advice in an error into the CLI's.
func serverAdvice(err error) error {
	var e *apiclient.Error
	if !errors.As(err, &e) {
		return err
	}
	msg := strings.NewReplacer("?upsert=true", "--upsert", "(name ", "(--name ", "GET /api/v1/repositories lists them", "soll repo list lists them").Replace(e.Message)
	if e.Field != "" && !strings.Contains(msg, e.Field) {
		msg = e.Field + ": " + msg
	}
	return fmt.Errorf("%s (HTTP %d %s)", msg, e.Status, e.Code)
}

func (r *repoCmd) addCommand() *cobra.Command {
	var f repoCredFlags
	var name, output, testURL, proj string
	var upsert, template, skipTest, shared bool
	cmd := &cobra.Command{
		Use:   "add URL",
		Short: "Test and save the credentials of a repository (or, with --template, of every repository under a URL)",
		Long: "Save the credentials of a Git repository, Helm chart repository or OCI registry, after testing them from soll's server " +
			"as soll repo test does: when the test fails, nothing is saved and the command exits 1 with the reason; " +
			"--skip-test saves without a test (for a repository soll's server cannot reach yet, say).\n\n" +
			"A template (--template) has no one repository to test: it is saved untested, unless --test-url names a repository " +
			"under it to test the credentials with.\n\n" +
			"--project P saves credentials that only the applications of Project P use; each Project can have its own credentials " +
			"for the same URL. Without --project, the credentials serve the applications of the default Project, and, with --shared, " +
			"those of every Project.",
		Example: "  echo \"$TOKEN\" | soll repo add https://git.example.com/team/apps.git --username ci --password-stdin\n" +
			"  soll repo add git@git.example.com:team/apps.git --ssh-private-key-path ~/.ssh/deploy_key \\\n" +
			"      --ssh-known-hosts-path known_hosts\n" +
			"  soll repo add oci://registry.example.com/charts --username robot --password-stdin < token\n" +
			"  soll repo add https://git.example.com/team/ --template --test-url https://git.example.com/team/apps.git \\\n" +
			"      --username ci --password-stdin < token\n" +
			"  soll repo add https://git.example.com/team-a/ --template --project team-a --username ci --password-stdin < token",
		Args: exactlyArgs("URL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if !f.given() {
				return errors.New("give the credentials: --username (with --password-stdin), --bearer-token-stdin, --ssh-private-key-path, or --tls-client-cert-path and --tls-client-key-path")
			}
			switch {
			case testURL != "" && skipTest:
				return errors.New("--test-url names the repository to test and --skip-test saves without a test: give one of them")
			case testURL != "" && !template:
				return fmt.Errorf("--test-url is for --template: the credentials of %s are tested with %s itself", args[0], args[0])
			case testURL != "" && !repocreds.TemplateMatches(args[0], testURL):
				return fmt.Errorf("--test-url %s is not under %s: give the URL of a repository the template serves", testURL, args[0])
			case proj != "" && shared:
				return fmt.Errorf("--project %s saves credentials for that Project only, and --shared for every Project: give one of them", proj)
			}
			c, err := r.client(cmd)
			if err != nil {
				return err
			}
			req, err := f.request(cmd, r.g.stdin, args[0])
			if err != nil {
				return err
			}
			req.Name, req.Project, req.Shared = name, proj, shared
			if template {
				req.Type = sollv1.SecretTypeRepoCreds
			}
			tested := ""
			if !skipTest && (!template || testURL != "") {
				if tested, err = testBeforeSave(cmd, c, req, cmp.Or(testURL, args[0])); err != nil {
					return err
				}
			}
			repo, err := c.CreateRepository(cmd.Context(), req, upsert)
			if err != nil {
				return fmt.Errorf("save the credentials of %s: %w", args[0], serverAdvice(err))
			}
			return view{
				value: repo,
				table: func(w io.Writer, _ bool) error {
					saved := fmt.Sprintf("credentials of %s (%s)%s saved in Secret %s", repo.URL, credentialsText(repo), scopeText(repo), repo.Name)
					switch {
					case tested != "":
						_, err = fmt.Fprintf(w, "%s\n%s\n", tested, saved)
					case template:
						_, err = fmt.Fprintf(w, "%s without a test: test them with soll repo test URL, the URL of a repository under %s\n", saved, repo.URL)
					default:
						_, err = fmt.Fprintf(w, "%s without a test: test them with soll repo test %s\n", saved, repo.Name)
					}
					return err
				},
				names: func() []string { return []string{repo.Name} },
			}.print(cmd, output)
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "name of the Secret (default: derived from the URL)")
	fl.BoolVar(&upsert, "upsert", false, "replace the credentials when the repository has some already")
	fl.BoolVar(&template, "template", false, "save a credential template for every repository whose URL starts with URL")
	fl.BoolVar(&skipTest, "skip-test", false, "save the credentials without testing them first")
	fl.StringVar(&testURL, "test-url", "", "with --template: test the credentials with this repository under URL before saving them")
	fl.StringVar(&proj, "project", "", "save the credentials for the applications of this Project only (default: those of the default Project)")
	fl.BoolVar(&shared, "shared", false, "without --project: let the applications of every Project use the credentials")
	addOutputFlag(cmd, &output)
	return cmd
}

// testBeforeSave tests the credentials of req with the repository
// repoURL, and returns what the test found ("URL: connected: ..."); a
// failed test is an error that says nothing was saved.
func testBeforeSave(cmd *cobra.Command, c *apiclient.Client, req apitypes.RepositoryRequest, repoURL string) (string, error) {
	req.URL, req.Type, req.Name = repoURL, "", ""
	res, err := c.TestRepository(cmd.Context(), req)
	if err != nil {
		return "", fmt.Errorf("test the credentials of %s: %w", repoURL, serverAdvice(err))
	}
	if !res.OK {
		return "", &ExitError{Code: 1, Err: fmt.Errorf("test of %s failed, so the credentials are not saved: %s; "+
			"fix them (or the URL) and add them again, or save them untested with --skip-test", repoURL, res.Message)}
	}
	return repoURL + ": " + res.Message, nil
}

// credentialsText names the kinds of credentials a repository Secret
// holds, never their values.
func credentialsText(r *apitypes.Repository) string {
	if r.CredentialsSecret != "" {
		return "from Secret " + r.CredentialsSecret
	}
	var kinds []string
	if r.Username != "" || r.HasPassword {
		kinds = append(kinds, "username "+r.Username+" and password")
	}
	kinds = appendIf(kinds, r.HasBearerToken, "bearer token")
	kinds = appendIf(kinds, r.HasSSHPrivateKey, "SSH private key")
	kinds = appendIf(kinds, r.HasTLSClientCert, "TLS client certificate")
	if len(kinds) == 0 {
		return "no credentials"
	}
	return strings.Join(kinds, ", ")
}

// projectText says which Projects' applications may use a repository's
// credentials.
func projectText(r *apitypes.Repository) string {
	switch {
	case r.Project != "":
		return r.Project
	case r.Shared:
		return "(all, shared)"
	}
	return project.DefaultName
}

// scopeText is " for project P" or " for every project" for credentials
// that do not only serve the default Project.
func scopeText(r *apitypes.Repository) string {
	switch {
	case r.Project != "":
		return " for project " + r.Project
	case r.Shared:
		return " for every project"
	}
	return ""
}

func (r *repoCmd) listCommand() *cobra.Command {
	return r.viewCommand(&cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List repository credentials: URL, user name and the kind of credentials, never their values",
		Args:    cobra.NoArgs,
	}, func(cmd *cobra.Command, _ []string, c *apiclient.Client) (view, error) {
		repos, err := c.Repositories(cmd.Context())
		return view{
			value: nonNil(repos),
			empty: len(repos) == 0,
			none:  "no repository credentials on soll at " + c.Server() + " (or none you may see): add some with soll repo add URL",
			table: func(w io.Writer, wide bool) error {
				t := newTable(w, "", wide)
				t.row([]string{"NAME", "TYPE", "URL", "PROJECT", "CREDENTIALS"})
				for i := range repos {
					t.row([]string{repos[i].Name, repos[i].Type, repos[i].URL, projectText(&repos[i]), credentialsText(&repos[i])})
				}
				return t.flush()
			},
			names: func() []string { return repoNames(repos) },
		}, kindRepository.err(c, "list", "", err)
	})
}

func repoNames(repos []apitypes.Repository) []string {
	out := make([]string, len(repos))
	for i := range repos {
		out[i] = repos[i].Name
	}
	return out
}

// nameCommand is a command whose first argument is a repository (Secret
// name or URL), which the shell completes by name.
func (r *repoCmd) nameCommand(cmd *cobra.Command) *cobra.Command {
	cmd.ValidArgsFunction = r.completeNames(func(ctx context.Context, c *apiclient.Client) ([]string, error) {
		repos, err := c.Repositories(ctx)
		return repoNames(repos), err
	})
	return cmd
}

// find returns the saved repository arg names: a Secret by name, or by
// URL the Secret of that repository, else the credential template that
// serves it (the one with the longest URL). A URL that several Secrets
// serve alike (the credentials of several Projects) is an error that
// names them: the command then takes one by name.
func (r *repoCmd) find(cmd *cobra.Command, c *apiclient.Client, arg string) (*apitypes.Repository, error) {
	repos, err := c.Repositories(cmd.Context())
	if err != nil {
		return nil, kindRepository.err(c, "list", "", err)
	}
	var exact, templates []*apitypes.Repository
	for i := range repos {
		repo := &repos[i]
		switch {
		case !isRepoURL(arg) && repo.Name == arg:
			return repo, nil
		case !isRepoURL(arg):
		case repo.Type == sollv1.SecretTypeRepository && project.NormalizeRepoURL(repo.URL) == project.NormalizeRepoURL(arg):
			exact = append(exact, repo)
		case repo.Type == sollv1.SecretTypeRepoCreds && repocreds.TemplateMatches(repo.URL, arg):
			templates = append(templates, repo)
		}
	}
	// The templates with the longest URL serve arg.
	longest := 0
	for _, repo := range templates {
		longest = max(longest, len(project.NormalizeRepoURL(repo.URL)))
	}
	templates = slices.DeleteFunc(templates, func(repo *apitypes.Repository) bool { return len(project.NormalizeRepoURL(repo.URL)) < longest })
	candidates := exact
	if len(candidates) == 0 {
		candidates = templates
	}
	switch {
	case len(candidates) == 0 && isRepoURL(arg):
		return nil, fmt.Errorf("no saved credentials serve %s on soll at %s: list them with soll repo list, or save some with soll repo add %s", arg, c.Server(), arg)
	case len(candidates) == 0:
		return nil, fmt.Errorf("repository %s not found on soll at %s: list them with soll repo list", arg, c.Server())
	case len(candidates) > 1:
		var names []string
		for _, repo := range candidates {
			scope := "default project"
			switch {
			case repo.Project != "":
				scope = "project " + repo.Project
			case repo.Shared:
				scope = "shared"
			}
			names = append(names, fmt.Sprintf("%s (%s)", repo.Name, scope))
		}
		return nil, fmt.Errorf("several saved credentials serve %s: %s; give the name of one", arg, strings.Join(names, ", "))
	}
	return candidates[0], nil
}

func (r *repoCmd) removeCommand() *cobra.Command {
	return r.nameCommand(&cobra.Command{
		Use:     "rm NAME|URL",
		Aliases: []string{"remove", "delete"},
		Short:   "Delete repository credentials, by Secret name or repository URL",
		Args:    exactlyArgs("NAME|URL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client(cmd)
			if err != nil {
				return err
			}
			repo, err := r.find(cmd, c, args[0])
			if err != nil {
				return err
			}
			if isRepoURL(args[0]) && repo.Type == sollv1.SecretTypeRepoCreds {
				return fmt.Errorf("%s has no credentials of its own: the template %s for the repositories under %s serves it; remove that with soll repo rm %s",
					args[0], repo.Name, repo.URL, repo.Name)
			}
			if err := c.DeleteRepository(cmd.Context(), repo.Name); err != nil {
				return kindRepository.err(c, "delete", repo.Name, err)
			}
			return say(cmd, "credentials of %s deleted (Secret %s)", repo.URL, repo.Name)
		},
	})
}

func (r *repoCmd) testCommand() *cobra.Command {
	var f repoCredFlags
	cmd := &cobra.Command{
		Use:   "test NAME|URL",
		Short: "Test repository credentials from soll's server, as the controller would use them; exit 1 when it fails",
		Long: "Test repository credentials from soll's server, as the controller would use them: " +
			"an https, http or ssh URL is tried as a Git repository (resolving HEAD), then, over https, as a Helm chart repository " +
			"(reading its index.yaml); an oci:// URL is an OCI registry, which must accept the credentials " +
			"(and, when it lists its repositories, hold some under the URL's path). " +
			"NAME is a saved repository Secret; a URL is tested with the saved credentials that serve it, " +
			"or, with credentials flags, with those (which are not saved). Exits 1 when the test fails, with the reason.",
		Example: "  soll repo test repo-0a1b2c3d4e\n" +
			"  soll repo test https://git.example.com/team/apps.git\n" +
			"  soll repo test https://git.example.com/team/apps.git --username ci --password-stdin < token",
		Args: exactlyArgs("NAME|URL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			arg := args[0]
			if f.given() && !isRepoURL(arg) {
				return fmt.Errorf("%s is not a repository URL: credentials flags test credentials for a URL; without them, NAME tests a saved repository", arg)
			}
			c, err := r.client(cmd)
			if err != nil {
				return err
			}
			var res *apitypes.RepositoryTest
			what := arg
			if f.given() {
				req, err := f.request(cmd, r.g.stdin, arg)
				if err != nil {
					return err
				}
				res, err = c.TestRepository(cmd.Context(), req)
				if err != nil {
					return fmt.Errorf("test %s: %w", arg, serverAdvice(err))
				}
			} else {
				repo, err := r.find(cmd, c, arg)
				if err != nil {
					return err
				}
				var req apitypes.RepositoryTestRequest
				what = fmt.Sprintf("%s with the credentials of Secret %s", repo.URL, repo.Name)
				if repo.Type == sollv1.SecretTypeRepoCreds && isRepoURL(arg) {
					req.URL, what = arg, fmt.Sprintf("%s with the credential template %s", arg, repo.Name)
				}
				res, err = c.TestSavedRepository(cmd.Context(), repo.Name, req)
				var e *apiclient.Error
				if errors.As(err, &e) && e.Field == "url" {
					return fmt.Errorf("%s: test it with soll repo test URL, the URL of a repository under it", e.Message)
				}
				if err != nil {
					return fmt.Errorf("test %s: %w", what, serverAdvice(err))
				}
			}
			if !res.OK {
				return &ExitError{Code: 1, Err: fmt.Errorf("test of %s failed: %s", what, res.Message)}
			}
			return say(cmd, "%s: %s", what, res.Message)
		},
	}
	f.register(cmd)
	return r.nameCommand(cmd)
}
