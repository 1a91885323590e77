// Package xbuild cross-builds the soll binary for release: static
// (CGO_ENABLED=0), without local paths (-trimpath), stamped with the
// version, commit and commit time, so that the same commit built with the
// same Go gives the same bytes on any machine.
package xbuild

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Stamp identifies the source a binary is built from.
type Stamp struct {
	Version, Commit string
	// Date is the commit's time.
	Date time.Time
}

// StampFromGit reads the commit and its time from the Git checkout in dir.
// SOURCE_DATE_EPOCH, when set, overrides the time (the reproducible-builds
// convention). An empty version is the checkout's `git describe` (its tag,
// or the commit), or "dev" without one.
func StampFromGit(dir, version string) (Stamp, error) {
	out, err := exec.Command("git", "-C", dir, "log", "-1", "--format=%H %ct").Output()
	if err != nil {
		return Stamp{}, fmt.Errorf("read the commit of %s with git: %w", dir, err)
	}
	commit, secs, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		secs = v
	}
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return Stamp{}, fmt.Errorf("commit time %q: %w", secs, err)
	}
	if version == "" {
		version = "dev"
		out, err := exec.Command("git", "-C", dir, "describe", "--tags", "--always", "--dirty").Output()
		if v := strings.TrimSpace(string(out)); err == nil && v != "" {
			version = v
		}
	}
	return Stamp{Version: version, Commit: commit, Date: time.Unix(n, 0).UTC()}, nil
}

// LDFlags are the linker flags that stamp the binary.
func (s Stamp) LDFlags() string {
	const pkg = "soll.dev/internal/version"
	return fmt.Sprintf("-s -w -buildid= -X %s.Version=%s -X %s.Commit=%s -X %s.Date=%s",
		pkg, s.Version, pkg, s.Commit, pkg, s.Date.Format(time.RFC3339))
}

// Platform is a GOOS/GOARCH pair, written "linux/amd64".
type Platform struct{ OS, Arch string }

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// ParsePlatforms reads a comma-separated list such as
// "linux/amd64,linux/arm64".
func ParsePlatforms(s string) ([]Platform, error) {
	var out []Platform
	for _, f := range strings.Split(s, ",") {
		os, arch, ok := strings.Cut(strings.TrimSpace(f), "/")
		if !ok || os == "" || arch == "" || strings.Contains(arch, "/") {
			return nil, fmt.Errorf("platform %q: write it as os/arch, such as linux/amd64", f)
		}
		out = append(out, Platform{OS: os, Arch: arch})
	}
	return out, nil
}

// Soll is the package of the soll binary.
const Soll = "./cmd/soll"

// Build builds the main package pkg (Soll) of the module in dir for p into
// out.
func Build(dir, pkg string, p Platform, s Stamp, out string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", s.LDFlags(), "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s for %s: %w", pkg, p, err)
	}
	return nil
}
