package cli

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"soll.dev/internal/serve"
)

// TestServeOptionsTakeTheSSOSecretFromTheEnvironment: soll run and soll
// server pass SOLL_OIDC_CLIENT_SECRET to the API server, which then prefers
// it to soll-secret's key.
func TestServeOptionsTakeTheSSOSecretFromTheEnvironment(t *testing.T) {
	f := controllerFlags{listen: ":8080", kube: kubeFlags{namespace: "soll"}}
	t.Setenv(serve.OIDCClientSecretEnv, "")
	opts, err := f.serveOptions(slog.Default())
	if err != nil || opts.OIDCClientSecret != "" || opts.Addr != ":8080" || opts.Namespace != "soll" {
		t.Fatalf("without the variable: %+v, %v", opts, err)
	}
	t.Setenv(serve.OIDCClientSecretEnv, "s3cret")
	if opts, err = f.serveOptions(slog.Default()); err != nil || opts.OIDCClientSecret != "s3cret" {
		t.Errorf("with %s set: secret %q, %v", serve.OIDCClientSecretEnv, opts.OIDCClientSecret, err)
	}
	f.trustedProxies = []string{"10.0.0.0/33"}
	if _, err := f.serveOptions(slog.Default()); err == nil || !strings.Contains(err.Error(), "--trusted-proxies") {
		t.Errorf("a bad --trusted-proxies: %v, want an error naming the flag", err)
	}
}

// TestLogFormat: --log-format json writes one JSON object a line, text
// key=value pairs, and anything else is refused naming the flag; the
// level applies to both.
func TestLogFormat(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hidden")
	log.Info("operation finished", "app", "soll/guestbook", "operation", "2026-01-02T03:04:05Z")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("json log line %q: %v", buf.String(), err)
	}
	if line["msg"] != "operation finished" || line["app"] != "soll/guestbook" || line["operation"] != "2026-01-02T03:04:05Z" || line["level"] != "INFO" {
		t.Errorf("json log line: %v", line)
	}
	buf.Reset()
	if log, err = newLogger(&buf, "debug", "text"); err != nil {
		t.Fatal(err)
	}
	log.Debug("comparison unchanged", "app", "soll/guestbook")
	if got := buf.String(); !strings.Contains(got, `level=DEBUG msg="comparison unchanged" app=soll/guestbook`) {
		t.Errorf("text log line: %q", got)
	}
	if _, err := newLogger(&buf, "info", "yaml"); err == nil || !strings.Contains(err.Error(), `--log-format "yaml": use json or text`) {
		t.Errorf("bad format: %v", err)
	}
	if _, err := newLogger(&buf, "loud", "json"); err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Errorf("bad level: %v", err)
	}
}
