package server

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	"soll.dev/internal/apitypes"
)

// auditPage lists the audit log as token with query.
func (h *harness) auditPage(token, query string) apitypes.AuditList {
	h.t.Helper()
	status, b := h.do(http.MethodGet, "/api/v1/audit"+query, token, nil)
	var l apitypes.AuditList
	if status != http.StatusOK || !decodeInto(b, &l) {
		h.t.Fatalf("audit%s: %d %s", query, status, b)
	}
	return l
}

func messages(l apitypes.AuditList) []string {
	var out []string
	for _, e := range l.Items {
		out = append(out, e.Message)
	}
	return out
}

// auditEvents lists the audit Events in the harness's namespace.
func (h *harness) auditEvents() []eventsv1.Event {
	h.t.Helper()
	l, err := h.env.Kube.EventsV1().Events(h.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return slices.DeleteFunc(l.Items, func(e eventsv1.Event) bool { return !strings.HasPrefix(e.Reason, "Audit") })
}

func TestAuditLog(t *testing.T) {
	h := newHarness(t)
	h.must(http.MethodPost, "/api/v1/applications", appBody("guestbook", "team-a", "guestbook", nil), http.StatusCreated, nil)
	h.must(http.MethodPost, "/api/v1/applications/guestbook/sync", nil, http.StatusAccepted, nil)
	status, _ := h.do(http.MethodDelete, "/api/v1/applications/guestbook", "alice-token", nil)
	if status != http.StatusForbidden {
		t.Fatalf("alice deletes: %d", status)
	}
	status, _ = h.do(http.MethodPost, "/api/v1/applications/guestbook/sync", "alice-token", nil)
	if status != http.StatusConflict {
		t.Fatalf("alice syncs while a sync is requested: %d", status)
	}
	h.must(http.MethodPost, "/api/v1/applications", appBody("secret-app", "team-b", "b", nil), http.StatusCreated, nil)
	status, _ = h.do(http.MethodPost, "/api/v1/applications/guestbook/sync", "", nil)
	if status != http.StatusUnauthorized {
		t.Fatalf("anonymous sync: %d", status)
	}

	want := []string{
		"admin created app secret-app: created",
		"alice tried to sync app guestbook: refused (Conflict)",
		"alice tried to delete app guestbook: refused (Forbidden)",
		"admin synced app guestbook: accepted",
		"admin created app guestbook: created",
	}
	all := h.auditPage("admin-token", "")
	if got := messages(all); !slices.Equal(got, want) {
		t.Fatalf("audit log, newest first:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	e := all.Items[3]
	if e.User != "admin" || e.Action != "Sync" || e.Resource != "applications" || e.Object != "guestbook" || e.Project != "team-a" ||
		e.Status != http.StatusAccepted || e.Method != http.MethodPost || e.Path != "/api/v1/applications/guestbook/sync" || e.Source != "api" || e.Time.IsZero() {
		t.Errorf("sync entry: %+v", e)
	}
	for _, tt := range []struct{ query, token string }{
		{"?user=alice", "admin-token"}, {"?app=guestbook", "admin-token"}, {"?project=team-b", "admin-token"},
		// alice sees what she may get: the apps of team-a.
		{"", "alice-token"},
	} {
		var wantHere []string
		for _, m := range want {
			switch {
			case tt.query == "?user=alice" && !strings.HasPrefix(m, "alice"),
				tt.query == "?app=guestbook" && !strings.Contains(m, "guestbook"),
				tt.query == "?project=team-b" && !strings.Contains(m, "secret-app"),
				tt.token == "alice-token" && strings.Contains(m, "secret-app"):
				continue
			}
			wantHere = append(wantHere, m)
		}
		if got := messages(h.auditPage(tt.token, tt.query)); !slices.Equal(got, wantHere) {
			t.Errorf("audit%s as %s: %q, want %q", tt.query, tt.token, got, wantHere)
		}
	}

	// Pages of one entry walk the same list.
	var paged []string
	for q := "?limit=1"; ; {
		page := h.auditPage("admin-token", q)
		if len(page.Items) != 1 {
			t.Fatalf("page %s: %d items", q, len(page.Items))
		}
		paged = append(paged, page.Items[0].Message)
		if page.Continue == "" {
			break
		}
		q = "?limit=1&continue=" + page.Continue
	}
	if !slices.Equal(paged, want) {
		t.Errorf("paged: %q", paged)
	}
	status, b := h.do(http.MethodGet, "/api/v1/audit?continue=garbage", "admin-token", nil)
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "continue")

	// The log has a line for each, the refused anonymous request too.
	lines := auditLines(t, h.log.String())
	if len(lines) != len(want)+1 || lines[len(lines)-1]["user"] != "(unauthenticated)" || lines[len(lines)-1]["status"] != float64(http.StatusUnauthorized) {
		t.Errorf("audit log lines: %v", lines)
	}

	// Events on the apps, merged by the recorder as usual.
	h.eventually(10*time.Second, "the audit Events", func() bool { return len(h.auditEvents()) == len(want) })
	for _, ev := range h.auditEvents() {
		if ev.Note == "admin synced app guestbook: accepted" &&
			(ev.Reason != "AuditSync" || ev.Type != corev1.EventTypeNormal || ev.Regarding.Kind != "Application" || ev.Regarding.Name != "guestbook" || ev.Regarding.UID == "") {
			t.Errorf("sync Event: %+v", ev)
		}
		if strings.HasPrefix(ev.Note, "alice tried to delete") && (ev.Reason != "AuditDelete" || ev.Type != corev1.EventTypeWarning) {
			t.Errorf("refused delete Event: %+v", ev)
		}
	}

	// The entries outlive the server.
	h.serve(h.opts)
	if got := messages(h.auditPage("admin-token", "")); !slices.Equal(got, want) {
		t.Errorf("after a restart: %q", got)
	}
}

// auditLines returns the audit logger's lines of a JSON log.
func auditLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(log) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["logger"] == "audit" && m["msg"] == "audit" {
			out = append(out, m)
		}
	}
	return out
}

