package apiclient

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	sollv1 "soll.dev/api/v1alpha1"
)

// maxEventBytes bounds one server-sent event (one Application).
const maxEventBytes = 16 << 20

// Event is one server-sent event.
type Event struct {
	// Type is the event field: ADDED, MODIFIED or DELETED on the
	// application streams; "message" when the server gave none.
	Type string
	// ID is the id field (the object's resourceVersion).
	ID string
	// Data is the data field, its lines joined with newlines.
	Data []byte
}

// EventReader reads server-sent events (the text/event-stream format)
// from a stream: comments (heartbeats) and retry fields are skipped.
type EventReader struct {
	sc   *bufio.Scanner
	body io.Closer
}

// NewEventReader reads events from r; Close closes r if it is an
// io.Closer.
func NewEventReader(r io.Reader) *EventReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxEventBytes)
	er := &EventReader{sc: sc}
	if c, ok := r.(io.Closer); ok {
		er.body = c
	}
	return er
}

// Next returns the next event; io.EOF when the stream ended cleanly.
func (r *EventReader) Next() (Event, error) {
	var ev Event
	var data []string
	hasData := false
	for r.sc.Scan() {
		line := r.sc.Text()
		if line == "" {
			if hasData {
				ev.Data = []byte(strings.Join(data, "\n"))
				if ev.Type == "" {
					ev.Type = "message"
				}
				return ev, nil
			}
			ev = Event{} // an event without data is not dispatched
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue // a comment: heartbeats
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			ev.Type = value
		case "id":
			ev.ID = value
		case "data":
			data, hasData = append(data, value), true
		}
	}
	if err := r.sc.Err(); err != nil {
		return Event{}, fmt.Errorf("read event stream: %w", err)
	}
	return Event{}, io.EOF
}

// Close closes the underlying stream.
func (r *EventReader) Close() error {
	if r.body == nil {
		return nil
	}
	return r.body.Close()
}

// Types of the application stream's events.
const (
	EventAdded    = "ADDED"
	EventModified = "MODIFIED"
	EventDeleted  = "DELETED"
)

// AppEvent is one event of an application stream.
type AppEvent struct {
	// Type is EventAdded, EventModified or EventDeleted.
	Type string
	App  *sollv1.Application
}

// AppStream reads an application stream: first the current state of the
// apps as ADDED events, then every change. The server ends a stream whose
// client falls far behind; open a new one then (it starts with a fresh
// snapshot).
type AppStream struct {
	r *EventReader
}

// StreamApplications opens the event stream of every app the caller may
// see, or of the app name alone when name is not empty. It stays open
// until ctx ends, the stream is closed, or the server ends it.
func (c *Client) StreamApplications(ctx context.Context, name string) (*AppStream, error) {
	path := "/api/v1/stream/applications"
	if name != "" {
		path += "/" + url.PathEscape(name)
	}
	resp, err := c.send(ctx, request{method: http.MethodGet, path: path, stream: true})
	if err != nil {
		return nil, err
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		resp.Body.Close()
		return nil, fmt.Errorf("stream %s from %s: the answer is %q, not an event stream", path, c.Server(), ct)
	}
	return &AppStream{r: NewEventReader(resp.Body)}, nil
}

// Next returns the next event; io.EOF when the server ended the stream.
func (s *AppStream) Next() (AppEvent, error) {
	ev, err := s.r.Next()
	if err != nil {
		return AppEvent{}, err
	}
	app := &sollv1.Application{}
	if err := json.Unmarshal(ev.Data, app); err != nil {
		return AppEvent{}, fmt.Errorf("decode %s event %s: %w", ev.Type, ev.ID, err)
	}
	return AppEvent{Type: ev.Type, App: app}, nil
}

// Close ends the stream.
func (s *AppStream) Close() error { return s.r.Close() }
