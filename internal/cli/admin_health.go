package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"soll.dev/internal/health"
)

// Limits on what soll admin health reads: a Kubernetes object is at most
// about 1.5 MiB in etcd, a health script is a page or two.
const (
	maxHealthObjectSize = 4 << 20
	maxHealthScriptSize = 256 << 10
	maxHealthTestSize   = 1 << 20
	maxHealthTestCases  = 1000
	maxHealthTestFiles  = 100_000
	healthTestFile      = "health_test.yaml"
	healthScriptFile    = "health.lua"
)

func newAdminHealthCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Check the health soll assigns to objects, and run health tests in Argo CD's format, without a cluster",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newAdminHealthCheckCommand(), newAdminHealthTestCommand())
	return cmd
}

func newAdminHealthCheckCommand() *cobra.Command {
	var objectFile, scriptFile, output string
	cmd := &cobra.Command{
		Use:   "check --object FILE [--script health.lua]",
		Short: "Print the health status and message soll assigns to an object",
		Long: "Print the health status and message soll assigns to the object in FILE (YAML or JSON, one object; - reads standard input), " +
			"with soll's built-in checks or, with --script, with a Lua health check for the object's kind (Argo CD's health.lua contract: " +
			"the script reads the global obj and returns {status = ..., message = ...}).\n" +
			"Exits 0 when the health could be assessed, whatever it is, and 1 when it could not (a script that fails, an object that cannot be read).",
		Example: "  soll admin health check --object certificate.yaml\n" +
			"  soll admin health check --object rollout.yaml --script resource_customizations/argoproj.io/Rollout/health.lua\n" +
			"  kubectl get certificate web -o yaml | soll admin health check --object -",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("unknown output format %q for --output: use text or json", output)
			}
			if objectFile == "" {
				return errors.New("--object is required: the file with the object to check (- for standard input)")
			}
			obj, err := readHealthObject(cmd.InOrStdin(), objectFile)
			if err != nil {
				return err
			}
			var script string
			if scriptFile != "" {
				if script, err = readLimited(scriptFile, "--script", maxHealthScriptSize); err != nil {
					return err
				}
			}
			res, checkErr := checkHealth(obj, script)
			if checkErr != nil && res.Status == "" {
				return checkErr
			}
			if err := printHealth(cmd.OutOrStdout(), output, res); err != nil {
				return err
			}
			return checkErr
		},
	}
	cmd.Flags().StringVar(&objectFile, "object", "", "file with the object to check, YAML or JSON (- for standard input)")
	cmd.Flags().StringVar(&scriptFile, "script", "", "Lua health check to use for the object's kind instead of soll's built-in check")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text (status, then the message on the next line) or json")
	return cmd
}

// checkHealth assesses obj with soll's checks and, when script is not
// empty, with script as the custom check of obj's group and kind.
func checkHealth(obj *unstructured.Unstructured, script string) (health.Result, error) {
	var opts health.Options
	if script != "" {
		opts.Scripts = map[schema.GroupKind]string{obj.GroupVersionKind().GroupKind(): script}
	}
	c, err := health.New(opts)
	if err != nil {
		return health.Result{}, err
	}
	return c.Check(obj)
}

func printHealth(w io.Writer, output string, res health.Result) error {
	if output == "json" {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	if res.Message == "" {
		_, err := fmt.Fprintln(w, res.Status)
		return err
	}
	_, err := fmt.Fprintf(w, "%s\n%s\n", res.Status, res.Message)
	return err
}

// readLimited reads a file of at most limit bytes; what names it in
// errors (a flag, or a path in a test directory).
func readLimited(path, what string, limit int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close() //nolint:errcheck // opened for reading: closing loses nothing
	return readAllLimited(f, path, what, limit)
}

func readAllLimited(r io.Reader, path, what string, limit int64) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return "", fmt.Errorf("%s: read %s: %w", what, path, err)
	}
	if int64(len(b)) > limit {
		return "", fmt.Errorf("%s: %s is larger than %d KiB", what, path, limit>>10)
	}
	return string(b), nil
}

// readHealthObject reads one object from path, or from stdin for "-".
func readHealthObject(stdin io.Reader, path string) (*unstructured.Unstructured, error) {
	var data string
	var err error
	if path == "-" {
		data, err = readAllLimited(stdin, "standard input", "--object", maxHealthObjectSize)
	} else {
		data, err = readLimited(path, "--object", maxHealthObjectSize)
	}
	if err != nil {
		return nil, err
	}
	if path == "-" {
		path = "standard input"
	}
	return decodeHealthObject(path, data)
}

