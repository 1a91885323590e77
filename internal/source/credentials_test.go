package source_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"soll.dev/internal/source"
)

// secretCreds sets every field; each secret holds a marker that must never
// be printed.
func secretCreds() source.Credentials {
	return source.Credentials{
		Username:      "deploy-bot",
		Password:      "SECRET-password",
		BearerToken:   "SECRET-token",
		TLSClientCert: []byte("SECRET-cert"),
		TLSClientKey:  []byte("SECRET-tls-key"),
		CACert:        []byte("SECRET-ca"),
		SSHPrivateKey: []byte("SECRET-ssh-key"),
		SSHPassphrase: "SECRET-passphrase",
		SSHKnownHosts: []byte("SECRET-known-hosts"),
	}
}

func wantRedacted(t *testing.T, how, out string) {
	t.Helper()
	if strings.Contains(out, "SECRET") {
		t.Errorf("%s reveals a secret: %s", how, out)
	}
	// Byte slices printed with %d or %x would not contain the marker
	// text, so look for them too.
	for _, s := range []string{"SECRET-password", "SECRET-ssh-key"} {
		for _, enc := range []string{fmt.Sprintf("%x", s), fmt.Sprintf("%d", []byte(s))} {
			if strings.Contains(out, enc) {
				t.Errorf("%s reveals a secret encoded: %s", how, out)
			}
		}
	}
}

func TestCredentialsRedactedInFmt(t *testing.T) {
	c := secretCreds()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3v"} {
		for name, arg := range map[string]any{"value": c, "pointer": &c, "in a struct": struct{ C source.Credentials }{c}, "in a slice": []source.Credentials{c}} {
			out := fmt.Sprintf(verb, arg)
			wantRedacted(t, verb+" of a "+name, out)
		}
	}
	want := `source.Credentials{Username: "deploy-bot", Password: <redacted>, BearerToken: <redacted>, TLSClientCert: <redacted>, ` +
		`TLSClientKey: <redacted>, CACert: <redacted>, SSHPrivateKey: <redacted>, SSHPassphrase: <redacted>, SSHKnownHosts: <redacted>}`
	if got := c.String(); got != want {
		t.Errorf("String() = %s\nwant       %s", got, want)
	}
	if got := fmt.Sprint(source.Credentials{SSHPrivateKey: []byte("k")}); got != "source.Credentials{SSHPrivateKey: <redacted>}" {
		t.Errorf("only set fields are listed; got %s", got)
	}
	if got := fmt.Sprint(source.Credentials{}); got != "source.Credentials{}" {
		t.Errorf("zero Credentials print as %s", got)
	}
	wantRedacted(t, "an error", fmt.Errorf("fetch with %v: %w", c, fmt.Errorf("x")).Error())
}

func TestCredentialsRedactedInJSON(t *testing.T) {
	c := secretCreds()
	b, err := json.Marshal(struct {
		Creds source.Credentials  `json:"creds"`
		Ptr   *source.Credentials `json:"ptr"`
	}{c, &c})
	if err != nil {
		t.Fatal(err)
	}
	wantRedacted(t, "JSON", string(b))
	var decoded struct{ Creds map[string]string }
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded.Creds["username"] != "deploy-bot" || decoded.Creds["password"] != "<redacted>" || decoded.Creds["sshPrivateKey"] != "<redacted>" {
		t.Errorf("JSON = %s, want the user name and redacted secrets", b)
	}
}

func TestCredentialsRedactedInSlog(t *testing.T) {
	c := secretCreds()
	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var buf bytes.Buffer
		log := slog.New(h(&buf))
		log.Info("fetch", "creds", c, "ptr", &c)
		wantRedacted(t, name+" log", buf.String())
		if !strings.Contains(buf.String(), "deploy-bot") {
			t.Errorf("%s log lacks the user name: %s", name, buf.String())
		}
	}
}

func TestCredentialsIsZero(t *testing.T) {
	if !(source.Credentials{}).IsZero() {
		t.Error("zero Credentials are not IsZero")
	}
	if (source.Credentials{SSHKnownHosts: []byte("x")}).IsZero() {
		t.Error("Credentials with known hosts are IsZero")
	}
}
