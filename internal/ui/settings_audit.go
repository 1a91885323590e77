package ui

import (
	"net/http"
	"net/url"
	"strings"

	"soll.dev/internal/apitypes"
)

// auditParams are the audit page's filters, passed to GET /api/v1/audit
// as they are, with its page token.
var auditParams = []string{"user", "app", "project", "limit", "continue"}

// auditView is the audit log page: the filters, one page of entries and
// the links to the next and the first page.
type auditView struct {
	Current            string
	User, App, Project string
	Entries            []auditRow
	Filtered           bool
	Next, First        string
	// Error is the API's message when it refused the filters.
	Error string
}

type auditRow struct {
	apitypes.AuditEntry
	When string
}

func (u *UI) auditPage(w http.ResponseWriter, r *http.Request) {
	s := u.requireSession(w, r)
	if s == nil {
		return
	}
	q := r.URL.Query()
	api := url.Values{}
	for _, k := range auditParams {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			api.Set(k, v)
		}
	}
	v := &auditView{Current: "/settings/audit", User: api.Get("user"), App: api.Get("app"), Project: api.Get("project")}
	v.Filtered = v.User != "" || v.App != "" || v.Project != ""
	res := u.call(r, s.token, http.MethodGet, "/api/v1/audit?"+api.Encode(), nil)
	if res.status == http.StatusBadRequest {
		v.Error = res.apiError().Message
		u.renderSettings(w, s, res.status, pageAudit, "Audit log", "", v)
		return
	}
	var list apitypes.AuditList
	if res.status != http.StatusOK {
		u.renderError(w, r, s, res.status, "The audit log could not be read", res.apiError().Message)
		return
	}
	if err := res.decode(&list); err != nil {
		u.renderError(w, r, s, http.StatusInternalServerError, "The audit log could not be read", "The API's answer could not be read: "+err.Error())
		return
	}
	for _, e := range list.Items {
		v.Entries = append(v.Entries, auditRow{AuditEntry: e, When: e.Time.UTC().Format(timeLayout)})
	}
	page := func(cont string) string {
		p := url.Values{}
		for _, k := range []string{"user", "app", "project", "limit"} {
			if x := api.Get(k); x != "" {
				p.Set(k, x)
			}
		}
		if cont != "" {
			p.Set("continue", cont)
		}
		if len(p) == 0 {
			return "/settings/audit"
		}
		return "/settings/audit?" + p.Encode()
	}
	if list.Continue != "" {
		v.Next = page(list.Continue)
	}
	if api.Get("continue") != "" {
		v.First = page("")
	}
	u.renderSettings(w, s, http.StatusOK, pageAudit, "Audit log", "", v)
}
