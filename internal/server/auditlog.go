package server

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

// AuditConfigMap is the ConfigMap in soll's namespace that keeps the
// newest audit entries, as a JSON array under the key AuditKey, oldest
// first.
const (
	AuditConfigMap = "soll-audit"
	AuditKey       = "entries.json"
	// DefaultAuditRetain is the number of entries kept by default.
	DefaultAuditRetain = 1000
	// maxAuditBytes bounds the stored array well below the 1 MiB a
	// ConfigMap may hold, whatever the entries' sizes.
	maxAuditBytes = 512 << 10
)

// auditRing stores audit entries in the ConfigMap AuditConfigMap, keeping
// the newest retain of them. Requests that arrive while one writes queue
// their entries, and the next writer stores them all in one update, so a
// burst of changes costs few writes; replicas that write at once retry on
// conflicts.
type auditRing struct {
	c      client.Client
	reader client.Reader
	ns     string
	retain int
	log    *slog.Logger

	mu      sync.Mutex
	pending []apitypes.AuditEntry
	// writing serializes writers of this replica.
	writing sync.Mutex
}

// writeBackoff bounds the retries of conflicting writes (other replicas).
var writeBackoff = wait.Backoff{Steps: 8, Duration: 10 * time.Millisecond, Factor: 2, Jitter: 0.5}

// add stores e, with whatever other entries are waiting, before it
// returns; a failure is logged, never returned: the audit line is
// already written and the request itself succeeded or failed on its own.
func (a *auditRing) add(ctx context.Context, e apitypes.AuditEntry) {
	a.mu.Lock()
	a.pending = append(a.pending, e)
	a.mu.Unlock()
	a.writing.Lock()
	defer a.writing.Unlock()
	a.mu.Lock()
	batch := a.pending
	a.pending = nil
	a.mu.Unlock()
	if len(batch) == 0 {
		return // an earlier writer took e along
	}
	if err := a.write(ctx, batch); err != nil {
		a.log.Error("audit entries not stored", "configMap", AuditConfigMap, "entries", len(batch), "error", err.Error())
	}
}

func (a *auditRing) write(ctx context.Context, batch []apitypes.AuditEntry) error {
	return retry.OnError(writeBackoff, func(err error) bool {
		return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
	}, func() error {
		var cm corev1.ConfigMap
		err := a.reader.Get(ctx, client.ObjectKey{Namespace: a.ns, Name: AuditConfigMap}, &cm)
		create := apierrors.IsNotFound(err)
		if err != nil && !create {
			return err
		}
		entries, err := decodeAudit(cm.Data[AuditKey])
		if err != nil {
			a.log.Error("audit ConfigMap damaged: starting it anew", "configMap", AuditConfigMap, "error", err.Error())
		}
		data, err := encodeAudit(append(entries, batch...), a.retain)
		if err != nil {
			return err
		}
		cm.Data = map[string]string{AuditKey: data}
		if create {
			cm.ObjectMeta = metav1.ObjectMeta{Name: AuditConfigMap, Namespace: a.ns}
			return a.c.Create(ctx, &cm)
		}
		return a.c.Update(ctx, &cm)
	})
}

// encodeAudit keeps the newest retain entries, fewer if they would take
// more than maxAuditBytes.
func encodeAudit(entries []apitypes.AuditEntry, retain int) (string, error) {
	if len(entries) > retain {
		entries = entries[len(entries)-retain:]
	}
	for {
		b, err := json.Marshal(entries)
		if err != nil || len(b) <= maxAuditBytes || len(entries) <= 1 {
			return string(b), err
		}
		entries = entries[max(1, len(entries)/10):]
	}
}

func decodeAudit(data string) ([]apitypes.AuditEntry, error) {
	if data == "" {
		return nil, nil
	}
	var entries []apitypes.AuditEntry
	if err := json.Unmarshal([]byte(data), &entries); err != nil {
		return nil, fmt.Errorf("key %s: %w", AuditKey, err)
	}
	return entries, nil
}

// read returns the stored entries, oldest first.
func (a *auditRing) read(ctx context.Context) ([]apitypes.AuditEntry, error) {
	var cm corev1.ConfigMap
	err := a.reader.Get(ctx, client.ObjectKey{Namespace: a.ns, Name: AuditConfigMap}, &cm)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ConfigMap %s: %w", AuditConfigMap, err)
	}
	return decodeAudit(cm.Data[AuditKey])
}

// controllerReasons are the reasons of the controller's operation Events,
// which the audit log shows beside the API's entries: they tell of syncs
// nobody requested through the API (automated sync, self-heal) and of how
// every operation ended.
var controllerReasons = []string{"OperationStarted", "OperationRetrying", "OperationCompleted", "OperationFailed"}

