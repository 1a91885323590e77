package project

import (
	"errors"
	"fmt"
	"strings"
	"time"
	// Sync windows name IANA time zones; embedding the database keeps
	// their evaluation independent of the image soll runs in.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/glob"
)

// WindowState says whether an Application may sync now, as its Project's
// sync windows decide.
type WindowState struct {
	// SyncAllowed is true when automated syncs may run.
	SyncAllowed bool
	// ManualAllowed is true when syncs a user asks for may run.
	ManualAllowed bool
	// Reason explains the decision and names the window that made it.
	Reason string
	// NextChange is the earliest time after now at which a window that
	// applies to the Application opens or closes, so the caller knows when
	// to look again; the decision may be the same then. Nil when no such
	// window opens or closes within the next five years, or when an open
	// window's end could not be found (a schedule that keeps it open).
	NextChange *time.Time
}

// cronParser reads the five standard fields and the @yearly … @hourly
// macros. @every is left out: it counts from whenever it is asked, which
// gives a window no fixed start.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// window is a sync window ready to evaluate.
type window struct {
	index int
	spec  *sollv1.SyncWindow
	sched cron.Schedule
	loc   *time.Location
	err   error
}

func compileWindow(i int, w *sollv1.SyncWindow) window {
	c := window{index: i, spec: w}
	field := func(name string, err error) error {
		return fmt.Errorf("spec.syncWindows[%d].%s: %w", i, name, err)
	}
	var errs []error
	switch {
	case strings.HasPrefix(w.Schedule, "TZ=") || strings.HasPrefix(w.Schedule, "CRON_TZ="):
		errs = append(errs, field("schedule", fmt.Errorf("%q names a time zone: set timeZone instead", w.Schedule)))
	case strings.HasPrefix(w.Schedule, "@every"):
		errs = append(errs, field("schedule", fmt.Errorf("%q is not supported: a window needs fixed start times, such as \"0 */2 * * *\"", w.Schedule)))
	default:
		s, err := cronParser.Parse(w.Schedule)
		if err != nil {
			errs = append(errs, field("schedule", fmt.Errorf("%q is not a cron schedule (minute hour day-of-month month day-of-week, or @daily ...): %w", w.Schedule, err)))
		}
		c.sched = s
	}
	switch w.TimeZone {
	case "", "UTC":
		c.loc = time.UTC
	case "Local":
		errs = append(errs, field("timeZone", fmt.Errorf(`"Local" depends on the machine soll runs on: name an IANA time zone such as "Europe/Berlin"`)))
	default:
		loc, err := time.LoadLocation(w.TimeZone)
		if err != nil {
			errs = append(errs, field("timeZone", fmt.Errorf("%q is not an IANA time zone such as \"Europe/Berlin\"", w.TimeZone)))
		}
		c.loc = loc
	}
	if w.Duration.Duration <= 0 {
		errs = append(errs, field("duration", fmt.Errorf("%s is not positive: give how long the window stays open, such as \"1h\"", w.Duration.Duration)))
	}
	c.err = errors.Join(errs...)
	return c
}

// ValidateWindows reports every sync window of p that cannot be evaluated:
// an invalid schedule, time zone or duration, naming the field.
func ValidateWindows(p *sollv1.Project) error {
	var errs []error
	for i := range p.Spec.SyncWindows {
		errs = append(errs, compileWindow(i, &p.Spec.SyncWindows[i]).err)
	}
	return errors.Join(errs...)
}

// appliesTo reports whether the window covers app: its name matches one of
// applications, or its destination namespace one of namespaces, or its
// destination cluster (server or name) one of clusters.
func (w window) appliesTo(app *sollv1.Application) bool {
	server, name := clusterIDs(app.Spec.Destination)
	return matchAny(w.spec.Applications, app.Name) ||
		matchAny(w.spec.Namespaces, app.Spec.Destination.Namespace) ||
		matchAny(w.spec.Clusters, server) || (name != "" && matchAny(w.spec.Clusters, name))
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if glob.Match(p, s) {
			return true
		}
	}
	return false
}

// maxRunStarts bounds the starts followed to find where a run of
// overlapping openings ends. A schedule whose openings overlap for longer
// keeps the window open for good, as far as the caller is concerned.
const maxRunStarts = 1000

// phase is a window's state at one instant.
type phase struct {
	open bool
	// change is when the window next closes (open) or opens (closed); zero
	// when that is unknown or never.
	change time.Time
}

// at evaluates the window at now. The window is open when some start t
// satisfies t <= now < t+duration. The first start after now-duration is
// the earliest such t if there is one, so one call to Next decides, however
// long the duration.
func (w window) at(now time.Time) phase {
	d := w.spec.Duration.Duration
	local := now.In(w.loc)
	t := w.sched.Next(local.Add(-d))
	if t.IsZero() {
		return phase{}
	}
	if t.After(local) {
		return phase{change: t}
	}
	// Later starts before the end extend the opening.
	end := t.Add(d)
	for range maxRunStarts {
		next := w.sched.Next(t)
		if next.IsZero() || next.After(end) {
			return phase{open: true, change: end}
		}
		t = next
		if e := t.Add(d); e.After(end) {
			end = e
		}
	}
	return phase{open: true}
}

