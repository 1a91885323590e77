package ui

import (
	"testing"

	sollv1 "soll.dev/api/v1alpha1"
)

func TestKustomizeImage(t *testing.T) {
	for _, c := range []struct {
		in   string
		want sollv1.KustomizeImage
		err  bool
	}{
		{in: "nginx:1.27", want: sollv1.KustomizeImage{Name: "nginx", NewTag: "1.27"}},
		{in: "nginx=ghcr.io/org/nginx:1.27", want: sollv1.KustomizeImage{Name: "nginx", NewName: "ghcr.io/org/nginx", NewTag: "1.27"}},
		{in: "nginx=registry:5000/nginx", want: sollv1.KustomizeImage{Name: "nginx", NewName: "registry:5000/nginx"}},
		{in: "registry:5000/app:v2", want: sollv1.KustomizeImage{Name: "registry:5000/app", NewTag: "v2"}},
		{in: "app@sha256:0123456789abcdef0123456789abcdef", want: sollv1.KustomizeImage{Name: "app", Digest: "sha256:0123456789abcdef0123456789abcdef"}},
		{in: "app=app:v3", want: sollv1.KustomizeImage{Name: "app", NewTag: "v3"}},
		{in: "nginx", err: true},
		{in: "=nginx:1", err: true},
		{in: "nginx=", err: true},
	} {
		got, err := kustomizeImage(c.in)
		if (err != nil) != c.err || (!c.err && got != c.want) {
			t.Errorf("kustomizeImage(%q) = %+v, %v; want %+v, error %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestFieldOf(t *testing.T) {
	for in, want := range map[string]string{
		"metadata.name":                       "name",
		"spec.source.helm.parameters[2].name": "helmParameters",
		"spec.source.helm.releaseName":        "helmReleaseName",
		"spec.source.helm.releaseNameX":       "",
		"spec.syncPolicy.automated.enabled":   "syncPolicy",
		"spec.destination.namespace":          "destNamespace",
		"spec.destination":                    "destNamespace",
		"spec.destination.server":             "destServer",
		"spec.source":                         "",
		"spec.source.kustomize.images[0]":     "kustImages",
		"spec.source.jsonnet.tlas[1].value":   "jsonnetTLAs",
		"spec.sources[0].helm.parameters[0]":  "",
	} {
		if got := fieldOf(in); got != want {
			t.Errorf("fieldOf(%q) = %q, want %q", in, got, want)
		}
	}
}
