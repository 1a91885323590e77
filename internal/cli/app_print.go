package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	sollv1 "soll.dev/api/v1alpha1"
)

// Output formats of -o/--output.
const (
	outputTable = "table"
	outputWide  = "wide"
	outputJSON  = "json"
	outputYAML  = "yaml"
	outputName  = "name"
)

// historyInSummary is how many history entries soll app get shows.
const historyInSummary = 5

func addOutputFlag(cmd *cobra.Command, output *string) {
	cmd.Flags().StringVarP(output, "output", "o", outputTable, "output format: table, wide (more columns), json, yaml or name (one identifier a line)")
}

func checkOutput(output string) error {
	switch output {
	case outputTable, outputWide, outputJSON, outputYAML, outputName:
		return nil
	}
	return fmt.Errorf("unknown output format %q for --output: use table, wide, json, yaml or name", output)
}

// view is what a command shows, in every output format.
type view struct {
	// value is what -o json and -o yaml print.
	value any
	// empty says there is nothing to show: table, wide and name print
	// nothing on stdout and none on stderr, so scripts see an empty
	// output and people see why.
	empty bool
	none  string
	// table writes the human-readable form (-o table and wide).
	table func(w io.Writer, wide bool) error
	// yaml, when set, writes -o yaml instead of value.
	yaml func(w io.Writer, wide bool) error
	// names are the identifiers -o name prints, one a line.
	names func() []string
}

func (v view) print(cmd *cobra.Command, output string) error {
	out := cmd.OutOrStdout()
	switch {
	case output == outputYAML && v.yaml != nil:
		return v.yaml(out, false)
	case output == outputJSON || output == outputYAML:
		if obj, ok := v.value.(runtime.Object); ok {
			return printObject(out, output, obj)
		}
		return printValue(out, output, v.value)
	case v.empty:
		if v.none == "" {
			return nil
		}
		_, err := fmt.Fprintln(cmd.ErrOrStderr(), v.none)
		return err
	case output == outputName:
		for _, n := range v.names() {
			if _, err := fmt.Fprintln(out, n); err != nil {
				return err
			}
		}
		return nil
	}
	return v.table(out, output == outputWide)
}

// resourceID names an object as soll app sync --resource takes it:
// GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME.
func resourceID(group, kind, namespace, name string) string {
	if namespace != "" {
		name = namespace + "/" + name
	}
	return group + ":" + kind + ":" + name
}

func resourceStatusIDs(res []sollv1.ResourceStatus) []string {
	out := make([]string, len(res))
	for i, r := range res {
		out[i] = resourceID(r.Group, r.Kind, r.Namespace, r.Name)
	}
	return out
}

func historyIDs(h []sollv1.RevisionHistory) []string {
	out := make([]string, len(h))
	for i, e := range h {
		out[i] = fmt.Sprint(e.ID)
	}
	return out
}

// printObject prints a Kubernetes object as JSON or YAML, with apiVersion
// and kind (which typed clients clear) and without managedFields (which
// are noise to people).
func printObject(w io.Writer, format string, obj runtime.Object) error {
	obj = obj.DeepCopyObject()
	setTypeMeta(obj)
	if list, ok := obj.(*sollv1.ApplicationList); ok {
		for i := range list.Items {
			setTypeMeta(&list.Items[i])
		}
	}
	return printValue(w, format, obj)
}

func setTypeMeta(obj runtime.Object) {
	if gvks, _, err := cliScheme.ObjectKinds(obj); err == nil && len(gvks) > 0 {
		obj.GetObjectKind().SetGroupVersionKind(gvks[0])
	}
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
}

// printValue prints any value as indented JSON or as YAML.
func printValue(w io.Writer, format string, v any) error {
	var b []byte
	var err error
	if format == outputYAML {
		b, err = yaml.Marshal(v)
	} else {
		b, err = json.MarshalIndent(v, "", "  ")
		b = append(b, '\n')
	}
	if err != nil {
		return fmt.Errorf("encode %s: %w", format, err)
	}
	_, err = w.Write(b)
	return err
}

// table writes aligned columns; some columns show only with -o wide.
type table struct {
	tw     *tabwriter.Writer
	indent string
	wide   bool
	err    error // the first error of a row's write, returned by flush
}

func newTable(w io.Writer, indent string, wide bool) *table {
	return &table{tw: tabwriter.NewWriter(w, 0, 4, 3, ' ', 0), indent: indent, wide: wide}
}

