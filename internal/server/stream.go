package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

// subscriberBuffer is how many events a stream client may lag behind
// before it is disconnected (and reconnects to a fresh snapshot).
const subscriberBuffer = 256

// streamMaxNames bounds the names of a stream narrowed to some apps: a
// page of the list at most.
const streamMaxNames = apitypes.MaxLimit

// Event types of the streams.
const (
	eventAdded    = "ADDED"
	eventModified = "MODIFIED"
	eventDeleted  = "DELETED"
)

// hub fans the Application informer's events out to the stream clients:
// one informer for all clients, each event encoded once and filtered per
// client by name and RBAC.
type hub struct {
	informers cache.Informers
	rbac      Authorizer
	log       *slog.Logger

	mu      sync.Mutex
	started bool
	subs    map[*subscriber]struct{}
}

type subscriber struct {
	p    *Principal
	name string // "" for every app
	// names, when not nil, narrows the all-apps stream to these apps (a
	// page of a list follows the apps it shows).
	names    map[string]bool
	ch       chan streamEvent
	lost     chan struct{} // closed when the client fell behind
	lostOnce sync.Once
}

type streamEvent struct {
	typ, rv string
	data    []byte
}

func newHub(inf cache.Informers, rbac Authorizer, log *slog.Logger) *hub {
	return &hub{informers: inf, rbac: rbac, log: log, subs: map[*subscriber]struct{}{}}
}

// start registers the hub with the informer, once.
func (h *hub) start(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.started {
		return nil
	}
	inf, err := h.informers.GetInformer(ctx, &sollv1.Application{})
	if err != nil {
		return fmt.Errorf("watch applications: %w", err)
	}
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, initial bool) {
			// The initial list is replayed to every new handler; stream
			// clients get their own snapshot instead.
			if !initial {
				h.publish(eventAdded, obj)
			}
		},
		UpdateFunc: func(old, obj any) {
			o, _ := old.(client.Object)
			n, _ := obj.(client.Object)
			if o != nil && n != nil && o.GetResourceVersion() == n.GetResourceVersion() {
				return // a resync, not a change
			}
			h.publish(eventModified, obj)
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			h.publish(eventDeleted, obj)
		},
	})
	if err != nil {
		return fmt.Errorf("watch applications: %w", err)
	}
	h.started = true
	return nil
}

func (h *hub) subscribe(p *Principal, name string, names map[string]bool) *subscriber {
	s := &subscriber{p: p, name: name, names: names, ch: make(chan streamEvent, subscriberBuffer), lost: make(chan struct{})}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// wants says whether s may and wants to see app.
func (h *hub) wants(s *subscriber, app *sollv1.Application) bool {
	return (s.name == "" || s.name == app.Name) && (s.names == nil || s.names[app.Name]) && h.rbac.Allowed(s.p, resApplications, actGet, appObject(app))
}

func (h *hub) publish(typ string, obj any) {
	app, ok := obj.(*sollv1.Application)
	if !ok {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) == 0 {
		return
	}
	var ev *streamEvent
	for s := range h.subs {
		if !h.wants(s, app) {
			continue
		}
		if ev == nil {
			e, err := encodeEvent(typ, app)
			if err != nil {
				h.log.Error("encode application event", "application", app.Name, "error", err)
				return
			}
			ev = &e
		}
		select {
		case s.ch <- *ev:
		default:
			s.lostOnce.Do(func() { close(s.lost) })
		}
	}
}

func encodeEvent(typ string, app *sollv1.Application) (streamEvent, error) {
	b, err := json.Marshal(present(app))
	return streamEvent{typ: typ, rv: app.ResourceVersion, data: b}, err
}

// streamApps serves server-sent events of the apps p may get: first the
// current state as ADDED events, then every change, and a comment line
// every heartbeat interval so that proxies keep the connection open. It
// ends when the client goes, and when a periodic check (StreamRecheck)
// finds the caller's credentials no longer valid or, on a single app's
// stream, the right to get the app gone; the rights of the all-apps
// stream are checked for every event.
func (s *Server) streamApps(w http.ResponseWriter, r *http.Request, p *Principal) error {
	ctx := r.Context()
	name := r.PathValue("name")
	if name != "" {
		app := &sollv1.Application{}
		if err := s.opts.Client.Get(ctx, s.key(name), app); err != nil {
			if apierrors.IsNotFound(err) {
				return appNotFound(name)
			}
			return fmt.Errorf("read application %s: %w", name, err)
		}
		if err := s.checkApp(p, actGet, app); err != nil {
			return err
		}
	}
	var names map[string]bool
	if v := r.URL.Query().Get("names"); v != "" && name == "" {
		list := splitList(v)
		if len(list) > streamMaxNames {
			return invalid("names", "names lists %d applications; a stream follows at most %d (leave names out to follow all)", len(list), streamMaxNames)
		}
		names = map[string]bool{}
		for _, n := range list {
			names[n] = true
		}
	}
	if err := s.hub.start(ctx); err != nil {
		return err
	}
	sub := s.hub.subscribe(p, name, names)
	defer s.hub.unsubscribe(sub)
	// Subscribed before the snapshot is read: a change in between is
	// sent twice rather than lost. Clients treat every event as an upsert
	// (or removal) of the whole object.
	var list sollv1.ApplicationList
	if err := s.opts.Client.List(ctx, &list, client.InNamespace(s.opts.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("list applications: %w", err)
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives any write timeout
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(format string, args ...any) error {
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := write(": stream of applications\nretry: 3000\n\n"); err != nil {
		return nil
	}
	for i := range list.Items {
		app := &list.Items[i]
		if !s.hub.wants(sub, app) {
			continue
		}
		ev, err := encodeEvent(eventAdded, app)
		if err != nil {
			return nil
		}
		if err := write("event: %s\nid: %s\ndata: %s\n\n", ev.typ, ev.rv, ev.data); err != nil {
			return nil
		}
	}
	heartbeat := time.NewTicker(s.opts.HeartbeatInterval)
	defer heartbeat.Stop()
	recheck := time.NewTicker(s.opts.StreamRecheck)
	defer recheck.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-recheck.C:
			if why := s.recheckStream(r, name); why != "" {
				_ = write(": %s\n\n", why)
				return nil
			}
		case <-sub.lost:
			_ = write(": too far behind; reconnect for a fresh snapshot\n\n")
			return nil
		case <-heartbeat.C:
			err = write(": heartbeat\n\n")
		case ev := <-sub.ch:
			err = write("event: %s\nid: %s\ndata: %s\n\n", ev.typ, ev.rv, ev.data)
		}
		if err != nil {
			return nil // the client went
		}
	}
}

// recheckStream authenticates a stream's request again and, for a single
// app's stream, checks the right to get the app; it says why the stream
// must end, or "".
func (s *Server) recheckStream(r *http.Request, name string) string {
	p, err := s.opts.Auth.Authenticate(r)
	if err != nil || p == nil {
		s.log.Info("event stream ended: credentials no longer valid", "path", r.URL.Path, "error", err)
		return "credentials no longer valid; log in again"
	}
	if name == "" {
		return ""
	}
	app := &sollv1.Application{}
	if err := s.opts.Client.Get(r.Context(), s.key(name), app); err != nil {
		// A deleted app was announced with a DELETED event; its stream
		// goes on in case it comes back.
		return ""
	}
	if !s.opts.RBAC.Allowed(p, resApplications, actGet, appObject(app)) {
		return "permission denied: " + p.Subject + " may no longer get application " + appObject(app)
	}
	return ""
}
