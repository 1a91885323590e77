package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
	"soll.dev/internal/kube"
)

// The audit log records every change made through the API, and every
// login and logout, three ways: a line on the audit logger (always, also
// for requests refused before the caller was known), a Kubernetes Event on
// the Application or Project concerned, and an entry in a bounded ring
// kept in the ConfigMap soll-audit that GET /api/v1/audit reads back with
// the controller's own operation Events. Entries say who, what, when and
// the result; never a request body, so never a password, token or key.

// auditSpec names the change a route makes.
type auditSpec struct {
	// action is the entry's action and, after "Audit", the Event reason:
	// Sync makes AuditSync.
	action string
	// verb and past say it in messages: "admin synced app guestbook:
	// accepted", "alice tried to sync app guestbook: refused (Forbidden)".
	verb, past string
	// kind is the kind of object in messages: app, project, account,
	// repository, or session for logins and logouts.
	kind string
}

const (
	kindApp        = "app"
	kindProject    = "project"
	kindAccount    = "account"
	kindRepository = "repository"
	kindCluster    = "cluster"
	kindSession    = "session"
)

// kindResource is the RBAC resource of each kind: who may get the object
// may read its audit entries.
var kindResource = map[string]string{
	kindApp: resApplications, kindProject: resProjects, kindAccount: resAccounts,
	kindRepository: resRepositories, kindCluster: resClusters, kindSession: resAccounts,
}

var (
	auditCreateApp = &auditSpec{"Create", "create", "created", kindApp}
	auditUpdateApp = &auditSpec{"Update", "update", "updated", kindApp}
	auditPatchApp  = &auditSpec{"Patch", "patch", "patched", kindApp}
	auditDeleteApp = &auditSpec{"Delete", "delete", "deleted", kindApp}
	auditSync      = &auditSpec{"Sync", "sync", "synced", kindApp}
	auditRollback  = &auditSpec{"Rollback", "roll back", "rolled back", kindApp}
	auditTerminate = &auditSpec{"Terminate", "terminate the operation of", "terminated the operation of", kindApp}
	auditRefresh   = &auditSpec{"Refresh", "refresh", "refreshed", kindApp}
	auditUnpin     = &auditSpec{"Unpin", "unpin", "unpinned", kindApp}

	auditCreateProject      = &auditSpec{"Create", "create", "created", kindProject}
	auditUpdateProject      = &auditSpec{"Update", "update", "updated", kindProject}
	auditPatchProject       = &auditSpec{"Patch", "patch", "patched", kindProject}
	auditDeleteProject      = &auditSpec{"Delete", "delete", "deleted", kindProject}
	auditCreateProjectToken = &auditSpec{"CreateToken", "create a token for", "created a token for", kindProject}
	auditDeleteProjectToken = &auditSpec{"DeleteToken", "revoke a token of", "revoked a token of", kindProject}

	auditCreateAccount      = &auditSpec{"Create", "create", "created", kindAccount}
	auditUpdateAccount      = &auditSpec{"Update", "update", "updated", kindAccount}
	auditDeleteAccount      = &auditSpec{"Delete", "delete", "deleted", kindAccount}
	auditSetPassword        = &auditSpec{"SetPassword", "change the password of", "changed the password of", kindAccount}
	auditCreateAccountToken = &auditSpec{"CreateToken", "create a token for", "created a token for", kindAccount}
	auditDeleteAccountToken = &auditSpec{"DeleteToken", "revoke a token of", "revoked a token of", kindAccount}

	auditCreateRepository = &auditSpec{"Create", "save the credentials of", "saved the credentials of", kindRepository}
	auditDeleteRepository = &auditSpec{"Delete", "delete the credentials of", "deleted the credentials of", kindRepository}
	auditTestRepository   = &auditSpec{"Test", "test", "tested", kindRepository}

	auditCreateCluster         = &auditSpec{"Create", "register", "registered", kindCluster}
	auditUpdateCluster         = &auditSpec{"Update", "update", "updated", kindCluster}
	auditSetClusterCredentials = &auditSpec{"SetCredentials", "replace the credentials of", "replaced the credentials of", kindCluster}
	auditDeleteCluster         = &auditSpec{"Delete", "delete", "deleted", kindCluster}

	auditLogin  = &auditSpec{"Login", "log in", "logged in", kindSession}
	auditLogout = &auditSpec{"Logout", "log out", "logged out", kindSession}
)

// auditNote is what a handler learns of the object a request acts on,
// for its audit entry: the wrapper puts one in the request's context.
type auditNote struct {
	object, project string
	uid             types.UID
	// detail is added to the message after the object: " (token ci-1)".
	detail string
	// outcome replaces the result word of a successful request.
	outcome string
}

type auditNoteKey struct{}

func withAuditNote(ctx context.Context, n *auditNote) context.Context {
	return context.WithValue(ctx, auditNoteKey{}, n)
}

