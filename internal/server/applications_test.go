package server

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

func TestApplicationCRUD(t *testing.T) {
	h := newHarness(t)
	var app sollv1.Application
	h.must(http.MethodPost, "/api/v1/applications/guestbook", appBody("guestbook", "team-a", "guestbook", map[string]string{"tier": "web"}), http.StatusCreated, &app)
	if app.Namespace != h.ns || app.Spec.Source.Path != "guestbook" || !slices.Contains(app.Finalizers, sollv1.ResourcesFinalizer) || app.Kind != "Application" {
		t.Fatalf("created app is not what was sent: %+v", app)
	}
	status, b := h.do(http.MethodPost, "/api/v1/applications", "admin-token", appBody("guestbook", "team-a", "guestbook", nil))
	h.wantError(status, b, http.StatusConflict, "AlreadyExists", "")

	var got sollv1.Application
	h.must(http.MethodGet, "/api/v1/applications/guestbook", nil, http.StatusOK, &got)
	if got.UID != app.UID {
		t.Fatalf("get returned another app: %+v", got)
	}

	body := appBody("guestbook", "team-a", "guestbook", map[string]string{"tier": "frontend"})
	body["spec"].(map[string]any)["source"].(map[string]any)["path"] = "guestbook/v2"
	h.must(http.MethodPut, "/api/v1/applications/guestbook", body, http.StatusOK, &got)
	if got.Spec.Source.Path != "guestbook/v2" || got.Labels["tier"] != "frontend" {
		t.Fatalf("put did not replace the spec and labels: %+v", got)
	}
	stale := appBody("guestbook", "team-a", "guestbook", nil)
	stale["metadata"].(map[string]any)["resourceVersion"] = app.ResourceVersion
	status, b = h.do(http.MethodPut, "/api/v1/applications/guestbook", "admin-token", stale)
	h.wantError(status, b, http.StatusConflict, "Conflict", "")

	h.must(http.MethodPatch, "/api/v1/applications/guestbook", map[string]any{"metadata": map[string]any{"labels": map[string]any{"tier": nil, "team": "a"}}, "spec": map[string]any{"suspend": true}}, http.StatusOK, &got)
	if !cmp.Equal(got.Labels, map[string]string{"team": "a"}) || !got.Spec.Suspend || got.Spec.Source.Path != "guestbook/v2" {
		t.Fatalf("merge patch result: labels %v suspend %v source %+v", got.Labels, got.Spec.Suspend, got.Spec.Source)
	}
	status, b = h.do(http.MethodPatch, "/api/v1/applications/guestbook", "admin-token", map[string]any{"status": map[string]any{}})
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "status")

	// Deleting without cascade removes the finalizer, so the app goes at
	// once even without a controller.
	status, b = h.do(http.MethodDelete, "/api/v1/applications/guestbook?cascade=false", "admin-token", nil)
	if status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", status, b)
	}
	status, b = h.do(http.MethodGet, "/api/v1/applications/guestbook", "admin-token", nil)
	h.wantError(status, b, http.StatusNotFound, "NotFound", "")

	status, b = h.do(http.MethodDelete, "/api/v1/applications/guestbook", "admin-token", nil)
	h.wantError(status, b, http.StatusNotFound, "NotFound", "")
}

