package cli

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/project"
)

func (p *projCmd) windowsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "windows",
		Aliases: []string{"window", "sync-windows"},
		Short:   "List, add and remove the sync windows of a Project",
		Long: "Sync windows allow or deny syncs at scheduled times: a window opens whenever its cron schedule matches " +
			"and stays open for its duration; it applies to the apps that match its applications, namespaces or clusters. " +
			"With allow windows, syncs outside all of them are denied; deny wins over allow; --manual-sync lets people sync " +
			"while automated syncs are held back.",
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(p.windowsListCommand(), p.windowsAddCommand(), p.windowsRemoveCommand())
	return cmd
}

func (p *projCmd) windowsListCommand() *cobra.Command {
	return p.projectCommand(&cobra.Command{
		Use:     "list PROJECT",
		Aliases: []string{"ls"},
		Short:   "List the sync windows of a Project, with the IDs soll proj windows rm takes",
		Args:    exactlyArgs("PROJECT"),
	}, func(proj *sollv1.Project) view {
		ws := proj.Spec.SyncWindows
		return view{
			value: nonNil(ws),
			empty: len(ws) == 0,
			none:  "project " + proj.Name + " has no sync windows: apps may sync at any time; add one with soll proj windows add " + proj.Name,
			table: func(w io.Writer, _ bool) error { return writeWindowTable(w, "", ws) },
			names: func() []string {
				ids := make([]string, len(ws))
				for i := range ws {
					ids[i] = strconv.Itoa(i)
				}
				return ids
			},
		}
	})
}

// windowFlags are the flags of soll proj windows add.
type windowFlags struct {
	kind, schedule, timeZone           string
	duration                           time.Duration
	applications, namespaces, clusters []string
	manualSync                         bool
}

// window builds the sync window the flags describe, or says which flag
// is wrong and how.
func (f *windowFlags) window() (sollv1.SyncWindow, error) {
	w := sollv1.SyncWindow{
		Kind: sollv1.SyncWindowKind(f.kind), Schedule: f.schedule, Duration: metav1.Duration{Duration: f.duration}, TimeZone: f.timeZone,
		Applications: f.applications, Namespaces: f.namespaces, Clusters: f.clusters, ManualSync: f.manualSync,
	}
	switch {
	case w.Kind != sollv1.SyncWindowAllow && w.Kind != sollv1.SyncWindowDeny:
		return w, fmt.Errorf("--kind %q: want allow or deny", f.kind)
	case f.schedule == "":
		return w, errors.New(`--schedule is required: a cron schedule (minute hour day-of-month month day-of-week) such as "0 22 * * 1-5", or @daily`)
	case f.duration <= 0:
		return w, errors.New("--duration is required: how long the window stays open after each start, such as 1h or 30m")
	case len(f.applications)+len(f.namespaces)+len(f.clusters) == 0:
		return w, errors.New(`give the apps the window applies to: --applications, --namespaces or --clusters (globs; "*" for all)`)
	}
	// The checks the controller makes, with the flags named instead of
	// the fields.
	err := project.ValidateWindows(&sollv1.Project{Spec: sollv1.ProjectSpec{SyncWindows: []sollv1.SyncWindow{w}}})
	if err != nil {
		return w, errors.New(strings.NewReplacer(
			"spec.syncWindows[0].schedule", "--schedule", "spec.syncWindows[0].timeZone", "--time-zone",
			"spec.syncWindows[0].duration", "--duration").Replace(err.Error()))
	}
	return w, nil
}

func (p *projCmd) windowsAddCommand() *cobra.Command {
	var f windowFlags
	cmd := &cobra.Command{
		Use:   "add PROJECT --kind allow|deny --schedule CRON --duration DURATION",
		Short: "Add a sync window to a Project",
		Example: "  # No automated syncs on weekday evenings; people may still sync.\n" +
			"  soll proj windows add team-a --kind deny --schedule '0 18 * * 1-5' --duration 14h \\\n" +
			"      --time-zone Europe/Berlin --applications '*' --manual-sync",
		Args: exactlyArgs("PROJECT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := f.window()
			if err != nil {
				return err
			}
			return p.edit(cmd, args[0], func(proj *sollv1.Project) (string, error) {
				proj.Spec.SyncWindows = append(proj.Spec.SyncWindows, w)
				return fmt.Sprintf("sync window %d added (%s)", len(proj.Spec.SyncWindows)-1, windowText(w)), nil
			}, "")
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.kind, "kind", "", "allow or deny (required)")
	fl.StringVar(&f.schedule, "schedule", "", `when the window opens: cron (minute hour day-of-month month day-of-week) or @daily ... (required)`)
	fl.DurationVar(&f.duration, "duration", 0, "how long the window stays open after each start, such as 1h (required)")
	fl.StringVar(&f.timeZone, "time-zone", "", "IANA time zone the schedule is read in, such as Europe/Berlin (default UTC)")
	fl.StringSliceVar(&f.applications, "applications", nil, "globs of the app names the window applies to")
	fl.StringSliceVar(&f.namespaces, "namespaces", nil, "globs of the destination namespaces the window applies to")
	fl.StringSliceVar(&f.clusters, "clusters", nil, "globs of the destination clusters (names or server URLs) the window applies to")
	fl.BoolVar(&f.manualSync, "manual-sync", false, "let people sync while the window holds automated syncs back")
	return p.nameCommand(cmd)
}

func (p *projCmd) windowsRemoveCommand() *cobra.Command {
	return p.nameCommand(&cobra.Command{
		Use:     "rm PROJECT ID",
		Aliases: []string{"remove", "delete"},
		Short:   "Remove a sync window from a Project, by the ID soll proj windows list shows",
		Args:    exactlyArgs("PROJECT", "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			id, err := strconv.Atoi(args[1])
			if err != nil || id < 0 {
				return fmt.Errorf("ID %q is not a sync window ID: list them with soll proj windows list %s", args[1], name)
			}
			return p.edit(cmd, name, func(proj *sollv1.Project) (string, error) {
				ws := proj.Spec.SyncWindows
				if id >= len(ws) {
					return "", fmt.Errorf("project %s has %d sync window(s), none with ID %d: list them with soll proj windows list %s", name, len(ws), id, name)
				}
				msg := fmt.Sprintf("sync window %d removed (%s)", id, windowText(ws[id]))
				proj.Spec.SyncWindows = append(ws[:id:id], ws[id+1:]...)
				return msg, nil
			}, "")
		},
	})
}

// windowText describes a window in one line.
func windowText(w sollv1.SyncWindow) string {
	tz := w.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	return fmt.Sprintf("%s %q %s for %s", w.Kind, w.Schedule, tz, w.Duration.Duration)
}

func writeWindowTable(w io.Writer, indent string, ws []sollv1.SyncWindow) error {
	t := newTable(w, indent, false)
	t.row([]string{"ID", "KIND", "SCHEDULE", "DURATION", "TIME ZONE", "APPLICATIONS", "NAMESPACES", "CLUSTERS", "MANUAL SYNC"})
	for i, win := range ws {
		t.row([]string{strconv.Itoa(i), string(win.Kind), win.Schedule, win.Duration.Duration.String(), win.TimeZone,
			strings.Join(win.Applications, ","), strings.Join(win.Namespaces, ","), strings.Join(win.Clusters, ","),
			strconv.FormatBool(win.ManualSync)})
	}
	return t.flush()
}
