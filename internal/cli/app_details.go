package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

// Exit statuses of soll app diff, for CI jobs.
const (
	diffExitDiffers = 1
	diffExitError   = 2
)

// diffFlags are the flags of soll app diff.
type diffFlags struct {
	output  string
	refresh bool
	brief   bool
	timeout time.Duration
}

func (a *appCmd) diffCommand() *cobra.Command {
	var f diffFlags
	cmd := &cobra.Command{
		Use:   "diff NAME",
		Short: "Show how the resources of an Application differ from Git; exit 1 if any do",
		Long: "Show the resources of an Application that differ from Git as of the last comparison (--refresh compares again first): " +
			"the objects that are out of sync or would be pruned, each with a unified diff of the live object (---) and of what a sync " +
			"would make of it (+++), Secret values redacted. --brief lists the resources only. Diffs are coloured on a terminal " +
			"(unless $NO_COLOR is set); through --core, which reads only the app's status, the resources are listed without diffs.\n\n" +
			"Exit status: 0 when the app is in sync with Git, 1 when it differs, 2 when that cannot be told " +
			"(an error, or an app not compared yet), so that CI jobs can act on it.",
		Example: "  soll app diff guestbook\n  soll app diff guestbook --brief\n  soll app diff guestbook --refresh -o name || echo \"guestbook differs from Git\"",
		Args:    exactlyArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			differs, err := a.diff(cmd, args[0], f)
			switch {
			case err != nil:
				return &ExitError{Code: diffExitError, Err: err}
			case differs:
				return &ExitError{Code: diffExitDiffers}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&f.refresh, "refresh", false, "compare the app with Git again before showing the difference")
	cmd.Flags().BoolVar(&f.brief, "brief", false, "list the differing resources without their diffs")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 2*time.Minute, "with --refresh: how long to wait for the comparison")
	addOutputFlag(cmd, &f.output)
	return a.nameCommand(cmd)
}

// diff shows the difference of the app name and reports whether there
// is one.
func (a *appCmd) diff(cmd *cobra.Command, name string, f diffFlags) (bool, error) {
	if err := checkOutput(f.output); err != nil {
		return false, err
	}
	be, err := a.backend(cmd)
	if err != nil {
		return false, err
	}
	ctx := cmd.Context()
	if f.refresh {
		if err := refreshAndWait(ctx, be, name, f.timeout); err != nil {
			return false, err
		}
	}
	d, err := be.diff(ctx, name)
	if err != nil {
		return false, err
	}
	if d.Sync == nil || d.Sync.Status == "" || d.Sync.Status == sollv1.SyncStatusUnknown {
		return false, fmt.Errorf("application %s has no comparison with Git to tell a difference by (sync status Unknown): "+
			"its conditions say why (soll app get %s%s); soll app diff --refresh compares again", name, name, be.flags())
	}
	differs := d.Sync.Status == sollv1.SyncStatusOutOfSync || len(d.Resources) > 0
	err = view{
		value: d,
		empty: !differs,
		none:  fmt.Sprintf("application %s is in sync with Git at %s", name, dash(shortRevs(syncRevisions(d.Sync)))),
		table: func(w io.Writer, wide bool) error {
			if _, err := fmt.Fprintf(w, "application %s differs from Git at %s: %d resource(s)\n", name, dash(shortRevs(syncRevisions(d.Sync))), len(d.Resources)); err != nil {
				return err
			}
			if len(d.Resources) == 0 {
				return nil
			}
			if !f.brief && len(d.Diffs) == len(d.Resources) {
				return writeResourceDiffs(w, d, colourful(w))
			}
			if err := writeResourceTable(w, d.Resources, wide); err != nil {
				return err
			}
			if !f.brief && d.Note != "" {
				// No diffs to show: the note says why.
				_, err := fmt.Fprintf(cmd.ErrOrStderr(), "note: %s\n", d.Note)
				return err
			}
			return nil
		},
		names: func() []string { return resourceStatusIDs(d.Resources) },
	}.print(cmd, f.output)
	return differs, err
}

// ANSI styles of a diff on a terminal.
const (
	styleBold  = "\x1b[1m"
	styleRed   = "\x1b[31m"
	styleGreen = "\x1b[32m"
	styleCyan  = "\x1b[36m"
	styleReset = "\x1b[0m"
)

// colourful reports whether w is a terminal that takes colours: not when
// $NO_COLOR is set (https://no-color.org) or $TERM is dumb.
func colourful(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}