// controllerEntries reads the controller's operation Events on
// Applications as audit entries; Events expire (the API server's
// --event-ttl, one hour by default), so only recent ones are found.
func (s *Server) controllerEntries(ctx context.Context) ([]apitypes.AuditEntry, error) {
	if s.opts.Kube == nil {
		return nil, nil
	}
	events, err := s.opts.Kube.CoreV1().Events(s.opts.Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.kind=Application", Limit: maxListItems,
	})
	if err != nil {
		return nil, fmt.Errorf("list events of applications: %w", err)
	}
	var apps sollv1.ApplicationList
	if err := s.opts.Client.List(ctx, &apps, client.InNamespace(s.opts.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list applications: %w", err)
	}
	projects := map[string]string{}
	for i := range apps.Items {
		projects[apps.Items[i].Name] = appProject(&apps.Items[i])
	}
	var out []apitypes.AuditEntry
	for _, ev := range appendEvents(nil, events.Items, func(e corev1.Event) bool {
		return slices.Contains(controllerReasons, e.Reason)
	}) {
		out = append(out, apitypes.AuditEntry{
			ID:     fmt.Sprintf("%d-%s-%s", ev.LastTimestamp.UnixNano(), ev.Reason, ev.InvolvedObject.Name),
			Time:   ev.LastTimestamp.UTC(),
			Source: "controller", User: cmp.Or(ev.Source, "soll-controller"), Action: ev.Reason,
			Resource: resApplications, Object: ev.InvolvedObject.Name, Project: projects[ev.InvolvedObject.Name],
			Message: fmt.Sprintf("app %s: %s", ev.InvolvedObject.Name, ev.Message), Count: ev.Count,
		})
	}
	return out, nil
}

var auditQueryParams = []param{
	{"limit", "integer", "page size, 1 to 1000 (default 100)"},
	{"continue", "string", "token from the previous page"},
	{"app", "string", "only entries about this application"},
	{"project", "string", "only entries about this project or its applications"},
	{"user", "string", "only entries of this user"},
}

// listAudit answers the entries p may see (those about objects p may
// get, and p's own logins), newest first.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, p *Principal) error {
	q := r.URL.Query()
	limit := apitypes.DefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > apitypes.MaxLimit {
			return invalid("limit", "limit %q must be a number from 1 to %d", v, apitypes.MaxLimit)
		}
		limit = n
	}
	var after *cursor
	if tok := q.Get("continue"); tok != "" {
		c, err := parseCursor(tok)
		if err != nil || c.Sort != "audit" {
			return invalid("continue", "continue token is damaged: pass the one the previous page returned")
		}
		after = c
	}
	stored, err := s.audits.read(r.Context())
	if err != nil {
		return err
	}
	fromEvents, err := s.controllerEntries(r.Context())
	if err != nil {
		return err
	}
	app, project, user := q.Get("app"), q.Get("project"), q.Get("user")
	var all []apitypes.AuditEntry
	for _, e := range slices.Concat(stored, fromEvents) {
		switch {
		case app != "" && (e.Resource != resApplications || e.Object != app),
			project != "" && e.Project != project,
			user != "" && e.User != user,
			!s.auditVisible(p, &e):
			continue
		}
		all = append(all, e)
	}
	// Newest first; the continue token holds the time and id of the last
	// entry shown, so entries added meanwhile do not shift the pages.
	key := func(e *apitypes.AuditEntry) string { return e.Time.UTC().Format(time.RFC3339Nano) }
	slices.SortFunc(all, func(a, b apitypes.AuditEntry) int {
		return cmp.Or(b.Time.Compare(a.Time), cmp.Compare(b.ID, a.ID))
	})
	start := 0
	if after != nil {
		at, _ := time.Parse(time.RFC3339Nano, after.Key)
		start, _ = slices.BinarySearchFunc(all, after, func(e apitypes.AuditEntry, c *cursor) int {
			if cmp.Or(e.Time.Compare(at), cmp.Compare(e.ID, c.Name)) >= 0 {
				return -1
			}
			return 1
		})
	}
	end := min(start+limit, len(all))
	out := apitypes.AuditList{Items: nonNil(all[start:end])}
	if end < len(all) {
		last := &all[end-1]
		out.Continue = cursor{Sort: "audit", Key: key(last), Name: last.ID}.token()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// auditVisible reports whether p may read e: p may get its object, or e
// is about p's own account.
func (s *Server) auditVisible(p *Principal, e *apitypes.AuditEntry) bool {
	object := e.Object
	switch e.Resource {
	case resApplications:
		object = cmp.Or(e.Project, "default") + "/" + e.Object
	case resAccounts:
		if p.Project == "" && e.Object == p.Subject {
			return true
		}
	}
	return s.opts.RBAC.Allowed(p, e.Resource, actGet, object)
}
