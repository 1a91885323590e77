// Command image builds soll's container image without a container engine
// (see internal/ociimage): it cross-builds the static binary for each
// platform, writes a multi-platform OCI image layout and a tar archive of
// it, and pushes the image when asked.
//
//	go run ./hack/image [-platforms linux/amd64,linux/arm64] [-version V]
//	    [-out bin/image] [-archive bin/soll-image.tar] [-push REGISTRY/soll:TAG]
//
// `podman load -i bin/soll-image.tar`, `docker load -i bin/soll-image.tar`,
// `skopeo copy oci:bin/image:TAG ...` and `crane push bin/image REF` read
// what it writes. Pushing uses the credentials of ~/.docker/config.json
// (as `docker login`, `crane auth login` or `podman login` leave them).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"soll.dev/hack/internal/xbuild"
	"soll.dev/internal/ociimage"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run() error {
	platforms := flag.String("platforms", "linux/amd64,linux/arm64", "platforms to build, os/arch separated by commas")
	version := flag.String("version", "", "the version the binary and the image carry (default: git describe)")
	source := flag.String("source", "https://soll.dev", "the URL of soll's source, in the image's annotations")
	out := flag.String("out", "bin/image", "directory of the OCI image layout (replaced)")
	archive := flag.String("archive", "bin/soll-image.tar", "tar archive of the layout, for podman load and docker load (empty: none)")
	repo := flag.String("name", "soll", "the image's name in the layout and the archive (tagged with the version)")
	push := flag.String("push", "", "push the image to this reference (REGISTRY/REPOSITORY:TAG) once built")
	insecure := flag.Bool("insecure", false, "with -push: the registry speaks plain HTTP")
	flag.Parse()

	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	stamp, err := xbuild.StampFromGit(wd, *version)
	if err != nil {
		return err
	}
	ps, err := xbuild.ParsePlatforms(*platforms)
	if err != nil {
		return err
	}
	opts := ociimage.Options{Version: stamp.Version, Revision: stamp.Commit, Source: *source, Created: stamp.Date}
	for _, p := range ps {
		if p.OS != "linux" {
			return fmt.Errorf("platform %s: the image runs on linux only", p)
		}
		bin := filepath.Join(*out+"-build", p.OS+"-"+p.Arch, "soll")
		fmt.Fprintf(os.Stderr, "== building soll %s for %s\n", stamp.Version, p)
		if err := xbuild.Build(wd, xbuild.Soll, p, stamp, bin); err != nil {
			return err
		}
		opts.Binaries = append(opts.Binaries, ociimage.Binary{OS: p.OS, Arch: p.Arch, Path: bin})
	}
	idx, err := ociimage.Build(opts)
	if err != nil {
		return err
	}
	tag, err := name.NewTag(*repo+":"+ociimage.Tag(stamp.Version), name.WeakValidation)
	if err != nil {
		return fmt.Errorf("-name %q with the version as tag: %w", *repo, err)
	}
	if err := ociimage.WriteLayout(*out, idx, tag); err != nil {
		return err
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("image %s: OCI layout in %s, index %s\n", tag.Name(), *out, digest)
	if *archive != "" {
		host := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
		if _, err := ociimage.ImageFor(idx, host); err != nil {
			host = v1.Platform{OS: ps[0].OS, Architecture: ps[0].Arch}
		}
		if err := ociimage.WriteArchive(*out, *archive, idx, tag, host, stamp.Date); err != nil {
			return err
		}
		fmt.Printf("archive %s (podman load -i, docker load -i)\n", *archive)
	}
	if *push != "" {
		var nopts []name.Option
		if *insecure {
			nopts = append(nopts, name.Insecure)
		}
		ref, err := name.ParseReference(*push, nopts...)
		if err != nil {
			return fmt.Errorf("-push %q: %w", *push, err)
		}
		if err := ociimage.Push(idx, ref, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			return err
		}
		fmt.Printf("pushed %s@%s\n", ref.Context().Name(), digest)
	}
	return nil
}
