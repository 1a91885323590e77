package chart_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/registry"

	"soll.dev/config/crd"
	"soll.dev/deploy/chart"
	"soll.dev/internal/render/helm/helmtest"
)

// TestPackageAndPush does what make chart and make chart-push do: it
// packages the chart with a version, twice to the same bytes, pushes it to
// an OCI registry that asks for credentials, and pulls it back with the
// Helm SDK, as helm pull oci://... would.
func TestPackageAndPush(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var archives [][]byte
	var file string
	for range 2 {
		var err error
		file, err = chart.Package(chartDir, "v1.4.0", created, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		archives = append(archives, b)
	}
	if filepath.Base(file) != "soll-1.4.0.tgz" {
		t.Errorf("archive %s, want soll-1.4.0.tgz", file)
	}
	if !bytes.Equal(archives[0], archives[1]) {
		t.Error("the same sources packaged twice give different archives")
	}
	ch, err := loader.LoadArchive(bytes.NewReader(archives[0]))
	if err != nil {
		t.Fatal(err)
	}
	crds, err := crd.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	if ch.Metadata.Version != "1.4.0" || ch.Metadata.AppVersion != "v1.4.0" || len(ch.CRDObjects()) != len(crds) || len(ch.Templates) == 0 {
		t.Errorf("packaged chart: version %s, appVersion %s, %d CRDs, %d templates", ch.Metadata.Version, ch.Metadata.AppVersion, len(ch.CRDObjects()), len(ch.Templates))
	}

	const user, password = "pusher", "push-password"
	reg := helmtest.NewRegistry(t, user, password)
	client := func() *registry.Client {
		c, err := registry.NewClient(registry.ClientOptHTTPClient(reg.Client()), registry.ClientOptBasicAuth(user, password),
			registry.ClientOptCredentialsFile(filepath.Join(t.TempDir(), "config.json")))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ref, digest, err := chart.Push(client(), file, "oci://"+reg.Host+"/charts/", created)
	if err != nil {
		t.Fatal(err)
	}
	if want := reg.Host + "/charts/soll:1.4.0"; ref != want || digest == "" {
		t.Errorf("pushed %s@%s, want %s", ref, digest, want)
	}
	pulled, err := client().Pull(ref)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	if !bytes.Equal(pulled.Chart.Data, archives[0]) || pulled.Manifest.Digest != digest || pulled.Chart.Meta.AppVersion != "v1.4.0" {
		t.Errorf("pulled %s: same archive %v, digest %s (pushed %s), appVersion %s", ref, bytes.Equal(pulled.Chart.Data, archives[0]),
			pulled.Manifest.Digest, digest, pulled.Chart.Meta.AppVersion)
	}
	// Without credentials the registry refuses the push.
	anonymous, err := registry.NewClient(registry.ClientOptHTTPClient(reg.Client()), registry.ClientOptCredentialsFile(filepath.Join(t.TempDir(), "config.json")))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := chart.Push(anonymous, file, reg.Host+"/charts", created); err == nil {
		t.Error("a push without credentials succeeded")
	}
}
