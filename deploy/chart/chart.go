package chart

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/registry"

	"soll.dev/internal/ociimage"
)

// Name is the chart's name, and the name of its directory beside this
// package.
const Name = "soll"

// describeSuffix is what `git describe` adds to a tag for a commit after
// it (-<commits>-g<hash>) and for a work tree with changes (-dirty).
var describeSuffix = regexp.MustCompile(`(-[0-9]+-g[0-9a-f]+)?(-dirty)?$`)

// Version returns the chart version for the version soll is built as (the
// output of `git describe --tags --always --dirty`, as VERSION in the
// Makefile): a tag that is a semantic version, without its leading v
// (v1.2.0 → 1.2.0, v1.3.0-rc.1 → 1.3.0-rc.1); anything else, such as a
// commit after a tag or a commit without tags, is a pre-release of 0.0.0
// named after it (0.0.0-v1.2.0-3-g1a2b3c4, 0.0.0-1a2b3c4-dirty), which
// orders before every release and never passes for one.
func Version(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", fmt.Errorf("version: empty; give the version soll is built as, such as v1.2.0 or the output of git describe")
	}
	if describeSuffix.FindString(v) == "" {
		if sv, err := semver.StrictNewVersion(strings.TrimPrefix(v, "v")); err == nil && sv.Metadata() == "" {
			return sv.String(), nil
		}
	}
	pre := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, v)
	out := "0.0.0-" + pre
	if _, err := semver.StrictNewVersion(out); err != nil {
		// A numeric identifier with a leading zero (an abbreviated commit
		// of digits only) is not allowed: name it as git describe does.
		out = "0.0.0-g" + pre
		if _, err := semver.StrictNewVersion(out); err != nil {
			return "", fmt.Errorf("version %q: cannot be made a chart version: use a tag such as v1.2.0", v)
		}
	}
	return out, nil
}

// Package writes the chart in dir, stamped with the version soll is built
// as, into outDir and returns the archive's path
// (outDir/soll-<chart version>.tgz). The chart version is Version(version),
// the appVersion (and so the default image tag) is the image tag `make
// image-push` pushes for version. Every file's time is created (the
// commit's time), so a commit packages to the same bytes anywhere.
func Package(dir, version string, created time.Time, outDir string) (string, error) {
	ch, err := loader.LoadDir(dir)
	if err != nil {
		return "", fmt.Errorf("load the chart in %s: %w", dir, err)
	}
	if ch.Name() != Name {
		return "", fmt.Errorf("the chart in %s is %q, want %s", dir, ch.Name(), Name)
	}
	if ch.Metadata.Version, err = Version(version); err != nil {
		return "", err
	}
	ch.Metadata.AppVersion = ociimage.Tag(version)
	ch.StampModTimes(created.UTC())
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	file, err := chartutil.Save(ch, outDir)
	if err != nil {
		return "", fmt.Errorf("package the chart in %s: %w", dir, err)
	}
	return file, nil
}

// Push pushes the chart archive to the OCI repository repo
// (oci://REGISTRY/PATH, or REGISTRY/PATH) as repo/soll:<chart version>, as
// `helm push ARCHIVE repo` does, with created as the manifest's creation
// time. c carries the credentials: registry.NewClient reads those of `helm
// registry login`, and then those of `docker login`. It returns the pushed
// reference and the manifest's digest.
func Push(c *registry.Client, archive, repo string, created time.Time) (ref, digest string, err error) {
	data, err := os.ReadFile(archive)
	if err != nil {
		return "", "", err
	}
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return "", "", fmt.Errorf("load chart archive %s: %w", archive, err)
	}
	repo = strings.TrimSuffix(strings.TrimPrefix(repo, registry.OCIScheme+"://"), "/")
	if repo == "" {
		return "", "", fmt.Errorf("no repository to push %s to: give one such as oci://ghcr.io/you/charts", archive)
	}
	ref = fmt.Sprintf("%s:%s", path.Join(repo, ch.Name()), ch.Metadata.Version)
	res, err := c.Push(data, ref, registry.PushOptCreationTime(created.UTC().Format(time.RFC3339)))
	if err != nil {
		return "", "", fmt.Errorf("push %s: %w", ref, err)
	}
	return ref, res.Manifest.Digest, nil
}