// describe names the window in a reason: `deny window "0 22 * * *" (2h,
// Europe/Berlin)`.
func (w window) describe() string {
	tz := w.spec.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	return fmt.Sprintf("%s window %q (%s, %s)", w.spec.Kind, w.spec.Schedule, shortDuration(w.spec.Duration.Duration), tz)
}

// shortDuration writes 2h rather than 2h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// clock writes t in the window's zone: the time of day when t is less than
// a day after now, else with the date.
func (w window) clock(t, now time.Time) string {
	if t.Sub(now) < 24*time.Hour {
		return t.In(w.loc).Format("15:04")
	}
	return t.In(w.loc).Format("2006-01-02 15:04")
}

// Windows decides whether app may sync at now under the sync windows of p.
//
// A window applies to app when app's name matches one of its applications,
// its destination namespace one of its namespaces, or its destination
// cluster (server or name) one of its clusters. A window is open when now
// lies within [t, t+duration) for a start t of its schedule, read in its
// time zone (UTC when empty). Then, among the windows that apply:
//
//   - When a deny window is open, automated syncs are denied. Manual syncs
//     are denied too, unless every open deny window has manualSync.
//   - Otherwise, when there are allow windows and none is open, syncs are
//     denied; manual syncs are allowed when any of those allow windows has
//     manualSync.
//   - Otherwise, syncs are allowed.
//
// A window that applies but cannot be evaluated (see ValidateWindows)
// counts as an open deny window, so a broken window holds syncs back rather
// than letting them through; its manualSync still lets users sync.
func Windows(p *sollv1.Project, app *sollv1.Application, now time.Time) WindowState {
	var (
		denies, openAllows, closedAllows []window
		invalid                          []window
		next                             time.Time
		applying                         int
	)
	soonest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	changes := map[int]time.Time{}
	for i := range p.Spec.SyncWindows {
		w := compileWindow(i, &p.Spec.SyncWindows[i])
		if !w.appliesTo(app) {
			continue
		}
		applying++
		if w.err != nil {
			invalid = append(invalid, w)
			continue
		}
		ph := w.at(now)
		soonest(ph.change)
		changes[i] = ph.change
		switch {
		case w.spec.Kind == sollv1.SyncWindowDeny && ph.open:
			denies = append(denies, w)
		case w.spec.Kind == sollv1.SyncWindowAllow && ph.open:
			openAllows = append(openAllows, w)
		case w.spec.Kind == sollv1.SyncWindowAllow:
			closedAllows = append(closedAllows, w)
		}
	}
	st := WindowState{}
	if !next.IsZero() {
		st.NextChange = &next
	}
	until := func(w window, verb string) string {
		if c := changes[w.index]; !c.IsZero() {
			return fmt.Sprintf("%s %s %s", w.describe(), verb, w.clock(c, now))
		}
		return w.describe() + " is open"
	}

	switch {
	case len(invalid) > 0 || len(denies) > 0:
		holding := append(invalid, denies...)
		blocking := holding[0]
		st.ManualAllowed = true
		for _, w := range holding {
			if !w.spec.ManualSync {
				st.ManualAllowed, blocking = false, w
				break
			}
		}
		if blocking.err != nil {
			st.Reason = fmt.Sprintf("%s cannot be evaluated, so it holds syncs back: %v", blocking.describe(), blocking.err)
		} else {
			st.Reason = until(blocking, "is active until")
		}
		if len(holding) > 1 {
			st.Reason += fmt.Sprintf(" (%d deny windows in all)", len(holding))
		}
		st.Reason += manualNote(st.ManualAllowed)
	case len(openAllows) > 0:
		st.SyncAllowed, st.ManualAllowed = true, true
		st.Reason = until(openAllows[0], "is active until")
	case len(closedAllows) > 0:
		first := closedAllows[0]
		for _, w := range closedAllows {
			if w.spec.ManualSync {
				st.ManualAllowed = true
			}
			if c := changes[w.index]; !c.IsZero() && (changes[first.index].IsZero() || c.Before(changes[first.index])) {
				first = w
			}
		}
		if changes[first.index].IsZero() {
			st.Reason = "no allow window is active, and none opens within five years"
		} else {
			st.Reason = "no allow window is active; " + until(first, "opens at")
		}
		st.Reason += manualNote(st.ManualAllowed)
	case applying > 0:
		st.SyncAllowed, st.ManualAllowed = true, true
		st.Reason = "no deny window is active"
	default:
		st.SyncAllowed, st.ManualAllowed = true, true
		st.Reason = "no sync window applies"
	}
	return st
}

func manualNote(allowed bool) string {
	if allowed {
		return "; manual syncs are allowed"
	}
	return ""
}