// writeResourceDiffs writes, for each resource of d, a header naming it
// and its unified diff, coloured when colour is set. d.Diffs must hold
// one entry per resource.
func writeResourceDiffs(w io.Writer, d *apitypes.Diff, colour bool) error {
	style := func(s, line string) string {
		if !colour || line == "" {
			return line
		}
		return s + line + styleReset
	}
	var b strings.Builder
	for i, r := range d.Resources {
		status := string(r.Status)
		if r.RequiresPruning {
			status += ", requires pruning"
		}
		if r.Health != nil && r.Health.Status != "" {
			status += ", health " + string(r.Health.Status)
		}
		fmt.Fprintf(&b, "\n%s\n", style(styleBold, fmt.Sprintf("===== %s %s (%s) =====", groupKind(r.Group, r.Kind), qualifiedName(r.Namespace, r.Name), status)))
		text := d.Diffs[i].Diff
		if text == "" {
			b.WriteString("(no difference now: the resource changed since the last comparison; soll app diff --refresh compares again)\n")
			continue
		}
		hunks := false // the file names come before the first hunk
		for line := range strings.Lines(text) {
			line = strings.TrimSuffix(line, "\n")
			switch {
			case strings.HasPrefix(line, "@@"):
				hunks = true
				line = style(styleCyan, line)
			case !hunks:
				line = style(styleBold, line)
			case strings.HasPrefix(line, "-"):
				line = style(styleRed, line)
			case strings.HasPrefix(line, "+"):
				line = style(styleGreen, line)
			}
			b.WriteString(line + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func syncRevisions(s *sollv1.SyncStatus) []string {
	if len(s.Revisions) > 0 {
		return s.Revisions
	}
	if s.Revision != "" {
		return []string{s.Revision}
	}
	return nil
}

// refreshAndWait asks for a comparison of the app name with Git and
// waits for its result: the controller removes the refresh annotation,
// compares, and records the time of the comparison (to the second) in
// status.reconciledAt.
func refreshAndWait(ctx context.Context, be appBackend, name string, timeout time.Duration) error {
	requested := time.Now().Truncate(time.Second)
	if err := be.refresh(ctx, name, false); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := be.watch(wctx, name, func(app *sollv1.Application) (bool, error) {
		_, pending := app.Annotations[sollv1.RefreshAnnotation]
		at := app.Status.ReconciledAt
		return !pending && at != nil && !at.Time.Before(requested) && app.Status.ObservedGeneration >= app.Generation, nil
	})
	var ended *watchEnded
	if errors.As(err, &ended) && ctx.Err() == nil {
		return fmt.Errorf("application %s was not compared with Git within %s: is the soll controller running?", name, timeout)
	}
	return err
}

func (a *appCmd) manifestsCommand() *cobra.Command {
	var revision string
	cmd := a.showCommand(&cobra.Command{
		Use:   "manifests NAME",
		Short: "Print the manifests soll renders for an Application from Git (Secret values redacted)",
		Long: "Print the manifests soll renders for an Application from Git, Secret values redacted, " +
			"as a YAML stream (-o table and -o yaml) or a JSON list (-o json).",
	}, func(ctx context.Context, be appBackend, name string) (view, error) {
		m, err := be.manifests(ctx, name, revision)
		if err != nil {
			return view{}, err
		}
		stream := func(w io.Writer, _ bool) error { return writeYAMLStream(w, m.Items) }
		return view{
			value: m.Items,
			empty: len(m.Items) == 0,
			none:  "application " + name + " renders no objects",
			table: stream,
			yaml:  stream,
			names: func() []string { return manifestIDs(m.Items) },
		}, nil
	})
	cmd.Flags().StringVar(&revision, "revision", "", "render this revision instead of the target revision")
	return cmd
}

// writeYAMLStream writes objects as one YAML document each.
func writeYAMLStream(w io.Writer, objs []map[string]any) error {
	for i, o := range objs {
		b, err := yaml.Marshal(o)
		if err != nil {
			return fmt.Errorf("encode yaml: %w", err)
		}
		sep := "---\n"
		if i == 0 {
			sep = ""
		}
		if _, err := io.WriteString(w, sep+string(b)); err != nil {
			return err
		}
	}
	return nil
}

func manifestIDs(objs []map[string]any) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		apiVersion, _ := o["apiVersion"].(string)
		kind, _ := o["kind"].(string)
		meta, _ := o["metadata"].(map[string]any)
		ns, _ := meta["namespace"].(string)
		name, _ := meta["name"].(string)
		gv, _ := schema.ParseGroupVersion(apiVersion)
		out = append(out, resourceID(gv.Group, kind, ns, name))
	}
	return out
}

func (a *appCmd) treeCommand() *cobra.Command {
	return a.showCommand(&cobra.Command{
		Use:   "tree NAME",
		Short: "Show an Application's resources and their children (ReplicaSets, Jobs, Pods)",
	}, func(ctx context.Context, be appBackend, name string) (view, error) {
		t, err := be.tree(ctx, name)
		if err != nil {
			return view{}, err
		}
		return view{
			value: t,
			empty: len(t.Nodes) == 0,
			none:  noResources(name),
			table: func(w io.Writer, wide bool) error { return writeTree(w, t, wide) },
			names: func() []string {
				out := make([]string, len(t.Nodes))
				for i, n := range t.Nodes {
					out[i] = resourceID(n.Group, n.Kind, n.Namespace, n.Name)
				}
				return out
			},
		}, nil
	})
}

// writeTree writes the nodes of t as a tree: each managed resource, then
// its children indented below it.
func writeTree(w io.Writer, t *apitypes.Tree, wide bool) error {
	key := func(r apitypes.ResourceRef) string { return resourceID(r.Group, r.Kind, r.Namespace, r.Name) }
	children := map[string][]int{}
	var roots []int
	for i, n := range t.Nodes {
		if len(n.ParentRefs) == 0 {
			roots = append(roots, i)
			continue
		}
		p := key(n.ParentRefs[0])
		children[p] = append(children[p], i)
	}
	tb := newTable(w, "", wide)
	tb.row([]string{"GROUP/KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "INFO"}, "VERSION", "UID")
	var walk func(i int, prefix string, depth int)
	walk = func(i int, prefix string, depth int) {
		n := t.Nodes[i]
		var info []string
		for _, k := range slices.Sorted(maps.Keys(n.Info)) {
			info = append(info, k+"="+n.Info[k])
		}
		tb.row([]string{prefix + groupKind(n.Group, n.Kind), n.Namespace, n.Name, string(n.Status), healthText(n.Health), strings.Join(info, " ")}, n.Version, n.UID)
		kids := children[key(n.ResourceRef)]
		for j, c := range kids {
			branch := "├─ "
			if j == len(kids)-1 {
				branch = "└─ "
			}
			walk(c, strings.Repeat("   ", depth)+branch, depth+1)
		}
	}
	for _, i := range roots {
		walk(i, "", 0)
	}
	if err := tb.flush(); err != nil {
		return err
	}
	if t.Truncated {
		_, err := fmt.Fprintln(w, "(truncated: the application has too many objects to list them all)")
		return err
	}
	return nil
}

func (a *appCmd) eventsCommand() *cobra.Command {
	return a.showCommand(&cobra.Command{
		Use:   "events NAME",
		Short: "List the Kubernetes Events of an Application and its objects, newest first",
	}, func(ctx context.Context, be appBackend, name string) (view, error) {
		evs, err := be.events(ctx, name)
		return view{
			value: nonNil(evs),
			empty: len(evs) == 0,
			none:  "no events about application " + name + " or its objects (the API server keeps them about an hour)",
			table: func(w io.Writer, wide bool) error { return writeEventTable(w, evs, wide, time.Now()) },
			names: func() []string {
				out := make([]string, len(evs))
				for i, e := range evs {
					r := e.InvolvedObject
					out[i] = resourceID(r.Group, r.Kind, r.Namespace, r.Name)
				}
				return out
			},
		}, err
	})
}

func writeEventTable(w io.Writer, evs []apitypes.Event, wide bool, now time.Time) error {
	t := newTable(w, "", wide)
	t.row([]string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"}, "COUNT", "FIRST SEEN", "SOURCE")
	for _, e := range evs {
		r := e.InvolvedObject
		obj := groupKind(r.Group, r.Kind) + "/" + qualifiedName(r.Namespace, r.Name)
		t.row([]string{age(now, e.LastTimestamp.Time), e.Type, e.Reason, obj, e.Message}, fmt.Sprint(e.Count), age(now, e.FirstTimestamp.Time), e.Source)
	}
	return t.flush()
}

// age is how long ago t was, in the largest unit: 45s, 12m, 3h, 2d.
func age(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := max(now.Sub(t), 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
