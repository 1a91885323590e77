package git

import (
	"errors"
	"strings"
	"testing"

	"soll.dev/internal/source"
)

func TestClassifyScrubsSecrets(t *testing.T) {
	t.Parallel()
	f, err := New(Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url     string
		creds   source.Credentials
		secrets []string
	}{
		{"https://user:url-pa55@example.com/repo.git", source.Credentials{Password: "pa55w0rd"}, []string{"url-pa55", "pa55w0rd"}},
		{"https://ghp_t0k3nAsUserName@example.com/repo.git", source.Credentials{}, []string{"ghp_t0k3nAsUserName"}},
		{"https://example.com/repo.git", source.Credentials{BearerToken: "b3arer-t0ken"}, []string{"b3arer-t0ken"}},
	}
	for _, tt := range tests {
		a, err := f.newAccess(tt.url, tt.creds)
		if err != nil {
			t.Fatal(err)
		}
		cause := errors.New("server said: " + strings.Join(tt.secrets, " and "))
		got := f.classify(a, "list refs of", cause)
		for _, s := range tt.secrets {
			if strings.Contains(got.Error(), s) {
				t.Errorf("classified error reveals %q: %v", s, got)
			}
		}
		if !strings.Contains(got.Error(), "list refs of https://example.com/repo.git: server said: <redacted>") {
			t.Errorf("classified error does not name the repository or lost the cause: %v", got)
		}
		if errors.Is(got, cause) {
			t.Error("the unscrubbed cause is still reachable with errors.Is")
		}
	}
}