// row writes cells, then with -o wide the wide cells, as one row; empty
// cells show as "-".
func (t *table) row(cells []string, wide ...string) {
	if t.wide {
		cells = append(cells, wide...)
	}
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		}
	}
	if t.err == nil {
		_, t.err = fmt.Fprintln(t.tw, t.indent+strings.Join(cells, "\t"))
	}
}

func (t *table) flush() error {
	if err := t.tw.Flush(); err != nil {
		return err
	}
	return t.err
}

// writeAppTable writes the table of soll app list.
func writeAppTable(w io.Writer, apps []sollv1.Application, wide bool) error {
	t := newTable(w, "", wide)
	t.row([]string{"NAME", "PROJECT", "SYNC", "HEALTH", "REVISION", "OPERATION", "DESTINATION"}, "CLUSTER", "REPOSITORY", "PATH", "TARGET", "SYNC POLICY")
	for i := range apps {
		app := &apps[i]
		sync, rev := "", ""
		if s := app.Status.Sync; s != nil {
			sync, rev = string(s.Status), shortRev(s.Revision)
		}
		repo, path, target := "", "", ""
		if src := app.Spec.Source; src != nil {
			repo, path, target = src.RepoURL, cmp.Or(src.Chart, src.Path), src.TargetRevision
		} else if n := len(app.Spec.Sources); n > 0 {
			repo = fmt.Sprintf("(%d sources)", n)
		}
		t.row([]string{app.Name, app.Spec.Project, sync, healthCode(app.Status.Health), rev, operationPhase(app), app.Spec.Destination.Namespace},
			cmp.Or(app.Spec.Destination.Server, app.Spec.Destination.Name), repo, path, target, syncPolicyText(app.Spec.SyncPolicy))
	}
	return t.flush()
}

// operationPhase is the phase of the current or last operation, or
// "Requested" while a requested operation has not started.
func operationPhase(app *sollv1.Application) string {
	if app.Operation != nil {
		return "Requested"
	}
	if st := app.Status.OperationState; st != nil {
		return string(st.Phase)
	}
	return ""
}

func healthCode(h *sollv1.HealthStatus) string {
	if h == nil {
		return ""
	}
	return string(h.Status)
}

// healthText is the health code with its message.
func healthText(h *sollv1.HealthStatus) string {
	if h == nil {
		return ""
	}
	if h.Message == "" {
		return string(h.Status)
	}
	return string(h.Status) + ": " + h.Message
}

// shortRev shortens Git commit SHAs to 8 characters and leaves other
// revisions (chart versions, branch names) alone.
func shortRev(rev string) string {
	if (len(rev) == 40 || len(rev) == 64) && strings.Trim(rev, "0123456789abcdef") == "" {
		return rev[:8]
	}
	return rev
}

func shortRevs(revs []string) string {
	out := make([]string, len(revs))
	for i, r := range revs {
		out[i] = shortRev(r)
	}
	return strings.Join(out, ",")
}

