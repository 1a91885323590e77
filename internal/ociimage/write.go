package ociimage

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// AnnotationContainerdName names the image for containerd's import, which
// `docker load` and `nerdctl load` use for OCI archives.
const AnnotationContainerdName = "io.containerd.image.name"

// WriteLayout writes idx as a new OCI image layout in dir (replacing what
// dir held), tagged tag and named ref (such as "soll:v1.2.0"), the form
// `skopeo copy oci:DIR:TAG` and `crane push DIR` read.
func WriteLayout(dir string, idx v1.ImageIndex, ref name.Tag) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		AnnotationRefName:        ref.TagStr(),
		AnnotationContainerdName: ref.Name(),
	}))
}

// WriteArchive writes the OCI layout in dir as one tar file at path, which
// `podman load`, `docker load` and `skopeo copy oci-archive:PATH` accept.
// Beside the layout it holds a manifest.json naming the image of platform
// (the Docker archive form), so that an engine that reads only that form
// loads the image of its own platform. Entries are sorted and time stamped
// with created, so the same layout gives the same archive.
func WriteArchive(dir, path string, idx v1.ImageIndex, ref name.Tag, platform v1.Platform, created time.Time) error {
	docker, err := dockerManifest(idx, ref, platform)
	if err != nil {
		return err
	}
	var files []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		return err
	}
	slices.Sort(files)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	add := func(name string, size int64, r io.Reader) error {
		h := &tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: created, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	}
	err = func() error {
		for _, name := range files {
			src, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
			if err != nil {
				return err
			}
			st, err := src.Stat()
			if err == nil {
				err = add(name, st.Size(), src)
			}
			if cerr := src.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
		return add("manifest.json", int64(len(docker)), bytes.NewReader(docker))
	}()
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// A partial archive must not pass for a whole one; the write's
		// error is the one to report.
		_ = os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// dockerManifest is the manifest.json of a Docker archive for the image of
// platform in idx, pointing into the layout's blobs.
func dockerManifest(idx v1.ImageIndex, ref name.Tag, platform v1.Platform) ([]byte, error) {
	img, err := ImageFor(idx, platform)
	if err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	blob := func(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }
	entry := struct {
		Config   string
		RepoTags []string
		Layers   []string
	}{Config: blob(m.Config.Digest), RepoTags: []string{ref.Name()}}
	for _, l := range m.Layers {
		entry.Layers = append(entry.Layers, blob(l.Digest))
	}
	return json.Marshal([]any{entry})
}

// ImageFor returns the image of platform in idx.
func ImageFor(idx v1.ImageIndex, platform v1.Platform) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.Satisfies(platform) {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("the image has no %s variant", platform.String())
}

// Push pushes idx, and with it every platform's image, to ref.
func Push(idx v1.ImageIndex, ref name.Reference, opts ...remote.Option) error {
	if err := remote.WriteIndex(ref, idx, opts...); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	return nil
}

// Tag makes a version usable as the image's tag: `make image-push` pushes
// REGISTRY/soll:Tag(version), and the Helm chart's default image tag (its
// appVersion) is the same.
func Tag(version string) string {
	return strings.Map(func(r rune) rune {
		if r == '+' || r == '/' {
			return '-'
		}
		return r
	}, version)
}
