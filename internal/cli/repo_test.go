package cli

import (
	"testing"

	"soll.dev/internal/apitypes"
)

// TestCredentialsText: the list names the kinds of credentials a
// repository Secret holds, or the Secret it keeps them in.
func TestCredentialsText(t *testing.T) {
	for _, tc := range []struct {
		repo apitypes.Repository
		want string
	}{
		{apitypes.Repository{}, "no credentials"},
		{apitypes.Repository{Username: "bot", HasPassword: true, HasBearerToken: true}, "username bot and password, bearer token"},
		{apitypes.Repository{CredentialsSecret: "git-bot"}, "from Secret git-bot"},
	} {
		if got := credentialsText(&tc.repo); got != tc.want {
			t.Errorf("credentialsText(%+v) = %q, want %q", tc.repo, got, tc.want)
		}
	}
}