// decodeHealthObject decodes the one object in data, YAML or JSON.
func decodeHealthObject(name, data string) (*unstructured.Unstructured, error) {
	docs := 0
	var doc string
	for _, d := range splitYAMLDocuments(data) {
		if strings.TrimSpace(stripYAMLComments(d)) == "" {
			continue
		}
		docs++
		doc = d
	}
	switch {
	case docs == 0:
		return nil, fmt.Errorf("%s holds no object", name)
	case docs > 1:
		return nil, fmt.Errorf("%s holds %d YAML documents: put the one object to check in a file of its own", name, docs)
	}
	js, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("%s is not valid YAML or JSON: %w", name, err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(js); err != nil {
		return nil, fmt.Errorf("%s is not a Kubernetes object (it needs apiVersion and kind): %w", name, err)
	}
	return obj, nil
}

// splitYAMLDocuments splits a YAML stream at its "---" lines.
func splitYAMLDocuments(data string) []string {
	var docs []string
	var cur strings.Builder
	for line := range strings.Lines(data) {
		if t := strings.TrimRight(line, " \t\r\n"); t == "---" || strings.HasPrefix(t, "--- ") {
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(line)
	}
	return append(docs, cur.String())
}

func stripYAMLComments(doc string) string {
	var b strings.Builder
	for line := range strings.Lines(doc) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
		}
	}
	return b.String()
}

func newAdminHealthTestCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "test DIR",
		Short: "Run health tests in Argo CD's resource_customizations format and report each case",
		Long: "Run the health tests under DIR, laid out as Argo CD's resource_customizations directory: " +
			"<group>/<Kind>/health.lua, <group>/<Kind>/" + healthTestFile + " and the objects it names (testdata/*.yaml). " +
			healthTestFile + " reads\n\n" +
			"  tests:\n" +
			"  - healthStatus:\n" +
			"      status: Healthy\n" +
			"      message: \"...\"\n" +
			"    inputPath: testdata/healthy.yaml\n\n" +
			"Each case passes when soll assigns the object exactly that status and message. A directory without health.lua tests " +
			"soll's built-in check for the kind. The directory names give the group and kind the script is registered for " +
			"(core for the core group). Prints PASS or FAIL for each case, with what was expected and what soll assigned, " +
			"and exits 1 when a case fails.",
		Example: "  soll admin health test ./resource_customizations\n" +
			"  soll admin health test ./resource_customizations/cert-manager.io/Certificate",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runHealthTests(cmd.OutOrStdout(), args[0])
		},
	}
}

// healthTests is the health_test.yaml of Argo CD's format.
type healthTests struct {
	Tests []healthTestCase `json:"tests"`
}

type healthTestCase struct {
	HealthStatus struct {
		Status  health.Status `json:"status"`
		Message string        `json:"message"`
	} `json:"healthStatus"`
	InputPath string `json:"inputPath"`
}

// healthTestDir is one <group>/<Kind> directory with a health_test.yaml.
type healthTestDir struct {
	path string
	gk   schema.GroupKind
}

func runHealthTests(w io.Writer, root string) error {
	dirs, err := findHealthTestDirs(root)
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		return fmt.Errorf("no %s under %s: lay tests out as <group>/<Kind>/%s with the objects it names", healthTestFile, root, healthTestFile)
	}
	var passed, failed int
	for _, d := range dirs {
		p, f, err := runHealthTestDir(w, root, d)
		if err != nil {
			return err
		}
		passed += p
		failed += f
	}
	if _, err := fmt.Fprintf(w, "\n%d passed, %d failed\n", passed, failed); err != nil {
		return err
	}
	if failed > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("%d of %d health test cases failed", failed, passed+failed)}
	}
	return nil
}

// findHealthTestDirs lists the directories under root that hold a
// health_test.yaml, in lexical order.
func findHealthTestDirs(root string) ([]healthTestDir, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%s is not a directory: pass the directory that holds <group>/<Kind>/%s", root, healthTestFile)
	}
	var dirs []healthTestDir
	files := 0
	err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if files++; files > maxHealthTestFiles {
			return fmt.Errorf("%s holds more than %d files: pass a smaller directory", root, maxHealthTestFiles)
		}
		if d.IsDir() || d.Name() != healthTestFile {
			return nil
		}
		dir := filepath.Dir(path)
		group := filepath.Base(filepath.Dir(dir))
		if group == "core" {
			group = ""
		}
		dirs = append(dirs, healthTestDir{path: dir, gk: schema.GroupKind{Group: group, Kind: filepath.Base(dir)}})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(dirs, func(a, b healthTestDir) int { return strings.Compare(a.path, b.path) })
	return dirs, nil
}