func TestAuditLogIsBounded(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.AuditRetain = 3 })
	h.createApp("web", "team-a", "web", nil)
	for i := range 5 {
		h.must(http.MethodPatch, "/api/v1/applications/web", map[string]any{"metadata": map[string]any{"labels": map[string]any{"n": string(rune('a' + i))}}}, http.StatusOK, nil)
	}
	if got := h.auditPage("admin-token", ""); len(got.Items) != 3 || got.Continue != "" {
		t.Errorf("kept %d entries: %q", len(got.Items), messages(got))
	}
}

// TestAuditLogShowsTheControllersOperations: syncs nobody requested
// through the API are in the log, from the controller's Events.
func TestAuditLogShowsTheControllersOperations(t *testing.T) {
	h := newHarness(t)
	app := h.createApp("web", "team-a", "web", nil)
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: h.env.Kube.EventsV1()})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := broadcaster.StartRecordingToSinkWithContext(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broadcaster.Shutdown)
	controllerEvents := broadcaster.NewRecorder(h.env.Scheme, "soll-controller")
	controllerEvents.Eventf(app, nil, corev1.EventTypeNormal, "OperationStarted", "Sync", "sync to 1a2b3c4d started by automated sync")
	controllerEvents.Eventf(app, nil, corev1.EventTypeNormal, "RenderError", "Compare", "not an operation")

	var got apitypes.AuditList
	h.eventually(10*time.Second, "the controller's entry", func() bool {
		got = h.auditPage("alice-token", "?user=soll-controller")
		return len(got.Items) > 0
	})
	e := got.Items[0]
	if len(got.Items) != 1 || e.Source != "controller" || e.Action != "OperationStarted" || e.Object != "web" || e.Project != "team-a" ||
		e.Message != "app web: sync to 1a2b3c4d started by automated sync" {
		t.Errorf("controller entries: %+v", got.Items)
	}
	if l := h.auditPage("alice-token", "?app=web&user=soll-controller"); len(l.Items) != 1 {
		t.Errorf("filtered by app: %+v", l.Items)
	}
}

func TestAuditMessage(t *testing.T) {
	tests := []struct {
		spec    *auditSpec
		user    string
		note    auditNote
		status  int
		code    string
		want    string
		wantRes string
	}{
		{auditSync, "admin", auditNote{object: "guestbook"}, http.StatusAccepted, "", "admin synced app guestbook: accepted", "accepted"},
		{auditDeleteApp, "alice", auditNote{object: "web"}, http.StatusForbidden, "Forbidden", "alice tried to delete app web: refused (Forbidden)", "refused (Forbidden)"},
		{auditCreateProjectToken, "admin", auditNote{object: "ops", detail: " (role ci, token t1)"}, http.StatusCreated, "", "admin created a token for project ops (role ci, token t1): created", "created"},
		{auditTestRepository, "admin", auditNote{object: "https://git.example.com/a.git", outcome: "failed"}, http.StatusOK, "", "admin tested repository https://git.example.com/a.git: failed", "failed"},
		{auditLogin, "sso:7f3a", auditNote{object: "sso:7f3a"}, http.StatusFound, "", "sso:7f3a logged in: done", "done"},
		{auditLogin, "mallory", auditNote{object: "mallory"}, http.StatusUnauthorized, "Unauthorized", "mallory tried to log in: refused (Unauthorized)", "refused (Unauthorized)"},
		{auditCreateApp, "admin", auditNote{}, http.StatusInternalServerError, "Internal", "admin tried to create app: failed (Internal)", "failed (Internal)"},
	}
	for _, tt := range tests {
		res := auditResult(tt.status, tt.code, tt.note.outcome)
		if got := auditMessage(tt.spec, tt.user, &tt.note, tt.status, res); got != tt.want || res != tt.wantRes {
			t.Errorf("got %q (%s), want %q (%s)", got, res, tt.want, tt.wantRes)
		}
	}
}
