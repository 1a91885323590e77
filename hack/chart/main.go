// Command chart packages soll's Helm chart (deploy/chart/soll) with the
// version being built and, when asked, pushes it to an OCI registry (see
// soll.dev/deploy/chart).
//
//	go run ./hack/chart [-version V] [-out bin] [-push oci://REGISTRY/PATH] [-plain-http]
//
// The chart version is V when V is a release tag (v1.2.0 → 1.2.0), else
// 0.0.0-V; its appVersion, the default image tag, is the tag `make
// image-push` gives the image. Pushing uses the credentials of `helm
// registry login`, then those of `docker login`.
package main

import (
	"flag"
	"fmt"
	"os"

	"helm.sh/helm/v4/pkg/registry"

	"soll.dev/deploy/chart"
	"soll.dev/hack/internal/xbuild"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
}

func run() error {
	version := flag.String("version", "", "the version soll is built as (default: git describe)")
	dir := flag.String("dir", "deploy/chart/"+chart.Name, "the chart's directory")
	out := flag.String("out", "bin", "directory to write soll-<chart version>.tgz into")
	push := flag.String("push", "", "push the chart to this OCI repository, such as oci://ghcr.io/you/charts (as oci://ghcr.io/you/charts/soll:<chart version>)")
	plainHTTP := flag.Bool("plain-http", false, "with -push: the registry speaks plain HTTP")
	flag.Parse()

	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	stamp, err := xbuild.StampFromGit(wd, *version)
	if err != nil {
		return err
	}
	file, err := chart.Package(*dir, stamp.Version, stamp.Date, *out)
	if err != nil {
		return err
	}
	fmt.Printf("chart %s\n", file)
	if *push == "" {
		return nil
	}
	var opts []registry.ClientOption
	if *plainHTTP {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	c, err := registry.NewClient(opts...)
	if err != nil {
		return err
	}
	ref, digest, err := chart.Push(c, file, *push, stamp.Date)
	if err != nil {
		return err
	}
	fmt.Printf("pushed oci://%s@%s\n", ref, digest)
	return nil
}