// TestProjectRulesOnWrite: the API refuses to create or change an app so
// that it breaks its Project's rules, naming the field, and changes
// nothing.
func TestProjectRulesOnWrite(t *testing.T) {
	h := newHarness(t)
	locked := &sollv1.Project{ObjectMeta: objectMeta("locked", h.ns), Spec: sollv1.ProjectSpec{
		SourceRepos:  []string{"https://git.example.com/*"},
		Destinations: []sollv1.ProjectDestination{{Server: "*", Namespace: "locked-*"}},
	}}
	if err := h.env.Client.Create(context.Background(), locked); err != nil {
		t.Fatal(err)
	}
	h.eventually(10*time.Second, "the project in the cache", func() bool {
		status, _ := h.do(http.MethodGet, "/api/v1/projects/locked", "admin-token", nil)
		return status == http.StatusOK
	})
	status, b := h.do(http.MethodPost, "/api/v1/applications/out", "admin-token", appBody("out", "locked", "elsewhere", nil))
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "spec.destination")
	status, b = h.do(http.MethodPost, "/api/v1/applications/ghost", "admin-token", appBody("ghost", "no-such-project", "ns", nil))
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "spec.project")
	// soll's own namespace needs a destination naming it exactly; the
	// harness's Projects only have "*".
	status, b = h.do(http.MethodPost, "/api/v1/applications/into-soll", "admin-token", appBody("into-soll", "team-a", h.ns, nil))
	if e := h.wantError(status, b, http.StatusBadRequest, "Invalid", "spec.destination"); !strings.Contains(e.Message, "soll's own namespace") {
		t.Errorf("destination in soll's namespace: message %q does not say why", e.Message)
	}

	h.must(http.MethodPost, "/api/v1/applications/in", appBody("in", "locked", "locked-web", nil), http.StatusCreated, nil)
	status, b = h.do(http.MethodPatch, "/api/v1/applications/in", "admin-token", map[string]any{"spec": map[string]any{"destination": map[string]any{"namespace": "kube-system"}}})
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "spec.destination")
	var got sollv1.Application
	h.must(http.MethodGet, "/api/v1/applications/in", nil, http.StatusOK, &got)
	if got.Spec.Destination.Namespace != "locked-web" {
		t.Errorf("a refused patch changed the app: destination %+v", got.Spec.Destination)
	}
}

func TestValidationErrorsNameTheField(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name  string
		body  any
		field string
	}{
		{"API server validation", appBody("bad", "default", "Not_A_Namespace", nil), "spec.destination.namespace"},
		{"unknown field", map[string]any{"metadata": map[string]any{"name": "bad"}, "spek": map[string]any{}}, "spek"},
		{"name differs from the URL", appBody("other", "default", "ns", nil), "metadata.name"},
		{"operation in the object", map[string]any{"metadata": map[string]any{"name": "bad"}, "operation": map[string]any{"sync": map[string]any{}}}, "operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.in(t)
			status, b := h.do(http.MethodPost, "/api/v1/applications/bad", "admin-token", tt.body)
			h.wantError(status, b, http.StatusBadRequest, "Invalid", tt.field)
		})
	}
	status, b := h.do(http.MethodPost, "/api/v1/applications/bad", "admin-token", []byte("{not json"))
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "")
}

