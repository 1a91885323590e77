package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"soll.dev/internal/version"
)

func TestVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := Run(context.Background(), []string{"version"}, &out, &errOut); err != nil {
		t.Fatalf("soll version: %v", err)
	}
	if !strings.HasPrefix(out.String(), "soll "+version.Version) {
		t.Errorf("soll version printed %q, want prefix %q", out.String(), "soll "+version.Version)
	}
}

func TestVersionJSON(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := Run(context.Background(), []string{"version", "-o", "json"}, &out, &errOut); err != nil {
		t.Fatalf("soll version -o json: %v", err)
	}
	var info version.Info
	if err := json.Unmarshal(out.Bytes(), &info); err != nil {
		t.Fatalf("decode %q: %v", out.String(), err)
	}
	if info.Version != version.Version || info.GoVersion == "" || info.Platform == "" {
		t.Errorf("unexpected version info %+v", info)
	}
}

func TestVersionBadOutput(t *testing.T) {
	var out, errOut bytes.Buffer
	err := Run(context.Background(), []string{"version", "-o", "xml"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "--output") {
		t.Fatalf("want an error naming --output, got %v", err)
	}
}