func timeText(t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// summary writes "Key:  value" lines with aligned values.
type summary struct {
	w   io.Writer
	err error
}

func (s *summary) line(indent int, key, value string) {
	if s.err != nil {
		return
	}
	if value == "" {
		value = "-"
	}
	k := strings.Repeat("  ", indent) + key + ":"
	_, s.err = fmt.Fprintf(s.w, "%-18s%s\n", k, value)
}

func (s *summary) text(t string) {
	if s.err == nil {
		_, s.err = fmt.Fprintln(s.w, t)
	}
}

// writeAppSummary writes the human-readable view of soll app get.
func writeAppSummary(w io.Writer, app *sollv1.Application) error {
	s := &summary{w: w}
	s.line(0, "Name", app.Namespace+"/"+app.Name)
	s.line(0, "Project", app.Spec.Project)
	if src := app.Spec.Source; src != nil {
		s.line(0, "Source", src.RepoURL)
		writeSourceDetails(s, src)
	}
	for i := range app.Spec.Sources {
		s.line(0, fmt.Sprintf("Source %d", i+1), app.Spec.Sources[i].RepoURL)
		writeSourceDetails(s, &app.Spec.Sources[i])
	}
	if pin := app.Spec.Pin; pin != nil {
		s.line(0, "Pinned", shortRevs(pin.Revisions)+parens(pin.Reason)+" (remove with soll app unpin "+app.Name+")")
	}
	s.line(0, "Destination", destinationText(app.Spec.Destination))
	s.line(0, "Sync Policy", syncPolicyText(app.Spec.SyncPolicy))
	if app.Spec.Suspend {
		s.line(0, "Suspended", "true (spec.suspend: nothing is reconciled)")
	}
	syncText := ""
	if st := app.Status.Sync; st != nil {
		syncText = string(st.Status)
		if len(st.Revisions) > 0 {
			syncText += " to " + shortRevs(st.Revisions)
		} else if st.Revision != "" {
			syncText += " to " + shortRev(st.Revision)
		}
	}
	if app.Status.ObservedGeneration < app.Generation && syncText != "" {
		syncText += " (the latest spec change is not compared yet)"
	}
	s.line(0, "Sync Status", syncText)
	s.line(0, "Health", healthText(app.Status.Health))
	if len(app.Status.Conditions) > 0 {
		s.text("Conditions:")
		t := newTable(w, "  ", false)
		for _, c := range app.Status.Conditions {
			t.row([]string{c.Type, string(c.Status), c.Reason, c.Message})
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	writeOperation(s, app)
	writeDeletion(s, app)
	if s.err != nil {
		return s.err
	}
	if h := app.Status.History; len(h) > 0 {
		title := "History:"
		if len(h) > historyInSummary {
			title = fmt.Sprintf("History (last %d of %d):", historyInSummary, len(h))
			h = h[len(h)-historyInSummary:]
		}
		s.text(title)
		if err := historyTable(newTable(w, "  ", false), h); err != nil {
			return err
		}
	}
	if len(app.Status.Resources) == 0 {
		return s.err
	}
	s.text("")
	if s.err != nil {
		return s.err
	}
	return writeResourceTable(w, app.Status.Resources, false)
}

func writeSourceDetails(s *summary, src *sollv1.ApplicationSource) {
	if src.Chart != "" {
		s.line(1, "Chart", src.Chart)
	} else if src.Ref == "" || src.Path != "" {
		path := src.Path
		if path == "" {
			path = "."
		}
		s.line(1, "Path", path)
	}
	target := src.TargetRevision
	if target == "" && src.Chart == "" {
		target = "HEAD"
	}
	s.line(1, "Revision", target)
	if src.Ref != "" {
		s.line(1, "Ref", src.Ref)
	}
	if src.CredentialsRef != nil {
		s.line(1, "Credentials", "Secret "+src.CredentialsRef.Name)
	}
}

func writeOperation(s *summary, app *sollv1.Application) {
	if op := app.Operation; op != nil {
		s.line(0, "Operation", operationText(op)+" requested"+initiatorText(op.InitiatedBy)+", not started yet")
	}
	st := app.Status.OperationState
	if st == nil {
		return
	}
	key := "Operation"
	if app.Operation != nil {
		key = "Last Operation"
	}
	text := operationText(&st.Operation) + " " + string(st.Phase)
	if st.Message != "" {
		text += ": " + st.Message
	}
	s.line(0, key, text)
	s.line(1, "Initiated By", strings.TrimPrefix(initiatorText(st.Operation.InitiatedBy), " by "))
	s.line(1, "Started", timeText(&st.StartedAt))
	if st.FinishedAt != nil {
		s.line(1, "Finished", timeText(st.FinishedAt))
	}
	if st.RetryCount > 0 {
		s.line(1, "Retries", fmt.Sprint(st.RetryCount))
	}
	if r := st.SyncResult; r != nil && len(r.Revisions) > 0 {
		s.line(1, "Revision", shortRevs(r.Revisions))
	}
}

// writeDeletion writes the deletion hooks of app and, while it is being
// deleted with its objects, how far that got.
func writeDeletion(s *summary, app *sollv1.Application) {
	d := app.Status.Deletion
	if d == nil {
		return
	}
	var hooks []string
	for _, h := range d.Hooks {
		types := make([]string, len(h.Types))
		for i, t := range h.Types {
			types[i] = string(t)
		}
		hooks = append(hooks, fmt.Sprintf("%s %s", strings.Join(types, ","), groupKind(h.Group, h.Kind)+"/"+h.Name))
	}
	if len(hooks) > 0 {
		s.line(0, "Deletion Hooks", strings.Join(hooks, "; "))
	}
	if d.Phase == "" {
		return
	}
	text := string(d.Phase)
	if d.Message != "" {
		text += ": " + d.Message
	}
	s.line(0, "Deletion", text)
	s.line(1, "Since", timeText(d.PhaseStartedAt))
	if len(d.Revisions) > 0 {
		s.line(1, "Revision", shortRevs(d.Revisions))
	}
	if len(d.Results) == 0 || s.err != nil {
		return
	}
	s.text("  Hooks:")
	t := newTable(s.w, "    ", false)
	for _, r := range d.Results {
		t.row([]string{string(r.SyncPhase), groupKind(r.Group, r.Kind) + "/" + r.Name, string(r.HookPhase), r.Message})
	}
	s.err = t.flush()
}

// operationText names an operation: "Sync", "Sync (prune, dry run)",
// "Rollback to 3".
func operationText(op *sollv1.Operation) string {
	var name string
	var opts []string
	switch {
	case op.Rollback != nil:
		name = fmt.Sprintf("Rollback to %d", op.Rollback.ID)
		opts = appendIf(appendIf(nil, op.Rollback.Prune, "prune"), op.Rollback.DryRun, "dry run")
	case op.Sync != nil:
		name = "Sync"
		if op.Sync.Revision != "" {
			name += " to " + shortRev(op.Sync.Revision)
		} else if len(op.Sync.Revisions) > 0 {
			name += " to " + shortRevs(op.Sync.Revisions)
		}
		opts = appendIf(appendIf(nil, op.Sync.Prune, "prune"), op.Sync.DryRun, "dry run")
		if n := len(op.Sync.Resources); n > 0 {
			opts = append(opts, fmt.Sprintf("%d resources", n))
		}
	default:
		name = "Operation"
	}
	if len(opts) > 0 {
		name += " (" + strings.Join(opts, ", ") + ")"
	}
	return name
}

// appendIf appends name to list when on is true.
func appendIf(list []string, on bool, name string) []string {
	if on {
		return append(list, name)
	}
	return list
}

func initiatorText(by *sollv1.OperationInitiator) string {
	switch {
	case by == nil:
		return ""
	case by.Automated:
		return " by automated sync"
	case by.Username != "":
		return " by " + by.Username
	}
	return ""
}

func parens(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

func destinationText(d sollv1.ApplicationDestination) string {
	cluster := d.Server
	if cluster == "" {
		cluster = d.Name
	}
	if d.Namespace == "" {
		return cluster
	}
	return cluster + ", namespace " + d.Namespace
}

func syncPolicyText(p *sollv1.SyncPolicy) string {
	text := "manual"
	if p == nil {
		return text
	}
	if a := p.Automated; a != nil {
		if a.Enabled != nil && !*a.Enabled {
			text = "manual (automated sync is turned off)"
		} else {
			text = "automated"
			if opts := appendIf(appendIf(nil, a.Prune, "prune"), a.SelfHeal, "self-heal"); len(opts) > 0 {
				text += " (" + strings.Join(opts, ", ") + ")"
			}
		}
	}
	if o := p.SyncOptions; o != nil && o.CreateNamespace {
		text += ", creates the namespace"
	}
	return text
}

// writeHistoryTable writes the table of soll app history.
func writeHistoryTable(w io.Writer, history []sollv1.RevisionHistory, wide bool) error {
	return historyTable(newTable(w, "", wide), history)
}

func historyTable(t *table, history []sollv1.RevisionHistory) error {
	t.row([]string{"ID", "REVISION", "DEPLOYED AT", "INITIATED BY"}, "STARTED AT", "SOURCES", "COMMIT")
	for _, h := range history {
		var sources, commits []string
		for _, src := range h.Sources {
			sources = append(sources, src.RepoURL+" "+cmp.Or(src.Chart, src.Path))
		}
		for _, c := range h.Commits {
			if c.Message != "" {
				commits = append(commits, firstLine(c.Message))
			}
		}
		t.row([]string{fmt.Sprint(h.ID), shortRevs(h.Revisions), timeText(&h.DeployedAt), strings.TrimPrefix(initiatorText(h.InitiatedBy), " by ")},
			timeText(h.DeployStartedAt), strings.Join(sources, ", "), strings.Join(commits, "; "))
	}
	return t.flush()
}

// writeResourceTable writes the table of soll app resources.
func writeResourceTable(w io.Writer, resources []sollv1.ResourceStatus, wide bool) error {
	t := newTable(w, "", wide)
	t.row([]string{"GROUP/KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH"}, "VERSION", "WAVE")
	for _, r := range resources {
		status := string(r.Status)
		if r.RequiresPruning {
			status += " (requires pruning)"
		}
		name := r.Name
		if r.Hook {
			name += " (hook)"
		}
		t.row([]string{groupKind(r.Group, r.Kind), r.Namespace, name, strings.TrimSpace(status), healthText(r.Health)}, r.Version, fmt.Sprint(r.SyncWave))
	}
	return t.flush()
}

// groupKind is GROUP/KIND, or KIND for the core group.
func groupKind(group, kind string) string {
	if group == "" {
		return kind
	}
	return group + "/" + kind
}

// firstLine is the first line of a commit message fit for a table cell:
// control characters (a tab, a terminal's escape sequences) become
// spaces.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
