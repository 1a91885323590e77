package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	sollv1 "soll.dev/api/v1alpha1"
)

// progressWriter shows an app's progress while soll app wait follows it.
// On a terminal it redraws a table of the app and its resources in place;
// elsewhere (a file, a pipe, CI logs) it prints a line for every change
// of the app or of one of its resources.
type progressWriter struct {
	w    io.Writer
	name string
	// width is the terminal's width; zero when w is not a terminal.
	width int
	now   func() time.Time

	// lastApp is the app's last summary line (on a terminal: the whole
	// last drawing but its time), lastRes each resource's last line.
	lastApp string
	lastRes map[string]string
	drawn   int // lines of the last drawing
}

func newProgressWriter(w io.Writer, name string) *progressWriter {
	p := &progressWriter{w: w, name: name, now: time.Now, lastRes: map[string]string{}}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if width, _, err := term.GetSize(int(f.Fd())); err == nil && width > 0 {
			p.width = width
		}
	}
	return p
}

// resourceProgress is one resource's line of the progress.
type resourceProgress struct {
	id, kind, namespace, name string
	sync, health, result      string
}

func (r resourceProgress) text() string {
	s := dash(r.sync) + ", health " + dash(r.health)
	if r.result != "" {
		s += ", " + r.result
	}
	return s
}

// resourcesProgress lists app's resources with their sync status, health
// and the result of the current or last operation for them; the hooks
// and pruned objects of the operation that are no managed resources come
// last.
func resourcesProgress(app *sollv1.Application) []resourceProgress {
	results := map[string]string{}
	var extra []resourceProgress
	if st := app.Status.OperationState; st != nil && st.SyncResult != nil {
		for _, r := range st.SyncResult.Resources {
			id := resourceID(r.Group, r.Kind, r.Namespace, r.Name)
			text := string(r.Status)
			if r.HookPhase != "" {
				text = strings.TrimSpace(string(r.HookType) + " hook " + string(r.HookPhase))
			}
			if r.Message != "" {
				text += ": " + r.Message
			}
			results[id] = text
			extra = append(extra, resourceProgress{id: id, kind: groupKind(r.Group, r.Kind), namespace: r.Namespace, name: r.Name, result: text})
		}
	}
	var out []resourceProgress
	seen := map[string]bool{}
	for _, r := range app.Status.Resources {
		id := resourceID(r.Group, r.Kind, r.Namespace, r.Name)
		seen[id] = true
		sync := string(r.Status)
		if r.RequiresPruning {
			sync += " (requires pruning)"
		}
		out = append(out, resourceProgress{id: id, kind: groupKind(r.Group, r.Kind), namespace: r.Namespace, name: r.Name,
			sync: sync, health: healthCode(r.Health), result: results[id]})
	}
	for _, r := range extra {
		if !seen[r.id] {
			seen[r.id] = true
			out = append(out, r)
		}
	}
	return out
}

// update shows app's state.
func (p *progressWriter) update(app *sollv1.Application) error {
	if p.width > 0 {
		return p.redraw(app)
	}
	stamp := p.now().Format("15:04:05")
	var b strings.Builder
	if line := progress(app); line != p.lastApp {
		p.lastApp = line
		fmt.Fprintf(&b, "%s  %s: %s\n", stamp, p.name, line)
	}
	for _, r := range resourcesProgress(app) {
		if text := r.text(); p.lastRes[r.id] != text {
			p.lastRes[r.id] = text
			fmt.Fprintf(&b, "%s  %s: %s %s: %s\n", stamp, p.name, r.kind, qualifiedName(r.namespace, r.name), text)
		}
	}
	_, err := io.WriteString(p.w, b.String())
	return err
}

func qualifiedName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// redraw replaces the last drawing with the app's state and its table of
// resources, each line cut to the terminal's width so that the cursor
// moves back over exactly the lines drawn.
func (p *progressWriter) redraw(app *sollv1.Application) error {
	var buf bytes.Buffer
	if res := resourcesProgress(app); len(res) > 0 {
		t := newTable(&buf, "  ", false)
		t.row([]string{"GROUP/KIND", "NAMESPACE", "NAME", "SYNC", "HEALTH", "RESULT"})
		for _, r := range res {
			t.row([]string{r.kind, r.namespace, r.name, r.sync, r.health, r.result})
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	state := progress(app) + "\n" + buf.String()
	if state == p.lastApp {
		return nil // a change that does not show, such as status.reconciledAt
	}
	p.lastApp = state
	table := buf.String()
	buf.Reset()
	fmt.Fprintf(&buf, "%s  %s: %s\n%s", p.now().Format("15:04:05"), p.name, progress(app), table)
	var out strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&out, "\r\x1b[%dA\x1b[J", p.drawn)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	for _, l := range lines {
		if r := []rune(l); len(r) >= p.width {
			l = string(r[:p.width-1])
		}
		out.WriteString(l + "\n")
	}
	p.drawn = len(lines)
	_, err := io.WriteString(p.w, out.String())
	return err
}