// noteOf returns the request's audit note; a request that is not audited
// gets a throwaway one, so handlers need not check.
func noteOf(ctx context.Context) *auditNote {
	if n, ok := ctx.Value(auditNoteKey{}).(*auditNote); ok {
		return n
	}
	return &auditNote{}
}

// noteObject records the object a request acts on.
func noteObject(ctx context.Context, object, project string, uid types.UID) {
	n := noteOf(ctx)
	n.object, n.project, n.uid = object, project, uid
}

// auditResult says a status in words.
func auditResult(status int, code, outcome string) string {
	switch {
	case status < 400 && outcome != "":
		return outcome
	case status == http.StatusAccepted:
		return "accepted"
	case status == http.StatusCreated:
		return "created"
	case status < 400: // 2xx, and the redirect that ends an SSO login
		return "done"
	case status < 500:
		return "refused (" + code + ")"
	}
	return "failed (" + code + ")"
}

// auditMessage says an entry in a sentence.
func auditMessage(spec *auditSpec, user string, n *auditNote, status int, result string) string {
	what := ""
	if spec.kind != kindSession {
		what = " " + spec.kind
		if n.object != "" {
			what += " " + n.object
		}
	}
	if status < 400 {
		return fmt.Sprintf("%s %s%s%s: %s", user, spec.past, what, n.detail, result)
	}
	return fmt.Sprintf("%s tried to %s%s%s: %s", user, spec.verb, what, n.detail, result)
}

// audit records one audited request: p is nil when the caller was not
// authenticated, and such a request is only logged, so that nobody can
// fill the ring or the Events anonymously.
func (s *Server) audit(r *http.Request, spec *auditSpec, p *Principal, user string, status int, code string) {
	n := noteOf(r.Context())
	now := time.Now().UTC()
	e := apitypes.AuditEntry{
		ID: auditID(now), Time: now, Source: "api", User: user, Action: spec.action,
		Method: r.Method, Path: r.URL.Path, Resource: kindResource[spec.kind], Object: n.object, Project: n.project,
		Status: status, Result: auditResult(status, code, n.outcome),
	}
	if p != nil {
		e.TokenID = p.TokenID
	}
	e.Message = auditMessage(spec, user, n, status, e.Result)
	level := slog.LevelInfo
	if status >= 400 {
		level = slog.LevelWarn
	}
	s.auditLog.LogAttrs(r.Context(), level, "audit",
		slog.String("user", e.User), slog.String("tokenID", e.TokenID), slog.String("action", e.Action),
		slog.String("method", e.Method), slog.String("path", e.Path),
		slog.String("resource", e.Resource), slog.String("object", e.Object), slog.String("project", e.Project),
		slog.Int("status", e.Status), slog.String("result", e.Result), slog.String("message", e.Message),
		slog.String("remote", r.RemoteAddr))
	if p == nil {
		return
	}
	s.auditEvent(spec, n, e)
	// The entry is stored even when the client has gone: the change it
	// records happened.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	s.audits.add(ctx, e)
}

// auditEvent records e as an Event on the Application or Project it is
// about, when that exists (the request read or created it). The recorder sends Events asynchronously and merges repeated
// ones into a series, as the events API expects of its clients.
func (s *Server) auditEvent(spec *auditSpec, n *auditNote, e apitypes.AuditEntry) {
	if s.opts.Recorder == nil || n.uid == "" {
		return // no object to attach it to
	}
	var regarding runtime.Object
	meta := metav1.ObjectMeta{Name: n.object, Namespace: s.opts.Namespace, UID: n.uid}
	switch spec.kind {
	case kindApp:
		regarding = &sollv1.Application{TypeMeta: metav1.TypeMeta{APIVersion: sollv1.GroupVersion.String(), Kind: "Application"}, ObjectMeta: meta}
	case kindProject:
		regarding = &sollv1.Project{TypeMeta: metav1.TypeMeta{APIVersion: sollv1.GroupVersion.String(), Kind: "Project"}, ObjectMeta: meta}
	default:
		return
	}
	typ := corev1.EventTypeNormal
	if e.Status >= 400 {
		typ = corev1.EventTypeWarning
	}
	s.opts.Recorder.Eventf(regarding, nil, typ, "Audit"+spec.action, spec.action, "%s", kube.EventNote(e.Message))
}

// auditID returns an entry id that sorts by time.
func auditID(t time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return strconv.FormatInt(t.UnixNano(), 10) + "-" + hex.EncodeToString(b)
}

// AuditSession records a login (login true) or logout by user through
// soll's session endpoints, which are served beside the API: status is the
// answer's, code its error code when it failed.
func (s *Server) AuditSession(r *http.Request, login bool, user, tokenID string, status int, code string) {
	spec := auditLogout
	if login {
		spec = auditLogin
	}
	ctx := withAuditNote(r.Context(), &auditNote{object: user})
	var p *Principal
	if user != "" {
		p = &Principal{Subject: user, TokenID: tokenID}
	} else {
		user = "(unknown)"
	}
	s.audit(r.WithContext(ctx), spec, p, user, status, code)
}
