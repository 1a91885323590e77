package project

import (
	"strings"
	"testing"

	sollv1 "soll.dev/api/v1alpha1"
)

// checkErr fails t unless err is nil when want is empty, or contains every
// fragment of want otherwise.
func checkErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\ndoes not contain %q", err, w)
		}
	}
}

func project(name string, spec sollv1.ProjectSpec) *sollv1.Project {
	p := &sollv1.Project{Spec: spec}
	p.Name = name
	return p
}

// app returns an Application of the given name deploying repos (one repo:
// spec.source; more: spec.sources) to dest.
func app(name string, dest sollv1.ApplicationDestination, repos ...string) *sollv1.Application {
	a := &sollv1.Application{}
	a.Name = name
	a.Spec.Destination = dest
	if len(repos) == 1 {
		a.Spec.Source = &sollv1.ApplicationSource{RepoURL: repos[0]}
		return a
	}
	for _, r := range repos {
		a.Spec.Sources = append(a.Spec.Sources, sollv1.ApplicationSource{RepoURL: r})
	}
	return a
}

func server(url, namespace string) sollv1.ApplicationDestination {
	return sollv1.ApplicationDestination{Server: url, Namespace: namespace}
}

func named(name, namespace string) sollv1.ApplicationDestination {
	return sollv1.ApplicationDestination{Name: name, Namespace: namespace}
}