func TestRBAC(t *testing.T) {
	h := newHarness(t)
	h.createApp("a-one", "team-a", "a", nil)
	h.createApp("a-two", "team-a", "a", nil)
	h.createApp("b-one", "team-b", "b", nil)
	h.eventually(10*time.Second, "the cache to hold the apps", func() bool {
		_, l := h.listNames("admin-token", "")
		return l.Total == 3
	})

	names, l := h.listNames("alice-token", "")
	if !cmp.Equal(names, []string{"a-one", "a-two"}) || l.Total != 2 {
		t.Errorf("alice lists %v (total %d), want only team-a's apps", names, l.Total)
	}
	// team-b's apps do not exist for alice.
	for _, tt := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/applications/b-one"},
		{http.MethodPost, "/api/v1/applications/b-one/sync"},
	} {
		status, b := h.do(tt.method, tt.path, "alice-token", nil)
		if e := h.wantError(status, b, http.StatusNotFound, "NotFound", ""); e.Message != "application b-one not found" {
			t.Errorf("%s %s: message %q", tt.method, tt.path, e.Message)
		}
	}
	for _, tt := range []struct{ method, path, action string }{
		{http.MethodDelete, "/api/v1/applications/a-one", "delete"},
		{http.MethodPut, "/api/v1/applications/a-one", "update"},
		{http.MethodPost, "/api/v1/applications/a-three", "create"},
	} {
		var body any
		if tt.method == http.MethodPut || tt.method == http.MethodPost && !strings.HasSuffix(tt.path, "/sync") {
			body = appBody(strings.TrimPrefix(tt.path, "/api/v1/applications/"), "team-a", "a", nil)
		}
		status, b := h.do(tt.method, tt.path, "alice-token", body)
		e := h.wantError(status, b, http.StatusForbidden, "Forbidden", "")
		if !strings.Contains(e.Message, tt.action+" applications team-") {
			t.Errorf("%s %s: message %q does not name action, resource and object", tt.method, tt.path, e.Message)
		}
	}
	// alice may sync her own apps.
	if status, b := h.do(http.MethodPost, "/api/v1/applications/a-one/sync", "alice-token", nil); status != http.StatusAccepted {
		t.Errorf("alice syncing a-one: %d %s", status, b)
	}

	status, b := h.do(http.MethodGet, "/api/v1/applications", "", nil)
	h.wantError(status, b, http.StatusUnauthorized, "Unauthorized", "")
	status, b = h.do(http.MethodGet, "/api/v1/applications", "forged", nil)
	h.wantError(status, b, http.StatusUnauthorized, "Unauthorized", "")
	if status, b := h.do(http.MethodGet, "/api/v1/version", "", nil); status != http.StatusOK || !strings.Contains(string(b), `"server":"test"`) {
		t.Errorf("version without credentials: %d %s", status, b)
	}
	var sess apitypes.Session
	h.must(http.MethodGet, "/api/v1/session", nil, http.StatusOK, &sess)
	if sess.Subject != "admin" {
		t.Errorf("session: %+v", sess)
	}
	if strings.Contains(h.log.String(), "alice-token") || strings.Contains(h.log.String(), "forged") {
		t.Errorf("the access log holds a token:\n%s", h.log.String())
	}
	if !strings.Contains(h.log.String(), `"subject":"alice"`) {
		t.Errorf("the access log does not name the subject:\n%s", h.log.String())
	}
}

