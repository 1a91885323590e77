package ui

import (
	"cmp"
	"html/template"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sollv1 "soll.dev/api/v1alpha1"
)

// viewFuncs are the templates' helpers.
var viewFuncs = template.FuncMap{
	"short":        shortRevision,
	"appHref":      appHref,
	"rollbackForm": rollbackForm,
	"formatTime": func(t any) string {
		switch t := t.(type) {
		case metav1.Time:
			return formatTime(&t)
		case *metav1.Time:
			return formatTime(t)
		}
		return ""
	},
	// statusClass is the CSS class of a status: its icon and colour; the
	// status is always written out beside it.
	"statusClass": func(s string) string {
		if s == "" {
			return "st st-none"
		}
		return "st st-" + s
	},
	"resourceHealth": func(h *sollv1.HealthStatus) string {
		if h == nil || h.Status == "" {
			return ""
		}
		return string(h.Status)
	},
	"resourceHealthMessage": func(h *sollv1.HealthStatus) string {
		if h == nil {
			return ""
		}
		return h.Message
	},
	"resourceKey": func(r sollv1.ResourceStatus) string {
		return r.Group + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name
	},
}

func project(a *sollv1.Application) string { return cmp.Or(a.Spec.Project, "default") }

func syncStatus(a *sollv1.Application) string {
	if a.Status.Sync == nil || a.Status.Sync.Status == "" {
		return string(sollv1.SyncStatusUnknown)
	}
	return string(a.Status.Sync.Status)
}

func healthStatus(a *sollv1.Application) string {
	if a.Status.Health == nil || a.Status.Health.Status == "" {
		return string(sollv1.HealthUnknown)
	}
	return string(a.Status.Health.Status)
}

// phase is the phase of the current or last operation; "" when there was
// none.
func phase(a *sollv1.Application) string {
	if a.Status.OperationState == nil {
		if a.Operation != nil {
			return "Requested"
		}
		return ""
	}
	return string(a.Status.OperationState.Phase)
}

func sources(a *sollv1.Application) []sollv1.ApplicationSource {
	if len(a.Spec.Sources) > 0 {
		return a.Spec.Sources
	}
	if a.Spec.Source != nil {
		return []sollv1.ApplicationSource{*a.Spec.Source}
	}
	return nil
}

// targets are the target revisions of the app's sources; an empty one is
// HEAD.
func targets(a *sollv1.Application) []string {
	var out []string
	for _, s := range sources(a) {
		out = append(out, cmp.Or(s.TargetRevision, "HEAD"))
	}
	return out
}

// resolved are the revisions the app was last compared at.
func resolved(a *sollv1.Application) []string {
	if a.Status.Sync == nil {
		return nil
	}
	if len(a.Status.Sync.Revisions) > 0 {
		return a.Status.Sync.Revisions
	}
	if a.Status.Sync.Revision != "" {
		return []string{a.Status.Sync.Revision}
	}
	return nil
}

// shortRevision abbreviates a commit SHA to 8 characters and leaves other
// revisions (tags, chart versions) as they are.
func shortRevision(rev string) string {
	if len(rev) == 40 || len(rev) == 64 {
		if strings.Trim(rev, "0123456789abcdef") == "" {
			return rev[:8]
		}
	}
	return rev
}

func shortRevisions(revs []string) []string {
	out := make([]string, len(revs))
	for i, r := range revs {
		out[i] = shortRevision(r)
	}
	return out
}

// lastSync is when the app last deployed (its newest history entry).
func lastSync(a *sollv1.Application) string {
	h := a.Status.History
	if len(h) == 0 {
		return ""
	}
	return formatTime(&h[len(h)-1].DeployedAt)
}

// formatTime writes a time in UTC, to the second, in the form the
// page's script writes too.
func formatTime(t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func duration(op *sollv1.OperationState) string {
	if op.FinishedAt == nil {
		return ""
	}
	return op.FinishedAt.Sub(op.StartedAt.Time).Round(time.Second).String()
}

func initiator(i *sollv1.OperationInitiator) string {
	switch {
	case i == nil:
		return ""
	case i.Automated:
		return "automated sync"
	}
	return i.Username
}

func destination(a *sollv1.Application) string {
	d := a.Spec.Destination
	return cmp.Or(d.Name, d.Server) + " / " + cmp.Or(d.Namespace, "(no namespace)")
}

func sortedPairs(m map[string]string) []keyValue {
	out := make([]keyValue, 0, len(m))
	for k, v := range m {
		out = append(out, keyValue{k, v})
	}
	slices.SortFunc(out, func(a, b keyValue) int { return cmp.Compare(a.Key, b.Key) })
	return out
}
