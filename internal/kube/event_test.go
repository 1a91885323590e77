package kube

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEventNote(t *testing.T) {
	if got := EventNote("sync failed"); got != "sync failed" {
		t.Errorf("short note changed: %q", got)
	}
	long := strings.Repeat("ConfigMap ns/ä: connection refused\n", 100)
	got := EventNote(long)
	if len(got) > maxEventNote || !utf8.ValidString(got) || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("long note: %d bytes, valid UTF-8 %v, want at most %d bytes, a valid prefix", len(got), utf8.ValidString(got), maxEventNote)
	}
}
