package appstate

import (
	"strings"
	"testing"

	sollv1 "soll.dev/api/v1alpha1"
)

func TestCheckDestination(t *testing.T) {
	for _, d := range []sollv1.ApplicationDestination{{Server: InClusterServer}, {Name: "in-cluster"}} {
		if err := checkDestination(d); err != nil {
			t.Errorf("%+v refused: %v", d, err)
		}
	}
	err := checkDestination(sollv1.ApplicationDestination{Server: "https://prod.example.com:6443"})
	if err == nil || !strings.Contains(err.Error(), "spec.destination: cluster https://prod.example.com:6443 is not registered") {
		t.Errorf("unknown cluster: %v", err)
	}
}