func TestOperations(t *testing.T) {
	h := newHarness(t)
	h.createApp("web", "team-a", "web", nil)

	var app sollv1.Application
	h.must(http.MethodPost, "/api/v1/applications/web/sync", map[string]any{"prune": true, "resources": []map[string]any{{"group": "apps", "kind": "Deployment", "name": "web"}}}, http.StatusAccepted, &app)
	want := &sollv1.Operation{
		Sync:        &sollv1.SyncOperation{Prune: true, Resources: []sollv1.SyncOperationResource{{Group: "apps", Kind: "Deployment", Name: "web"}}},
		InitiatedBy: &sollv1.OperationInitiator{Username: "admin"},
	}
	if diff := cmp.Diff(want, app.Operation); diff != "" {
		t.Fatalf("operation (-want +got):\n%s", diff)
	}
	status, b := h.do(http.MethodPost, "/api/v1/applications/web/sync", "admin-token", nil)
	h.wantError(status, b, http.StatusConflict, "Conflict", "")

	// Terminate withdraws a requested operation that has not started.
	h.must(http.MethodPost, "/api/v1/applications/web/terminate", nil, http.StatusAccepted, &app)
	if app.Operation != nil {
		t.Fatalf("terminate left the requested operation: %+v", app.Operation)
	}
	// A running operation blocks a sync, and terminate marks it.
	h.setStatus("web", func(s *sollv1.ApplicationStatus) {
		s.OperationState = &sollv1.OperationState{Phase: sollv1.OperationRunning, StartedAt: metav1.Now(), Operation: *want}
		s.History = []sollv1.RevisionHistory{{ID: 3, Revisions: []string{"abc"}, DeployedAt: metav1.Now()}}
	})
	status, b = h.do(http.MethodPost, "/api/v1/applications/web/sync", "admin-token", nil)
	if e := h.wantError(status, b, http.StatusConflict, "Conflict", ""); !strings.Contains(e.Message, "running") {
		t.Errorf("message %q does not say an operation runs", e.Message)
	}
	h.must(http.MethodPost, "/api/v1/applications/web/terminate", nil, http.StatusAccepted, &app)
	if app.Status.OperationState.Phase != sollv1.OperationTerminating {
		t.Fatalf("terminate: phase %s", app.Status.OperationState.Phase)
	}
	h.setStatus("web", func(s *sollv1.ApplicationStatus) { s.OperationState.Phase = sollv1.OperationFailed })
	status, b = h.do(http.MethodPost, "/api/v1/applications/web/terminate", "admin-token", nil)
	h.wantError(status, b, http.StatusConflict, "Conflict", "")

	status, b = h.do(http.MethodPost, "/api/v1/applications/web/rollback", "admin-token", map[string]any{"id": 9})
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "id")
	h.must(http.MethodPost, "/api/v1/applications/web/rollback", map[string]any{"id": 3}, http.StatusAccepted, &app)
	if app.Operation == nil || app.Operation.Rollback == nil || app.Operation.Rollback.ID != 3 {
		t.Fatalf("rollback operation: %+v", app.Operation)
	}

	h.must(http.MethodPost, "/api/v1/applications/web/refresh?hard=true", nil, http.StatusAccepted, &app)
	if app.Annotations[sollv1.RefreshAnnotation] != "hard" {
		t.Fatalf("refresh annotation: %v", app.Annotations)
	}

	pinned := &sollv1.Application{}
	ctx := context.Background()
	if err := h.env.Client.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: "web"}, pinned); err != nil {
		t.Fatal(err)
	}
	pinned.Spec.Pin = &sollv1.RevisionPin{Revisions: []string{"abc"}}
	if err := h.env.Client.Update(ctx, pinned); err != nil {
		t.Fatal(err)
	}
	h.must(http.MethodPost, "/api/v1/applications/web/unpin", nil, http.StatusOK, &app)
	if app.Spec.Pin != nil {
		t.Fatalf("unpin left %+v", app.Spec.Pin)
	}

	var hist struct{ Items []sollv1.RevisionHistory }
	h.must(http.MethodGet, "/api/v1/applications/web/history", nil, http.StatusOK, &hist)
	if len(hist.Items) != 1 || hist.Items[0].ID != 3 {
		t.Errorf("history: %+v", hist)
	}
	status, b = h.do(http.MethodGet, "/api/v1/applications/web/manifests", "admin-token", nil)
	h.wantError(status, b, http.StatusNotImplemented, "NotImplemented", "")
}

func TestBodyLimit(t *testing.T) {
	h := newHarness(t)
	big := appBody("big", "default", "big", nil)
	big["metadata"].(map[string]any)["annotations"] = map[string]any{"x": strings.Repeat("x", 2<<20)}
	status, b := h.do(http.MethodPost, "/api/v1/applications/big", "admin-token", big)
	h.wantError(status, b, http.StatusRequestEntityTooLarge, "TooLarge", "")
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	h := newHarness(t)
	status, b := h.do(http.MethodGet, "/api/openapi.json", "", nil)
	if status != http.StatusOK {
		t.Fatalf("openapi: %d %s", status, b)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi version %q", doc.OpenAPI)
	}
	routed, beside := map[string]bool{}, map[string]bool{}
	for _, rt := range h.srv.routes {
		if rt.handler == nil {
			beside[rt.method+" "+rt.path] = true
		} else {
			routed[rt.method+" "+rt.path] = true
		}
		if doc.Paths[rt.path][strings.ToLower(rt.method)] == nil {
			t.Errorf("route %s %s is not in the OpenAPI description", rt.method, rt.path)
		}
	}
	for p, ops := range doc.Paths {
		for m := range ops {
			// Ask the mux itself, so that a documented path that no
			// pattern serves is caught too. Routes served beside the API
			// (login, SSO, webhooks) are checked by the serve package.
			op := strings.ToUpper(m) + " " + p
			concrete := strings.NewReplacer("{name}", "x", "{role}", "r", "{id}", "i").Replace(p)
			req, _ := http.NewRequest(strings.ToUpper(m), h.url+concrete, nil)
			_, pattern := h.srv.mux.Handler(req)
			if beside[op] {
				continue
			}
			if pattern != op || !routed[pattern] {
				t.Errorf("documented %s is served by %q", op, pattern)
			}
		}
	}
	ids := map[string]bool{}
	for p, ops := range doc.Paths {
		for m, op := range ops {
			id, _ := op["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s %s: operationId %q is empty or taken", m, p, id)
			}
			ids[id] = true
		}
	}
	if len(doc.Paths) == 0 || len(beside) != 5 {
		t.Errorf("%d paths, %d routes served beside the API; want those of login, logout, SSO and webhooks", len(doc.Paths), len(beside))
	}
}

