package apitypes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Account is a local account as the API shows it: never its password
// hash nor its tokens, only their ids and times.
type Account struct {
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
	// Capabilities are login (password logins) and apiKey (API tokens).
	Capabilities []string `json:"capabilities"`
	HasPassword  bool     `json:"hasPassword"`
	// PasswordChangedAt is when the password was last set; sessions
	// issued before it are refused.
	PasswordChangedAt *time.Time  `json:"passwordChangedAt,omitempty"`
	Tokens            []TokenInfo `json:"tokens"`
}

// TokenInfo records an API token of an account: its id and times, never
// the token.
type TokenInfo struct {
	ID        string    `json:"id"`
	IssuedAt  time.Time `json:"issuedAt"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// AccountRequest is the body of POST /api/v1/accounts.
type AccountRequest struct {
	Name string `json:"name"`
	// Capabilities: login, apiKey or both.
	Capabilities []string `json:"capabilities"`
	// Password is optional; without one the account cannot log in until
	// one is set.
	Password string `json:"password,omitempty"`
	// Enabled defaults to true.
	Enabled *bool `json:"enabled,omitempty"`
}

// AccountPatch is the body of PATCH /api/v1/accounts/{name}; absent
// fields are left as they are.
type AccountPatch struct {
	Enabled *bool `json:"enabled,omitempty"`
	// Capabilities replace the account's: login, apiKey, both or none.
	// Sessions of an account without login and API tokens of one without
	// apiKey are refused from then on.
	Capabilities *[]string `json:"capabilities,omitempty"`
}

// PasswordChange is the body of PUT /api/v1/accounts/{name}/password.
type PasswordChange struct {
	// CurrentPassword is required to change your own password.
	CurrentPassword string `json:"currentPassword,omitempty"`
	NewPassword     string `json:"newPassword"`
}

// TokenRequest is the body of the token endpoints; every field is
// optional.
type TokenRequest struct {
	// ExpiresIn is the token's lifetime: a duration ("24h", "90m") or a
	// number of seconds; absent or zero means no expiry.
	ExpiresIn Duration `json:"expiresIn,omitzero"`
	// ID names the token (at most 128 printable ASCII characters);
	// absent means a random one.
	ID string `json:"id,omitempty"`
}

// UnmarshalJSON reads a token request strictly (an unknown field is an
// error) and names the field whose value is wrong: encoding/json does not
// say which field an error of a value's own UnmarshalJSON came from.
func (t *TokenRequest) UnmarshalJSON(b []byte) error {
	var raw struct {
		ExpiresIn json.RawMessage `json:"expiresIn"`
		ID        string          `json:"id"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	req := TokenRequest{ID: raw.ID}
	if len(raw.ExpiresIn) > 0 && string(raw.ExpiresIn) != "null" {
		if err := req.ExpiresIn.UnmarshalJSON(raw.ExpiresIn); err != nil {
			return &FieldError{Field: "expiresIn", Message: err.Error()}
		}
	}
	*t = req
	return nil
}

// FieldError is a request field whose value is refused.
type FieldError struct {
	// Field is the field's JSON name.
	Field   string
	Message string
}

func (e *FieldError) Error() string { return "field " + e.Field + ": " + e.Message }

// Token is the answer of the token endpoints: the only time the token
// itself is shown.
type Token struct {
	ID        string     `json:"id"`
	Token     string     `json:"token"`
	IssuedAt  time.Time  `json:"issuedAt"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// Duration is a JSON duration: a string time.ParseDuration accepts, or a
// number of seconds.
type Duration time.Duration

func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case float64:
		*d = Duration(time.Duration(v * float64(time.Second)))
	case string:
		p, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 24h or 90m", v)
		}
		*d = Duration(p)
	default:
		return errors.New("want a duration such as \"24h\" or a number of seconds")
	}
	if *d < 0 {
		return errors.New("a lifetime cannot be negative")
	}
	return nil
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }
