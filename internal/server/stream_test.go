package server

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
)

type sseEvent struct{ typ, name, label string }

// openStream connects to an event stream as token and sends what arrives
// on the returned channel, heartbeats as events of type "heartbeat".
func (h *harness) openStream(path, token string) <-chan sseEvent {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		h.t.Fatalf("stream %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 100)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var typ string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == ": heartbeat":
				out <- sseEvent{typ: "heartbeat"}
			case strings.HasPrefix(line, "event: "):
				typ = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				var app sollv1.Application
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &app); err != nil {
					h.t.Errorf("event data: %v", err)
					return
				}
				out <- sseEvent{typ: typ, name: app.Name, label: app.Labels["step"]}
			}
		}
	}()
	return out
}

// next waits for the first event that match accepts, failing after
// timeout; fail is called on every event before it.
func next(t *testing.T, ch <-chan sseEvent, timeout time.Duration, match func(sseEvent) bool, fail func(sseEvent)) sseEvent {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-ch:
			if match(ev) {
				return ev
			}
			fail(ev)
		case <-deadline:
			t.Fatalf("no matching event within %s", timeout)
		}
	}
}

func TestStream(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.HeartbeatInterval = 200 * time.Millisecond })
	h.createApp("mine", "team-a", "a", nil)
	h.createApp("theirs", "team-b", "b", nil)
	h.eventually(10*time.Second, "the apps in the cache", func() bool {
		_, l := h.listNames("admin-token", "")
		return l.Total == 2
	})
	noTheirs := func(ev sseEvent) {
		if ev.name == "theirs" {
			t.Errorf("alice received %s of an app she may not get", ev.typ)
		}
	}
	all := h.openStream("/api/v1/stream/applications", "alice-token")
	next(t, all, 5*time.Second, func(ev sseEvent) bool { return ev.typ == eventAdded && ev.name == "mine" }, noTheirs)
	one := h.openStream("/api/v1/stream/applications/mine", "alice-token")
	next(t, one, 5*time.Second, func(ev sseEvent) bool { return ev.typ == eventAdded && ev.name == "mine" }, noTheirs)
	// A stream narrowed to some names (a page of the list) carries only
	// those, and RBAC still applies: naming theirs does not show it.
	narrowed := h.openStream("/api/v1/stream/applications?names=mine-too,theirs", "alice-token")
	onlyMineToo := func(ev sseEvent) {
		if ev.typ != "heartbeat" && ev.name != "mine-too" {
			t.Errorf("the stream narrowed to mine-too and theirs carried %s of %s", ev.typ, ev.name)
		}
	}

	label := func(name, step string) {
		t.Helper()
		app := &sollv1.Application{}
		app.Name, app.Namespace = name, h.ns
		patch := client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"labels":{"step":"`+step+`"}}}`))
		if err := h.env.Client.Patch(context.Background(), app, patch); err != nil {
			t.Fatal(err)
		}
	}
	// The forbidden app changes first: by the time mine's change
	// arrives, a leaked event of theirs would have arrived too.
	label("theirs", "1")
	label("mine", "1")
	for _, ch := range []<-chan sseEvent{all, one} {
		next(t, ch, 2*time.Second, func(ev sseEvent) bool { return ev.typ == eventModified && ev.name == "mine" && ev.label == "1" }, noTheirs)
	}
	next(t, all, 2*time.Second, func(ev sseEvent) bool { return ev.typ == "heartbeat" }, noTheirs)

	// The single-app stream does not carry other apps alice may see.
	h.createApp("mine-too", "team-a", "a", nil)
	next(t, all, 2*time.Second, func(ev sseEvent) bool { return ev.typ == eventAdded && ev.name == "mine-too" }, noTheirs)
	next(t, narrowed, 2*time.Second, func(ev sseEvent) bool { return ev.typ == eventAdded && ev.name == "mine-too" }, onlyMineToo)
	label("mine", "2")
	label("theirs", "2")
	label("mine-too", "2")
	next(t, narrowed, 2*time.Second, func(ev sseEvent) bool { return ev.typ == eventModified && ev.name == "mine-too" && ev.label == "2" }, onlyMineToo)
	status, b := h.do(http.MethodGet, "/api/v1/stream/applications?names="+strings.Repeat("a,", 1001)+"a", "alice-token", nil)
	h.wantError(status, b, http.StatusBadRequest, "Invalid", "names")
	if err := h.env.Client.Delete(context.Background(), &sollv1.Application{ObjectMeta: objectMeta("mine", h.ns)}); err != nil {
		t.Fatal(err)
	}
	next(t, one, 2*time.Second, func(ev sseEvent) bool { return ev.typ == eventDeleted && ev.name == "mine" }, func(ev sseEvent) {
		if ev.name != "mine" && ev.typ != "heartbeat" {
			t.Errorf("the stream of mine carried %s of %s", ev.typ, ev.name)
		}
	})

	status, b = h.do(http.MethodGet, "/api/v1/stream/applications/theirs", "alice-token", nil)
	h.wantError(status, b, http.StatusNotFound, "NotFound", "")
}
