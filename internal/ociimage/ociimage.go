// Package ociimage builds soll's container image: a multi-platform OCI
// image index of the static soll binary, without a base image and without
// a container engine.
//
// Each platform's image has three layers, all owned by root:
//
//   - the base files: /etc/passwd and /etc/group with the unprivileged user
//     soll (65532:65532) the image runs as, the CA certificates of the
//     Mozilla root store (from the pinned golang.org/x/crypto/x509roots
//     module) at /etc/ssl/certs/ca-certificates.crt, and a sticky /tmp;
//   - the binary, /soll, the entrypoint;
//   - the SBOM, /sbom/soll.spdx.json: the Go modules linked into that
//     binary, read from the binary's build information (SPDX 2.3).
//
// The build is reproducible: every time stamp is the Created time (the
// commit's time), tar headers carry no user names, and layers are
// compressed with the same settings, so the same binaries give the same
// digests.
package ociimage

import (
	"archive/tar"
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// Paths and identity inside the image.
const (
	BinaryPath = "/soll"
	SBOMPath   = "/sbom/soll.spdx.json"
	CAPath     = "/etc/ssl/certs/ca-certificates.crt"
	// UID and GID of the user soll runs as: not root, and the number the
	// distroless images use, so volume permissions set up for them fit.
	UID = 65532
	GID = 65532
)

// The OCI annotations (and image labels) the image carries.
const (
	AnnotationSource   = "org.opencontainers.image.source"
	AnnotationRevision = "org.opencontainers.image.revision"
	AnnotationVersion  = "org.opencontainers.image.version"
	AnnotationCreated  = "org.opencontainers.image.created"
	AnnotationTitle    = "org.opencontainers.image.title"
	AnnotationRefName  = "org.opencontainers.image.ref.name"
)

// Binary is the soll binary built for one platform.
type Binary struct {
	OS, Arch, Variant string
	// Path is the static binary on disk.
	Path string
}

// Options describe one build of the image.
type Options struct {
	// Binaries, one per platform; at least one.
	Binaries []Binary
	// Version, Revision (the commit) and Source (the repository's URL)
	// become the OCI annotations and labels.
	Version, Revision, Source string
	// Created is every time stamp in the image: the commit's time, so that
	// a rebuild of the same source gives the same digest.
	Created time.Time
}

// Build returns the image index of the binaries, one image per platform.
func Build(o Options) (v1.ImageIndex, error) {
	if len(o.Binaries) == 0 {
		return nil, fmt.Errorf("image: no binaries: build soll for at least one platform")
	}
	if o.Version == "" || o.Created.IsZero() {
		return nil, fmt.Errorf("image: Version and Created are required (they make the image reproducible and traceable)")
	}
	created := o.Created.UTC()
	base, err := baseLayer(created)
	if err != nil {
		return nil, err
	}
	anns := o.annotations()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	seen := map[string]bool{}
	for _, b := range o.Binaries {
		p := v1.Platform{OS: b.OS, Architecture: b.Arch, Variant: b.Variant}
		if seen[p.String()] {
			return nil, fmt.Errorf("image: platform %s given twice", p.String())
		}
		seen[p.String()] = true
		img, err := o.image(b, base, anns, created)
		if err != nil {
			return nil, fmt.Errorf("image for %s: %w", p.String(), err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &p, Annotations: anns},
		})
	}
	out, ok := mutate.Annotations(idx, anns).(v1.ImageIndex)
	if !ok {
		return nil, fmt.Errorf("image: annotating the index lost its type")
	}
	return out, nil
}

func (o Options) annotations() map[string]string {
	a := map[string]string{
		AnnotationTitle:   "soll",
		AnnotationVersion: o.Version,
		AnnotationCreated: o.Created.UTC().Format(time.RFC3339),
	}
	if o.Revision != "" {
		a[AnnotationRevision] = o.Revision
	}
	if o.Source != "" {
		a[AnnotationSource] = o.Source
	}
	return a
}

func (o Options) image(b Binary, base v1.Layer, anns map[string]string, created time.Time) (v1.Image, error) {
	bin, err := os.ReadFile(b.Path)
	if err != nil {
		return nil, err
	}
	sbom, err := SBOM(bin, o.Version, created)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Path, err)
	}
	binLayer, err := layer([]entry{{name: BinaryPath, mode: 0o755, data: bin}}, created)
	if err != nil {
		return nil, err
	}
	sbomLayer, err := layer([]entry{
		{name: "/sbom/", mode: 0o755, dir: true},
		{name: SBOMPath, mode: 0o644, data: sbom},
	}, created)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	hist := func(what string) v1.History {
		return v1.History{Created: v1.Time{Time: created}, CreatedBy: "soll image: " + what}
	}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, History: hist("users, CA certificates, /tmp"), MediaType: types.OCILayer},
		mutate.Addendum{Layer: binLayer, History: hist("the soll binary"), MediaType: types.OCILayer},
		mutate.Addendum{Layer: sbomLayer, History: hist("the SBOM of the binary's Go modules"), MediaType: types.OCILayer},
	)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = b.OS, b.Arch, b.Variant
	cf.Created = v1.Time{Time: created}
	cf.Author = ""
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", UID, GID),
		Entrypoint: []string{BinaryPath},
		Env:        []string{"PATH=/", "HOME=/tmp", "SSL_CERT_FILE=" + CAPath},
		WorkingDir: "/tmp",
		Labels:     maps.Clone(anns),
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	out, ok := mutate.Annotations(img, anns).(v1.Image)
	if !ok {
		return nil, fmt.Errorf("annotating the image lost its type")
	}
	return out, nil
}

// baseLayer holds what every platform's image shares.
func baseLayer(created time.Time) (v1.Layer, error) {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nsoll:x:%d:%d:soll:/tmp:/sbin/nologin\n", UID, GID)
	group := fmt.Sprintf("root:x:0:\nsoll:x:%d:\n", GID)
	return layer([]entry{
		{name: "/etc/", mode: 0o755, dir: true},
		{name: "/etc/group", mode: 0o644, data: []byte(group)},
		{name: "/etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "/etc/ssl/", mode: 0o755, dir: true},
		{name: "/etc/ssl/certs/", mode: 0o755, dir: true},
		{name: CAPath, mode: 0o644, data: CACertificates()},
		{name: "/tmp/", mode: 0o1777, dir: true},
	}, created)
}

// CACertificates returns the Mozilla root store as PEM, from the pinned
// golang.org/x/crypto/x509roots/fallback module. Roots that carry a
// constraint a PEM file cannot express (distrust after a date) are left
// out rather than trusted without it.
func CACertificates() []byte {
	var b bytes.Buffer
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			continue
		}
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate})
	}
	return b.Bytes()
}

type entry struct {
	name string
	mode int64
	dir  bool
	data []byte
}

// layer writes entries as a tar layer with fixed time stamps and owners.
// Paths are written relative ("etc/passwd"), as image layers hold them.
func layer(entries []entry, created time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range slices.Clone(entries) {
		h := &tar.Header{
			Name:    e.name[1:],
			Mode:    e.mode,
			ModTime: created,
			Format:  tar.FormatPAX,
		}
		if e.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, err
	}
	return plainLayer{l}, nil
}

// plainLayer hides the tarball layer's own descriptor, whose empty
// annotations map would make the manifest soll computes differ from the
// one it serializes (which omits it).
type plainLayer struct{ v1.Layer }
