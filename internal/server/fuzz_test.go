package server

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	sollv1 "soll.dev/api/v1alpha1"
	"soll.dev/internal/apitypes"
)

// FuzzDecode feeds arbitrary request bodies to the API's JSON decoding, for
// the body types the API reads: it never panics, and every refusal is a
// 400 Invalid error (or the body-size error), never an internal one.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"metadata":{"name":"guestbook"},"spec":{"source":{"repoURL":"https://git.example.com/a.git","path":"."},"destination":{"namespace":"a"}}}`))
	f.Add([]byte(`{"spec":{"project":null,"syncPolicy":{"automated":{"prune":true}}}}`))
	f.Add([]byte(`{"revision":"main","prune":true,"dryRun":false}`))
	f.Add([]byte(`{"id":1}`))
	f.Add([]byte(`{"spec":{"refreshInterval":"1x"}}`))
	f.Add([]byte(`{"unknown":1}`))
	f.Add([]byte(``))
	f.Add([]byte(`[`))
	targets := map[string]func() any{
		"application":  func() any { return &sollv1.Application{} },
		"project":      func() any { return &sollv1.Project{} },
		"merge patch":  func() any { return &map[string]any{} },
		"sync request": func() any { return &apitypes.SyncRequest{} },
		"rollback":     func() any { return &apitypes.RollbackRequest{} },
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for name, newTarget := range targets {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/x", bytes.NewReader(body))
			r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 1<<20)
			err := decode(r, newTarget())
			if err == nil {
				continue
			}
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				continue
			}
			var e *Error
			if !errors.As(err, &e) || e.status != http.StatusBadRequest || e.Code != "Invalid" || e.Message == "" {
				t.Errorf("%s: decode error %T %v, want a 400 Invalid error with a message", name, err, err)
			}
		}
	})
}
