package apitypes

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDurationJSON(t *testing.T) {
	for in, want := range map[string]time.Duration{
		`{"expiresIn": "24h"}`: 24 * time.Hour,
		`{"expiresIn": "90m"}`: 90 * time.Minute,
		`{"expiresIn": 30}`:    30 * time.Second,
		`{"expiresIn": 1.5}`:   1500 * time.Millisecond,
		`{}`:                   0,
	} {
		var req TokenRequest
		if err := json.Unmarshal([]byte(in), &req); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := time.Duration(req.ExpiresIn); got != want {
			t.Errorf("%s: expiresIn %s, want %s", in, got, want)
		}
	}
	for in, why := range map[string]string{
		`{"expiresIn": "soon"}`: `"soon" is not a duration such as 24h or 90m`,
		`{"expiresIn": "-1h"}`:  "a lifetime cannot be negative",
		`{"expiresIn": -5}`:     "a lifetime cannot be negative",
		`{"expiresIn": true}`:   `want a duration such as "24h" or a number of seconds`,
	} {
		var req TokenRequest
		err := json.Unmarshal([]byte(in), &req)
		if err == nil || !strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), "expiresIn") {
			t.Errorf("%s: error %v, want one naming expiresIn that says %q", in, err, why)
		}
	}
	// Strict like the API's decoding of every other body: a typo is an
	// error, not a token without the lifetime asked for.
	var req TokenRequest
	if err := json.Unmarshal([]byte(`{"expires": "1h"}`), &req); err == nil || !strings.Contains(err.Error(), `unknown field "expires"`) {
		t.Errorf("a misspelt field: error %v, want unknown field \"expires\"", err)
	}
	b, err := json.Marshal(TokenRequest{ExpiresIn: Duration(90 * time.Minute), ID: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"expiresIn":"1h30m0s","id":"ci"}`; got != want {
		t.Errorf("marshal: %s, want %s", got, want)
	}
	if b, _ := json.Marshal(TokenRequest{}); string(b) != `{}` {
		t.Errorf("an empty request marshals as %s, want {}", b)
	}
}
