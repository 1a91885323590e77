package xbuild

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParsePlatforms(t *testing.T) {
	ps, err := ParsePlatforms("linux/amd64, darwin/arm64")
	if err != nil || len(ps) != 2 || ps[0].String() != "linux/amd64" || ps[1].String() != "darwin/arm64" {
		t.Errorf("ParsePlatforms: %v %v", ps, err)
	}
	for _, bad := range []string{"linux", "linux/", "/amd64", "linux/arm/v7", ""} {
		if _, err := ParsePlatforms(bad); err == nil || !strings.Contains(err.Error(), "os/arch") {
			t.Errorf("ParsePlatforms(%q): %v, want an error saying the form", bad, err)
		}
	}
}

func TestStampFromGitHonoursSourceDateEpoch(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1796600000")
	s, err := StampFromGit("../../..", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Commit) != 40 || s.Version == "" || !s.Date.Equal(time.Unix(1796600000, 0)) {
		t.Errorf("stamp %+v", s)
	}
	if f := s.LDFlags(); !strings.Contains(f, "version.Commit="+s.Commit) || !strings.Contains(f, "version.Date=2026-12-06T") {
		t.Errorf("ldflags %q", f)
	}
}

// TestBuildIsStaticAndReproducible builds a small program twice: the same
// stamp gives the same bytes, and the binary needs no dynamic loader.
func TestBuildIsStaticAndReproducible(t *testing.T) {
	s := Stamp{Version: "v9.9.9", Commit: strings.Repeat("a", 40), Date: time.Unix(1796600000, 0).UTC()}
	p := Platform{OS: "linux", Arch: "amd64"}
	dir := t.TempDir()
	var bins [][]byte
	for _, name := range []string{"one", "two"} {
		out := filepath.Join(dir, name)
		if err := Build("../../..", "./internal/ociimage/testdata/hello", p, s, out); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		bins = append(bins, b)
	}
	if !bytes.Equal(bins[0], bins[1]) {
		t.Error("two builds of the same source and stamp differ")
	}
	f, err := elf.NewFile(bytes.NewReader(bins[0]))
	if err != nil {
		t.Fatal(err)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Error("the binary needs a dynamic loader: it would not run in an image without libc")
		}
	}
	bi, err := buildinfo.Read(bytes.NewReader(bins[0]))
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range bi.Settings {
		if set.Key == "-trimpath" && set.Value != "true" || set.Key == "CGO_ENABLED" && set.Value != "0" {
			t.Errorf("build setting %s=%s", set.Key, set.Value)
		}
	}
}