// runHealthTestDir runs the cases of one directory and prints a line for
// each; it returns how many passed and failed. A directory that cannot be
// read counts as one failure. The error is one of writing to w.
func runHealthTestDir(w io.Writer, root string, d healthTestDir) (passed, failed int, err error) {
	name := displayPath(root, d.path)
	fail := func(format string, args ...any) (int, int, error) {
		_, err := fmt.Fprintf(w, "FAIL  %s: %s\n", name, fmt.Sprintf(format, args...))
		return 0, 1, err
	}
	testPath := filepath.Join(d.path, healthTestFile)
	raw, err := readLimited(testPath, name, maxHealthTestSize)
	if err != nil {
		return fail("%v", err)
	}
	var tests healthTests
	if err := yaml.UnmarshalStrict([]byte(raw), &tests); err != nil {
		return fail("%s is not valid: %v", healthTestFile, err)
	}
	if len(tests.Tests) == 0 {
		return fail("%s has no tests", healthTestFile)
	}
	if len(tests.Tests) > maxHealthTestCases {
		return fail("%s has %d tests, more than %d", healthTestFile, len(tests.Tests), maxHealthTestCases)
	}
	var script string
	scriptPath := filepath.Join(d.path, healthScriptFile)
	if _, err := os.Stat(scriptPath); err == nil {
		if script, err = readLimited(scriptPath, name, maxHealthScriptSize); err != nil {
			return fail("%v", err)
		}
	}
	var opts health.Options
	if script != "" {
		opts.Scripts = map[schema.GroupKind]string{d.gk: script}
	}
	checker, err := health.New(opts)
	if err != nil {
		return fail("%s: %v", healthScriptFile, err)
	}
	for i, tc := range tests.Tests {
		label := name + "/" + filepath.ToSlash(filepath.Clean(tc.InputPath))
		var line string
		got, err := runHealthTestCase(checker, d, tc, i)
		want := health.Result{Status: tc.HealthStatus.Status, Message: tc.HealthStatus.Message}
		switch {
		case err != nil:
			line = fmt.Sprintf("FAIL  %s: %v\n", label, err)
			failed++
		case got == want:
			line = fmt.Sprintf("PASS  %s: %s\n", label, formatHealth(got))
			passed++
		default:
			line = fmt.Sprintf("FAIL  %s\n      want %s\n      got  %s\n", label, formatHealth(want), formatHealth(got))
			failed++
		}
		if _, err := io.WriteString(w, line); err != nil {
			return passed, failed, err
		}
	}
	return passed, failed, nil
}

// runHealthTestCase assesses the object of one case. A check that fails
// (a script error) is not an error here: its Unknown result is compared.
func runHealthTestCase(c *health.Checker, d healthTestDir, tc healthTestCase, i int) (health.Result, error) {
	if tc.InputPath == "" {
		return health.Result{}, fmt.Errorf("tests[%d].inputPath is empty", i)
	}
	if tc.HealthStatus.Status == "" {
		return health.Result{}, fmt.Errorf("tests[%d].healthStatus.status is empty", i)
	}
	if filepath.IsAbs(tc.InputPath) || !filepath.IsLocal(tc.InputPath) {
		return health.Result{}, fmt.Errorf("tests[%d].inputPath %q must be a relative path inside the directory of %s", i, tc.InputPath, healthTestFile)
	}
	f, err := os.Open(filepath.Join(d.path, tc.InputPath))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return health.Result{}, fmt.Errorf("tests[%d].inputPath %q: no such file next to %s", i, tc.InputPath, healthTestFile)
		}
		return health.Result{}, fmt.Errorf("tests[%d].inputPath: %w", i, err)
	}
	defer f.Close() //nolint:errcheck // opened for reading: closing loses nothing
	data, err := readAllLimited(f, tc.InputPath, fmt.Sprintf("tests[%d].inputPath", i), maxHealthObjectSize)
	if err != nil {
		return health.Result{}, err
	}
	obj, err := decodeHealthObject(tc.InputPath, data)
	if err != nil {
		return health.Result{}, err
	}
	if gk := obj.GroupVersionKind().GroupKind(); gk != d.gk {
		return health.Result{}, fmt.Errorf("the object is a %s but the directory is for %s: move the file, or fix its apiVersion and kind", describeGK(gk), describeGK(d.gk))
	}
	res, _ := c.Check(obj)
	return res, nil
}

func describeGK(gk schema.GroupKind) string {
	if gk.Group == "" {
		return gk.Kind + " (core group)"
	}
	return gk.Kind + "." + gk.Group
}

func formatHealth(r health.Result) string {
	if r.Message == "" {
		return string(r.Status)
	}
	return fmt.Sprintf("%s %q", r.Status, r.Message)
}

// displayPath is path relative to root, or root itself.
func displayPath(root, path string) string {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return path
	}
	rel, err := filepath.Rel(absRoot, path)
	if err != nil || rel == "." {
		return filepath.ToSlash(filepath.Clean(root))
	}
	return filepath.ToSlash(rel)
}
