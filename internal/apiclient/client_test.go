package apiclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

// These tests check the client's own logic (encoding, decoding, paging,
// errors) against canned answers; the client against the real server is
// tested through the CLI in internal/cli.

func newTestClient(t *testing.T, h http.HandlerFunc) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(Options{Server: srv.URL + "/", Token: "tok", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func TestErrorDecoding(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		want    Error
		wantMsg string
	}{
		{name: "JSON error with field", status: 400, body: `{"code":"Invalid","message":"spec.destination.namespace: Invalid value","field":"spec.destination.namespace"}`,
			want:    Error{Status: 400, Code: "Invalid", Message: "spec.destination.namespace: Invalid value", Field: "spec.destination.namespace"},
			wantMsg: "spec.destination.namespace: Invalid value (HTTP 400 Invalid)"},
		{name: "field not in the message", status: 400, body: `{"code":"Invalid","message":"want a number","field":"limit"}`,
			want:    Error{Status: 400, Code: "Invalid", Message: "want a number", Field: "limit"},
			wantMsg: "limit: want a number (HTTP 400 Invalid)"},
		{name: "unauthorized", status: 401, body: `{"code":"Unauthorized","message":"invalid credentials"}`,
			want:    Error{Status: 401, Code: "Unauthorized", Message: "invalid credentials"},
			wantMsg: "invalid credentials (HTTP 401 from SERVER): log in with soll login SERVER"},
		{name: "throttled", status: 429, header: map[string]string{"Retry-After": "7"}, body: `{"code":"Throttled","message":"too many failed logins"}`,
			want:    Error{Status: 429, Code: "Throttled", Message: "too many failed logins", RetryAfter: 7 * time.Second},
			wantMsg: "too many failed logins (HTTP 429 from SERVER): retry after 7s"},
		{name: "plain text", status: 502, body: "the SSO provider is unavailable\nmore", want: Error{Status: 502, Code: "BadGateway", Message: "the SSO provider is unavailable"},
			wantMsg: "the SSO provider is unavailable (HTTP 502 BadGateway)"},
		{name: "empty body", status: 503, want: Error{Status: 503, Code: "ServiceUnavailable"}, wantMsg: "Service Unavailable (HTTP 503 ServiceUnavailable)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, srv := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			_, err := c.GetApplication(context.Background(), "web")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			tc.want.Server, tc.want.Method, tc.want.Path = srv.URL, "GET", "/api/v1/applications/web"
			if diff := cmp.Diff(&tc.want, e); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if want := strings.ReplaceAll(tc.wantMsg, "SERVER", srv.URL); err.Error() != want {
				t.Errorf("message %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestErrorClasses(t *testing.T) {
	for _, tc := range []struct {
		err                                         error
		notFound, conflict, unauthorized, notImplem bool
	}{
		{err: &Error{Status: 404, Code: "NotFound"}, notFound: true},
		{err: fmt.Errorf("wrapped: %w", &Error{Status: 409, Code: "Conflict"}), conflict: true},
		{err: &Error{Status: 409, Code: "AlreadyExists"}},
		{err: &Error{Status: 401, Code: "Unauthorized"}, unauthorized: true},
		{err: &Error{Status: 501, Code: "NotImplemented"}, notImplem: true},
		{err: errors.New("other")},
	} {
		if IsNotFound(tc.err) != tc.notFound || IsConflict(tc.err) != tc.conflict || IsUnauthorized(tc.err) != tc.unauthorized || IsNotImplemented(tc.err) != tc.notImplem {
			t.Errorf("classes of %v: not found %v, conflict %v, unauthorized %v, not implemented %v", tc.err,
				IsNotFound(tc.err), IsConflict(tc.err), IsUnauthorized(tc.err), IsNotImplemented(tc.err))
		}
	}
}

func TestUnreachable(t *testing.T) {
	c, err := New(Options{Server: "http://127.0.0.1:1", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Version(context.Background())
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Server != "http://127.0.0.1:1" || !strings.HasPrefix(err.Error(), "cannot reach soll at http://127.0.0.1:1: ") {
		t.Errorf("error %v: want an UnreachableError naming the server", err)
	}

	// A plain HTTP server asked for TLS: the hint says to use http://.
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c, _ = New(Options{Server: strings.Replace(srv.URL, "http://", "https://", 1)})
	if _, err := c.Version(context.Background()); err == nil || !strings.Contains(err.Error(), "use an http:// URL (or --plaintext)") {
		t.Errorf("TLS to a plain HTTP server: %v", err)
	}
	// A self-signed certificate: refused, unless asked to skip checks.
	tls := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(apitypes.VersionInfo{Server: "v1"})
	}))
	tls.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	tls.StartTLS()
	defer tls.Close()
	c, _ = New(Options{Server: tls.URL})
	if _, err := c.Version(context.Background()); err == nil || !strings.Contains(err.Error(), "--insecure-skip-tls-verify") {
		t.Errorf("untrusted certificate: %v", err)
	}
	c, _ = New(Options{Server: tls.URL, InsecureSkipTLSVerify: true})
	if v, err := c.Version(context.Background()); err != nil || v.Server != "v1" {
		t.Errorf("with InsecureSkipTLSVerify: %+v, %v", v, err)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	c, _ := newTestClient(t, func(http.ResponseWriter, *http.Request) { <-release })
	c.timeout = 100 * time.Millisecond
	_, err := c.Version(context.Background())
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Errorf("a server that does not answer: %v, want an UnreachableError", err)
	}
}

func TestParseServer(t *testing.T) {
	for _, tc := range []struct {
		in        string
		plaintext bool
		want, err string
	}{
		{in: "soll.example.com", want: "https://soll.example.com"},
		{in: "soll.example.com:8443/", want: "https://soll.example.com:8443"},
		{in: "localhost:8080", plaintext: true, want: "http://localhost:8080"},
		{in: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{in: "https://example.com/soll/", want: "https://example.com/soll"},
		{in: "", err: "empty"},
		{in: "ftp://x", err: "scheme"},
		{in: "https://u:p@x", err: "credentials"},
		{in: "https://x/?a=b", err: "query"},
		{in: "https://x", plaintext: true, err: "drop one of them"},
	} {
		got, err := ParseServer(tc.in, tc.plaintext)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseServer(%q) = %q, %v; want an error about %s", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseServer(%q, %v) = %q, %v; want %q", tc.in, tc.plaintext, got, err, tc.want)
		}
	}
	if strings.Contains(fmt.Sprint(ParseServer("https://admin:hunter2@x", false)), "hunter2") {
		t.Error("the error shows the password of the URL")
	}
}

// TestListApplicationsReadsEveryPage checks the paging and the filters'
// encoding, and that the token goes in the Authorization header.
func TestListApplicationsReadsEveryPage(t *testing.T) {
	var queries []string
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			return
		}
		queries = append(queries, r.URL.RawQuery)
		page := apitypes.AppList{Total: 3}
		switch r.URL.Query().Get("continue") {
		case "":
			page.Items = []*sollv1.Application{app("a"), app("b")}
			page.Continue = "after-b"
		case "after-b":
			page.Items = []*sollv1.Application{app("c")}
		}
		_ = json.NewEncoder(w).Encode(page)
	})
	apps, err := c.ListApplications(context.Background(), ListOptions{Projects: []string{"p1", "p2"}, SyncStatuses: []string{"OutOfSync"}, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range apps {
		names = append(names, a.Name)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, names); diff != "" {
		t.Errorf("apps (-want +got):\n%s", diff)
	}
	want := []string{"limit=2&project=p1%2Cp2&syncStatus=OutOfSync", "continue=after-b&limit=2&project=p1%2Cp2&syncStatus=OutOfSync"}
	if diff := cmp.Diff(want, queries); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
}

func app(name string) *sollv1.Application {
	a := &sollv1.Application{}
	a.Name = name
	return a
}

func TestEventReader(t *testing.T) {
	stream := ": stream of applications\nretry: 3000\n\n" +
		"event: ADDED\nid: 1\ndata: {\"a\":\ndata: 1}\n\n" +
		": heartbeat\n\n" +
		"event: MODIFIED\r\nid: 2\r\ndata: x\r\n\r\n" +
		"data: no type\n\n" +
		"event: DELETED\nid: 3\n" // unterminated: not dispatched
	r := NewEventReader(strings.NewReader(stream))
	var got []Event
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	want := []Event{
		{Type: "ADDED", ID: "1", Data: []byte("{\"a\":\n1}")},
		{Type: "MODIFIED", ID: "2", Data: []byte("x")},
		{Type: "message", Data: []byte("no type")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
