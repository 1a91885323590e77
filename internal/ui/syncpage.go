package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

// syncPage is the sync dialog of an app: what a sync would change, the
// resources and options to sync with, and the progress of the current
// operation, per resource.
type syncPage struct {
	App        *sollv1.Application
	Row        appRow
	Href       string
	FormToken  string
	SyncAction string
	// TerminateAction ends the running operation.
	TerminateAction         string
	SyncAllowed             bool
	SyncDenied              string
	Resources               []syncResource
	Changes                 []syncChange
	ChangesNote, DiffError  string
	SingleSource            bool
	Target                  string
	Results                 []sollv1.ResourceResult
	OpMessage, OpInitiator  string
	Prune, DryRun, OnlyDiff bool
	Replace                 bool
}

// syncResource is a managed resource the form may select.
type syncResource struct {
	// Key is the form's value: group/kind/namespace/name (none of them
	// contains a slash).
	Key, Kind, Namespace, Name, Status string
	RequiresPruning                    bool
}

// syncChange is a resource that a sync would change, with its diff.
type syncChange struct {
	Kind, Namespace, Name, Status string
	Prune                         bool
	Diff                          string
}

func resourceKey(group, kind, namespace, name string) string {
	return strings.Join([]string{group, kind, namespace, name}, "/")
}

// syncDialog shows the sync dialog of the app of the path.
func (u *UI) syncDialog(w http.ResponseWriter, r *http.Request) {
	s, a := u.sessionApp(w, r)
	if a == nil {
		return
	}
	href := appHref(a.Name)
	v := &syncPage{App: a, Row: rowOf(a), Href: href, FormToken: s.formToken, SyncAction: href + "/sync", TerminateAction: href + "/terminate",
		SingleSource: len(a.Spec.Sources) == 0, Target: strings.Join(targets(a), ", ")}
	v.SyncAllowed, v.SyncDenied = u.may(s, a, "sync")
	if p := a.Spec.SyncPolicy; p != nil && p.SyncOptions != nil {
		v.OnlyDiff, v.Replace = p.SyncOptions.ApplyOutOfSyncOnly, p.SyncOptions.Replace
	}
	for _, res := range a.Status.Resources {
		if res.Hook {
			continue
		}
		v.Resources = append(v.Resources, syncResource{Key: resourceKey(res.Group, res.Kind, res.Namespace, res.Name), Kind: res.Kind,
			Namespace: res.Namespace, Name: res.Name, Status: string(res.Status), RequiresPruning: res.RequiresPruning})
	}
	if op := a.Status.OperationState; op != nil {
		v.OpMessage, v.OpInitiator = op.Message, initiator(op.Operation.InitiatedBy)
		if op.SyncResult != nil {
			v.Results = op.SyncResult.Resources
		}
	}
	// What a sync would change: the API's diff of the app.
	res := u.call(r, s.token, http.MethodGet, "/api/v1/applications/"+url.PathEscape(a.Name)+"/diff", nil)
	var d apitypes.Diff
	switch {
	case res.status != http.StatusOK:
		v.DiffError = res.apiError().Message
	case res.decode(&d) != nil:
		v.DiffError = "the API's answer could not be read"
	default:
		v.ChangesNote = d.Note
		for i, rs := range d.Resources {
			c := syncChange{Kind: rs.Kind, Namespace: rs.Namespace, Name: rs.Name, Status: string(rs.Status), Prune: rs.RequiresPruning}
			if i < len(d.Diffs) && d.Diffs[i].Kind == rs.Kind && d.Diffs[i].Name == rs.Name {
				c.Diff = d.Diffs[i].Diff
			}
			v.Changes = append(v.Changes, c)
		}
	}
	l := layout{Title: "Sync " + a.Name, Crumbs: []crumb{{Label: "Applications", Href: "/applications"}, {Label: a.Name, Href: href}, {Label: "Sync"}},
		User: s.p.Subject, LogoutToken: s.formToken, Stream: "/api/v1/stream/applications/" + url.PathEscape(a.Name),
		Notice: notices[r.URL.Query().Get("notice")], Page: v}
	u.render(w, http.StatusOK, pageSync, l)
}

// syncRequestOf reads the sync form's options: the resources ticked
// (none: all), prune, dry run, only out-of-sync resources, replace, and
// a revision. A form without options is the app page's Sync button.
func syncRequestOf(form url.Values) (apitypes.SyncRequest, error) {
	req := apitypes.SyncRequest{Revision: strings.TrimSpace(form.Get("revision")), Prune: form.Get("prune") == "on", DryRun: form.Get("dryRun") == "on"}
	for _, key := range form["resource"] {
		parts := strings.Split(key, "/")
		if len(parts) != 4 || parts[1] == "" || parts[3] == "" {
			return req, fmt.Errorf("the form names resource %q, which is not group/kind/namespace/name; reload the page and try again", key)
		}
		req.Resources = append(req.Resources, sollv1.SyncOperationResource{Group: parts[0], Kind: parts[1], Namespace: parts[2], Name: parts[3]})
	}
	if form.Get("applyOutOfSyncOnly") == "on" || form.Get("replace") == "on" {
		req.SyncOptions = &sollv1.SyncOptions{ApplyOutOfSyncOnly: form.Get("applyOutOfSyncOnly") == "on", Replace: form.Get("replace") == "on"}
	}
	return req, nil
}

// terminateApp ends the app's running operation (or withdraws a
// requested one) through the API.
func (u *UI) terminateApp(w http.ResponseWriter, r *http.Request) {
	if s := u.checkForm(w, r); s != nil {
		u.action(w, r, s, "/terminate", nil, noticeTerminate)
	}
}

// syncBody is the API body of a sync form.
func syncBody(form url.Values) ([]byte, string, error) {
	req, err := syncRequestOf(form)
	if err != nil {
		return nil, "", err
	}
	b, err := json.Marshal(req)
	notice := noticeSync
	if req.DryRun {
		notice = noticeDryRun
	}
	return b, notice, err
}
