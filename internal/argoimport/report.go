package argoimport

import (
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"
)

// NoteKind says how a field of an Argo CD object fared.
type NoteKind string

const (
	// NoEquivalent: soll has nothing like the field; it was left out.
	NoEquivalent NoteKind = "no-equivalent"
	// Changed: the field was converted, but works differently in soll or
	// was changed on purpose (automated sync turned off).
	Changed NoteKind = "changed"
	// Kept: the field was kept as it is although soll does not act on it
	// (notification subscriptions).
	Kept NoteKind = "kept"
)

// Note is what happened to one field of one object and what to do.
type Note struct {
	Kind    NoteKind `json:"kind"`
	Field   string   `json:"field"`
	Message string   `json:"message"`
}

// ObjectReport lists the notes of one Argo CD object.
type ObjectReport struct {
	// Source names the Argo CD object: "Application argocd/guestbook",
	// with the file it came from when read from files.
	Source string `json:"source"`
	// Target names the soll object it became, "" when none.
	Target string `json:"target,omitempty"`
	Notes  []Note `json:"notes,omitempty"`
}

// Report lists, per object, every field that has no equivalent in soll
// or was changed, and what to do about it.
type Report struct {
	Objects []ObjectReport `json:"objects"`
}

// Count returns the number of notes of kind k.
func (r *Report) Count(k NoteKind) int {
	n := 0
	for _, o := range r.Objects {
		for _, x := range o.Notes {
			if x.Kind == k {
				n++
			}
		}
	}
	return n
}

// WriteText writes the report for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, o := range r.Objects {
		if o.Target != "" {
			fmt.Fprintf(&b, "%s -> %s\n", o.Source, o.Target)
		} else {
			fmt.Fprintf(&b, "%s -> (nothing)\n", o.Source)
		}
		for _, n := range o.Notes {
			fmt.Fprintf(&b, "  %-13s %s: %s\n", n.Kind, n.Field, n.Message)
		}
	}
	fmt.Fprintf(&b, "%d objects; %d fields without equivalent, %d changed, %d kept for later\n",
		len(r.Objects), r.Count(NoEquivalent), r.Count(Changed), r.Count(Kept))
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown writes the report as a Markdown document.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Import from Argo CD\n\n")
	fmt.Fprintf(&b, "%d objects; %d fields without equivalent, %d changed, %d kept for later.\n",
		len(r.Objects), r.Count(NoEquivalent), r.Count(Changed), r.Count(Kept))
	for _, o := range r.Objects {
		fmt.Fprintf(&b, "\n## %s\n\n", mdEscape(o.Source))
		if o.Target != "" {
			fmt.Fprintf(&b, "Becomes %s.\n", mdEscape(o.Target))
		} else {
			b.WriteString("Becomes nothing.\n")
		}
		if len(o.Notes) == 0 {
			continue
		}
		b.WriteString("\n| Field | What happened | What to do |\n|---|---|---|\n")
		for _, n := range o.Notes {
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", strings.ReplaceAll(n.Field, "`", "'"), n.Kind, mdEscape(n.Message))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

// WriteYAML writes the report as YAML.
func (r *Report) WriteYAML(w io.Writer) error {
	out, err := yaml.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}
