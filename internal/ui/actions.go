package ui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	sollv1 "soll.dev/api/v1alpha1"
)

// actions are the app page's forms beyond Sync and Refresh: rollback and
// unpin, the sync policy, and delete. Each has its target, whether the
// user may use it and, if not, why (the API decides again).
type actions struct {
	RollbackAction, UnpinAction, PolicyAction, DeleteAction string
	RollbackAllowed, PolicyAllowed, DeleteAllowed           bool
	RollbackDenied, PolicyDenied, DeleteDenied              string
	Policy                                                  policyForm
	Delete                                                  deleteForm
}

// policyForm is the sync policy form: its values, as stored or as sent
// back with an error, and the API's errors next to their fields.
type policyForm struct {
	Automated, SelfHeal, Prune bool
	Targets                    []targetField
	// AutomatedError is an error of spec.syncPolicy.automated; Error one
	// of no field of the form.
	AutomatedError, Error string
}

// targetField is the target revision of one source.
type targetField struct {
	ID, Label, Value, Error string
}

// deleteForm is the delete form: the cascade choice and the typed name.
type deleteForm struct {
	Orphan         bool
	Confirm, Error string
}

func (u *UI) actionsOf(s *session, a *sollv1.Application) actions {
	base := appHref(a.Name)
	x := actions{RollbackAction: base + "/rollback", UnpinAction: base + "/unpin", PolicyAction: base + "/policy", DeleteAction: base + "/delete"}
	// Rollback and unpin need the rollback right, update the policy form
	// and delete the delete form, as in the API's handlers.
	x.RollbackAllowed, x.RollbackDenied = u.may(s, a, "rollback")
	x.PolicyAllowed, x.PolicyDenied = u.may(s, a, "update")
	x.DeleteAllowed, x.DeleteDenied = u.may(s, a, "delete")
	x.Policy = policyOf(a)
	return x
}

// automated reads the app's automated sync settings: enabled, self-heal
// and prune.
func automated(a *sollv1.Application) (on, selfHeal, prune bool) {
	if a.Spec.SyncPolicy == nil || a.Spec.SyncPolicy.Automated == nil {
		return false, false, false
	}
	at := a.Spec.SyncPolicy.Automated
	return at.Enabled == nil || *at.Enabled, at.SelfHeal, at.Prune
}

func policyOf(a *sollv1.Application) policyForm {
	var f policyForm
	f.Automated, f.SelfHeal, f.Prune = automated(a)
	srcs := sources(a)
	for i, src := range srcs {
		t := targetField{ID: "target-" + strconv.Itoa(i), Label: "Target revision", Value: src.TargetRevision}
		if len(srcs) > 1 {
			t.Label = "Target revision of source " + strconv.Itoa(i+1)
		}
		f.Targets = append(f.Targets, t)
	}
	return f
}

// rollbackButton is the rollback form of one history entry.
type rollbackButton struct {
	Action, Token string
	ID            int64
	Allowed       bool
}

func rollbackForm(v *appView, id int64) rollbackButton {
	return rollbackButton{Action: v.RollbackAction, Token: v.FormToken, ID: id, Allowed: v.RollbackAllowed}
}

// pinText describes a pin as the page's script does (pinText in
// static/soll.js).
func pinText(p *sollv1.RevisionPin) string {
	if p == nil {
		return "Not pinned: the app follows its target revision."
	}
	s := "Pinned to " + strings.Join(shortRevisions(p.Revisions), ", ")
	if p.HistoryID != nil {
		s += " (history entry " + strconv.FormatInt(*p.HistoryID, 10) + ")"
	}
	if p.Reason != "" {
		s += ": " + p.Reason
	}
	return s
}

// rollbackApp requests a rollback to the form's history entry, which
// pins the app there.
func (u *UI) rollbackApp(w http.ResponseWriter, r *http.Request) {
	s := u.checkForm(w, r)
	if s == nil {
		return
	}
	id, err := strconv.ParseInt(r.PostForm.Get("id"), 10, 64)
	if err != nil || id < 0 {
		u.fail(w, r, s, http.StatusBadRequest, "Bad request", "The rollback form names no history entry (id "+strconv.Quote(r.PostForm.Get("id"))+"); reload the page and try again.")
		return
	}
	body, _ := json.Marshal(map[string]int64{"id": id})
	u.action(w, r, s, "/rollback", body, noticeRollback)
}

// unpinApp removes the pin a rollback set.
func (u *UI) unpinApp(w http.ResponseWriter, r *http.Request) {
	if s := u.checkForm(w, r); s != nil {
		u.action(w, r, s, "/unpin", nil, noticeUnpin)
	}
}

// appForm checks a form posted on the app page and reads the app, for a
// handler that may render the page again with the form's errors; nil
// when it answered already (a refused token, an app it may not see).
func (u *UI) appForm(w http.ResponseWriter, r *http.Request) (*session, *appView) {
	s := u.checkForm(w, r)
	if s == nil {
		return nil, nil
	}
	a := u.readApp(w, r, s)
	if a == nil {
		return nil, nil
	}
	return s, u.appViewOf(s, a)
}

