package server

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
)

// streamLines opens an event stream as token and returns its lines; the
// channel is closed when the server ends the stream.
func (h *harness) streamLines(path, token string) <-chan string {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("stream %s: %d", path, resp.StatusCode)
	}
	out := make(chan string, 1000)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			select {
			case out <- sc.Text():
			default: // nobody reads this far behind
			}
		}
	}()
	return out
}

// waitEnd waits for the stream to end within timeout and returns its
// last comment line.
func waitEnd(t *testing.T, lines <-chan string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	last := ""
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return last
			}
			if strings.HasPrefix(l, ": ") && l != ": heartbeat" {
				last = l
			}
		case <-deadline:
			t.Fatalf("the stream is still open %s later", timeout)
			return ""
		}
	}
}

// TestStreamRecheck: an event stream ends within the re-check interval
// once its session is logged out, its account disabled, or (for a single
// app's stream) the right to get the app gone.
func TestStreamRecheck(t *testing.T) {
	const recheck = 300 * time.Millisecond
	h := newHarness(t, func(o *Options) {
		o.HeartbeatInterval = 100 * time.Millisecond
		o.StreamRecheck = recheck
	})
	h.must(http.MethodPost, "/api/v1/accounts", map[string]any{"name": "alice", "capabilities": []string{"login"}, "password": "alice's password"}, http.StatusCreated, nil)
	h.createApp("mine", "team-a", "a", nil)
	h.eventually(10*time.Second, "the app in the cache", func() bool {
		_, l := h.listNames("admin-token", "")
		return l.Total == 1
	})
	// Every stream outlives a few re-checks while nothing changes; then
	// it ends within a re-check and some slack.
	open := func(path, token string) <-chan string {
		t.Helper()
		lines := h.streamLines(path, token)
		h.eventually(5*time.Second, "the stream's first event", func() bool {
			select {
			case l := <-lines:
				return strings.HasPrefix(l, "event: ADDED")
			default:
				return false
			}
		})
		return lines
	}
	stillOpen := func(lines <-chan string) {
		t.Helper()
		timer := time.NewTimer(3 * recheck)
		defer timer.Stop()
		for {
			select {
			case _, ok := <-lines:
				if !ok {
					t.Fatal("the stream ended while its credentials and rights were valid")
				}
			case <-timer.C:
				return
			}
		}
	}
	bound := recheck + 5*time.Second

	t.Run("logout", func(t *testing.T) {
		tok := h.login("alice", "alice's password")
		lines := open("/api/v1/stream/applications", tok)
		stillOpen(lines)
		p, err := h.accounts.Authenticate(context.Background(), tok)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.accounts.Logout(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		if why := waitEnd(t, lines, bound); !strings.Contains(why, "log in again") {
			t.Errorf("last comment %q, want one saying to log in again", why)
		}
	})

	t.Run("right gone", func(t *testing.T) {
		tok := h.login("alice", "alice's password")
		lines := open("/api/v1/stream/applications/mine", tok)
		stillOpen(lines)
		app := &sollv1.Application{}
		app.Name, app.Namespace = "mine", h.ns
		patch := client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"project":"team-b"}}`))
		if err := h.env.Client.Patch(context.Background(), app, patch); err != nil {
			t.Fatal(err)
		}
		if why := waitEnd(t, lines, bound); !strings.Contains(why, "permission denied") {
			t.Errorf("last comment %q, want permission denied", why)
		}
		patch = client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"project":"team-a"}}`))
		if err := h.env.Client.Patch(context.Background(), app, patch); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("account disabled", func(t *testing.T) {
		tok := h.login("alice", "alice's password")
		lines := open("/api/v1/stream/applications", tok)
		stillOpen(lines)
		h.must(http.MethodPatch, "/api/v1/accounts/alice", map[string]any{"enabled": false}, http.StatusOK, nil)
		if why := waitEnd(t, lines, bound); !strings.Contains(why, "log in again") {
			t.Errorf("last comment %q, want one saying to log in again", why)
		}
	})
}
