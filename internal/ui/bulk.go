package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"soll.dev/internal/apitypes"
)

// maxBulkFormBytes bounds the bulk form: a page of names at most.
const maxBulkFormBytes = 512 << 10

// bulkParallel is how many of a bulk action's requests run at once.
const bulkParallel = 8

// bulkActions are the actions of the applications page's selection: the
// API's action of each app, and how the outcome is worded.
var bulkActions = map[string]struct{ suffix, verb string }{
	"sync":         {"/sync", "Sync"},
	"refresh":      {"/refresh", "Refresh"},
	"hard-refresh": {"/refresh?hard=true", "Hard refresh"},
}

// bulkResult is the outcome of a bulk action: the apps it was requested
// for and those the API refused, with its reason.
type bulkResult struct {
	Verb      string
	Requested []string
	Refused   []refusal
	Return    string
}

type refusal struct {
	Name, Message string
	status        int
}

func (b *bulkResult) message() string {
	msg := fmt.Sprintf("%s requested for %d of %d selected applications.", b.Verb, len(b.Requested), len(b.Requested)+len(b.Refused))
	if len(b.Refused) > 0 {
		parts := make([]string, 0, len(b.Refused))
		for _, f := range b.Refused {
			parts = append(parts, f.Name+": "+f.Message)
		}
		msg += " Refused: " + strings.Join(parts, "; ")
	}
	return msg
}

// bulkApps requests the form's action (sync, refresh, hard refresh) of
// each selected app through the API, with the user's session: the API
// decides for each app whether the user may, and audits each.
func (u *UI) bulkApps(w http.ResponseWriter, r *http.Request) {
	s := u.checkFormOf(w, r, maxBulkFormBytes)
	if s == nil {
		return
	}
	act, ok := bulkActions[r.PostForm.Get("action")]
	if !ok {
		u.fail(w, r, s, http.StatusBadRequest, "Bad request", fmt.Sprintf("The form asks for action %q; the selection can be synced (sync), refreshed (refresh) or hard refreshed (hard-refresh).", r.PostForm.Get("action")))
		return
	}
	names := slices.Compact(slices.Sorted(slices.Values(r.PostForm["app"])))
	names = slices.DeleteFunc(names, func(n string) bool { return n == "" })
	switch {
	case len(names) == 0:
		u.fail(w, r, s, http.StatusBadRequest, "Nothing selected", "Select the applications first: tick their boxes in the list, then choose the action.")
		return
	case len(names) > apitypes.MaxLimit:
		u.fail(w, r, s, http.StatusBadRequest, "Too many applications", fmt.Sprintf("%d applications are selected; an action takes at most %d at a time (a page of the list).", len(names), apitypes.MaxLimit))
		return
	}
	res := bulkResult{Verb: act.verb, Return: localPath(r.PostForm.Get("return"))}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, bulkParallel)
	)
	for _, name := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var body []byte
			if act.suffix == "/sync" {
				body = []byte("{}")
			}
			ans := u.call(r, s.token, http.MethodPost, "/api/v1/applications/"+url.PathEscape(name)+act.suffix, body)
			mu.Lock()
			defer mu.Unlock()
			if ans.status == http.StatusAccepted || ans.status == http.StatusOK {
				res.Requested = append(res.Requested, name)
			} else {
				res.Refused = append(res.Refused, refusal{Name: name, Message: ans.apiError().Message, status: ans.status})
			}
		}()
	}
	wg.Wait()
	slices.Sort(res.Requested)
	slices.SortFunc(res.Refused, func(a, b refusal) int { return strings.Compare(a.Name, b.Name) })
	status := http.StatusOK
	if len(res.Requested) == 0 {
		status = res.Refused[0].status
	}
	if wantsJSON(r) {
		key := "message"
		if len(res.Refused) > 0 {
			key = "error"
		}
		writeJSON(w, status, map[string]string{key: res.message()})
		return
	}
	u.render(w, status, pageBulk, layout{Title: act.verb + " of the selection", User: s.p.Subject, LogoutToken: s.formToken,
		Crumbs: []crumb{{Label: "Applications", Href: "/applications"}, {Label: act.verb + " of the selection"}}, Page: &res})
}
