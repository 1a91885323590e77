package webhook

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzHandler sends arbitrary bodies, correctly signed for an arbitrary
// provider and event, and checks that the Handler answers with one of its
// documented statuses and JSON, and that every push it reports is usable.
// The seeds are the provider samples in testdata.
func FuzzHandler(f *testing.F) {
	for i, s := range senders {
		f.Add(uint8(i), "", false, readTestdata(f, s.file))
		f.Add(uint8(i), "ping", false, []byte(`{}`))
	}
	for _, file := range []string{"gitlab-tag-push.json", "gitlab-issue.json", "github-ping.json", "bitbucket-server-ping.json"} {
		f.Add(uint8(1), "Tag Push Hook", false, readTestdata(f, file))
	}
	f.Add(uint8(0), "push", true, []byte("payload=%7B%22ref%22%3A%22refs%2Fheads%2Fmain%22%7D"))
	f.Add(uint8(2), "", false, []byte(`{"repository":{"links":{"html":{"href":"https://bitbucket.org/"}}},"push":{"changes":[{"old":{"type":"tag","name":""}}]}}`))

	allowed := map[int]bool{
		http.StatusOK: true, http.StatusAccepted: true, http.StatusBadRequest: true,
		http.StatusRequestEntityTooLarge: true,
	}
	f.Fuzz(func(t *testing.T, which uint8, event string, form bool, body []byte) {
		s := senders[int(which)%len(senders)]
		headers := map[string]string{}
		for k, v := range s.push {
			headers[k] = v
			if event != "" && k != "X-Hook-UUID" && k != "X-Request-UUID" && k != "X-Request-Id" && k != "X-Attempt-Number" {
				headers[k] = event
			}
		}
		cfg := testConfig
		cfg.MaxBodyBytes = 64 << 10
		r := s.newRequest(headers, body, s.secret(cfg))
		if form {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		rec := &recorder{}
		w := httptest.NewRecorder()
		(&Handler{Config: cfg, OnPush: rec.onPush, Log: quiet}).ServeHTTP(w, r)

		if !allowed[w.Code] {
			t.Fatalf("status %d %s", w.Code, w.Body)
		}
		var answer map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil {
			t.Fatalf("answer %q is not JSON: %v", w.Body, err)
		}
		if w.Code != http.StatusOK {
			if len(rec.pushes) != 0 {
				t.Fatalf("status %d after OnPush was called", w.Code)
			}
			return
		}
		if answer["matched"] != float64(len(rec.pushes)) || len(rec.pushes) > maxChanges {
			t.Fatalf("answer %v for %d pushes", answer, len(rec.pushes))
		}
		for _, p := range rec.pushes {
			if p.Ref == "" || len(p.RepoURLs) == 0 || p.Provider != s.name {
				t.Fatalf("unusable push %+v", p)
			}
			for _, u := range p.RepoURLs {
				if repoKey(u) != "" && !Matches(p, u, p.Ref) {
					t.Fatalf("push %+v does not match its own URL %q and ref", p, u)
				}
			}
		}
	})
}
