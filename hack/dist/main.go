// Command dist cross-builds the soll binary for the laptops and servers
// people run it on, with a SHA256SUMS file:
//
//	go run ./hack/dist [-platforms ...] [-version V] [-out bin/dist]
//
// Each binary is static, built with -trimpath and stamped with the
// version, commit and commit time (see hack/internal/xbuild), so the same
// commit gives the same checksums on any machine with the same Go.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"soll.dev/hack/internal/xbuild"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dist:", err)
		os.Exit(1)
	}
}

func run() error {
	platforms := flag.String("platforms", "linux/amd64,linux/arm64,darwin/amd64,darwin/arm64,windows/amd64,windows/arm64", "platforms to build, os/arch separated by commas")
	version := flag.String("version", "", "the version the binaries carry (default: git describe)")
	out := flag.String("out", "bin/dist", "output directory (its soll-* files and SHA256SUMS are replaced)")
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
	var sums strings.Builder
	for _, p := range ps {
		file := fmt.Sprintf("soll-%s-%s", p.OS, p.Arch)
		if p.OS == "windows" {
			file += ".exe"
		}
		fmt.Fprintf(os.Stderr, "== building %s %s\n", file, stamp.Version)
		path := filepath.Join(*out, file)
		if err := xbuild.Build(wd, xbuild.Soll, p, stamp, path); err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		// The format sha256sum -c reads: digest, two spaces, file name.
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), file)
	}
	if err := os.WriteFile(filepath.Join(*out, "SHA256SUMS"), []byte(sums.String()), 0o644); err != nil {
		return err
	}
	fmt.Printf("%d binaries and SHA256SUMS in %s (check: cd %s && sha256sum -c SHA256SUMS)\n", len(ps), *out, *out)
	return nil
}