// TestWritesCannotLeaveTheProject: a user allowed only in project team-a
// cannot move an app of team-a out of it by removing or emptying
// spec.project (which means the Project default), nor create or replace
// an app without a project: the API authorizes the app as it will be
// stored, and leaves the app unchanged.
func TestWritesCannotLeaveTheProject(t *testing.T) {
	h := newHarness(t)
	h.createApp("web", "team-a", "team-a-web", nil)
	stored := func() sollv1.Application {
		t.Helper()
		var app sollv1.Application
		if err := h.env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: "web"}, &app); err != nil {
			t.Fatal(err)
		}
		return app
	}
	before := stored()
	for _, tt := range []struct {
		name   string
		method string
		path   string
		body   any
	}{
		{"patch project null", http.MethodPatch, "/api/v1/applications/web", map[string]any{"spec": map[string]any{"project": nil, "destination": map[string]any{"namespace": "kube-system"}}}},
		{"patch project default", http.MethodPatch, "/api/v1/applications/web", map[string]any{"spec": map[string]any{"project": "default"}}},
		{"replace without project", http.MethodPut, "/api/v1/applications/web", appBody("web", "", "team-a-web", nil)},
		{"create without project", http.MethodPost, "/api/v1/applications/other", appBody("other", "", "team-a-web", nil)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := h.in(t)
			status, b := h.do(tt.method, tt.path, "erin-token", tt.body)
			e := h.wantError(status, b, http.StatusForbidden, "Forbidden", "")
			if !strings.Contains(e.Message, "applications default/") {
				t.Errorf("message %q does not name the project the app would be stored in", e.Message)
			}
		})
	}
	// An empty project is refused by the CRD's validation, before any
	// authorization.
	status, b := h.do(http.MethodPatch, "/api/v1/applications/web", "erin-token", map[string]any{"spec": map[string]any{"project": ""}})
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "spec.project")
	after := stored()
	if after.ResourceVersion != before.ResourceVersion || after.Spec.Project != "team-a" || after.Spec.Destination.Namespace != "team-a-web" {
		t.Errorf("refused writes changed the app: project %q, destination %+v", after.Spec.Project, after.Spec.Destination)
	}
	if err := h.env.Client.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: "other"}, &sollv1.Application{}); !apierrors.IsNotFound(err) {
		t.Errorf("a refused create made the app (get: %v)", err)
	}
	// Within team-a, erin's writes go through.
	var got sollv1.Application
	status, b = h.do(http.MethodPatch, "/api/v1/applications/web", "erin-token", map[string]any{"spec": map[string]any{"destination": map[string]any{"namespace": "team-a-api"}}})
	if status != http.StatusOK || !decodeInto(b, &got) || got.Spec.Project != "team-a" || got.Spec.Destination.Namespace != "team-a-api" {
		t.Errorf("patch within the project: %d %s", status, b)
	}
	// A patch conditional on a stale resourceVersion is still a 409.
	status, b = h.do(http.MethodPatch, "/api/v1/applications/web", "erin-token", map[string]any{"metadata": map[string]any{"resourceVersion": before.ResourceVersion}, "spec": map[string]any{"destination": map[string]any{"namespace": "team-a-db"}}})
	h.wantError(status, b, http.StatusConflict, "Conflict", "")
}