// sourceField finds the source index in an API error's field:
// spec.source.targetRevision is 0, spec.sources[2].targetRevision 2.
var sourceField = regexp.MustCompile(`^spec\.source(?:s\[(\d+)\])?\.targetRevision$`)

// policyApp changes the sync policy and the target revisions with a JSON
// merge patch of what the form changed. The API's errors are shown next
// to their fields, with the values sent.
func (u *UI) policyApp(w http.ResponseWriter, r *http.Request) {
	s, v := u.appForm(w, r)
	if v == nil {
		return
	}
	a := v.App
	f := &v.Policy
	f.Automated, f.SelfHeal, f.Prune = r.PostForm.Has("automated"), r.PostForm.Has("selfHeal"), r.PostForm.Has("prune")
	sent := r.PostForm["targetRevision"]
	if len(sent) != len(f.Targets) {
		f.Error = "The form has " + strconv.Itoa(len(sent)) + " target revisions and the application " + strconv.Itoa(len(f.Targets)) + " sources (it changed since the page was loaded): reload the page and try again."
		u.renderApp(w, r, s, http.StatusConflict, v, "")
		return
	}
	for i := range f.Targets {
		f.Targets[i].Value = strings.TrimSpace(sent[i])
	}
	spec := map[string]any{}
	on, selfHeal, prune := automated(a)
	if f.Automated != on || f.SelfHeal != selfHeal || f.Prune != prune {
		spec["syncPolicy"] = map[string]any{"automated": map[string]any{"enabled": f.Automated, "selfHeal": f.SelfHeal, "prune": f.Prune}}
	}
	if a.Spec.Source != nil && f.Targets[0].Value != a.Spec.Source.TargetRevision {
		spec["source"] = map[string]any{"targetRevision": f.Targets[0].Value}
	}
	if a.Spec.Source == nil && len(a.Spec.Sources) > 0 {
		// spec.sources is replaced as a whole: the sources as read, with
		// the form's revisions.
		changed := false
		srcs := make([]sollv1.ApplicationSource, len(a.Spec.Sources))
		for i, src := range a.Spec.Sources {
			changed = changed || src.TargetRevision != f.Targets[i].Value
			src.TargetRevision = f.Targets[i].Value
			srcs[i] = src
		}
		if changed {
			spec["sources"] = srcs
		}
	}
	if len(spec) == 0 {
		http.Redirect(w, r, appHref(a.Name)+"?notice="+noticeUnchanged, http.StatusSeeOther)
		return
	}
	body, err := json.Marshal(map[string]any{"spec": spec})
	if err != nil {
		u.fail(w, r, s, http.StatusInternalServerError, "The change could not be made", err.Error())
		return
	}
	res := u.call(r, s.token, http.MethodPatch, "/api/v1/applications/"+url.PathEscape(a.Name), body)
	switch {
	case res.status == http.StatusOK:
		http.Redirect(w, r, appHref(a.Name)+"?notice="+noticePolicy, http.StatusSeeOther)
		return
	case res.status != http.StatusBadRequest && res.status != http.StatusConflict:
		u.fail(w, r, s, res.status, "The change was refused", res.apiError().Message)
		return
	}
	e := res.apiError()
	switch m := sourceField.FindStringSubmatch(e.Field); {
	case m != nil:
		i, _ := strconv.Atoi(m[1])
		if i < len(f.Targets) {
			f.Targets[i].Error = e.Message
		} else {
			f.Error = e.Message
		}
	case strings.HasPrefix(e.Field, "spec.syncPolicy"):
		f.AutomatedError = e.Message
	default:
		f.Error = e.Message
	}
	u.renderApp(w, r, s, res.status, v, "")
}

// deleteApp deletes the app once the user typed its name; cascade=delete
// deletes its objects with it, orphan leaves them. The name is checked
// here, not only by the browser.
func (u *UI) deleteApp(w http.ResponseWriter, r *http.Request) {
	s, v := u.appForm(w, r)
	if v == nil {
		return
	}
	a := v.App
	d := &v.Delete
	d.Confirm = r.PostForm.Get("confirm")
	cascade := r.PostForm.Get("cascade")
	d.Orphan = cascade == "orphan"
	switch {
	case cascade != "delete" && cascade != "orphan":
		d.Error = "Choose whether to delete the application's objects or leave them."
	case d.Confirm != a.Name:
		d.Error = "Type the application's name, " + a.Name + ", to confirm; nothing was deleted."
	}
	if d.Error != "" {
		u.renderApp(w, r, s, http.StatusBadRequest, v, "")
		return
	}
	res := u.call(r, s.token, http.MethodDelete, "/api/v1/applications/"+url.PathEscape(a.Name)+"?cascade="+strconv.FormatBool(!d.Orphan), nil)
	if res.status != http.StatusNoContent {
		u.fail(w, r, s, res.status, "The delete was refused", res.apiError().Message)
		return
	}
	notice := noticeDeleted
	if d.Orphan {
		notice = noticeDeletedOrphan
	}
	http.Redirect(w, r, "/applications?notice="+notice, http.StatusSeeOther)
}
