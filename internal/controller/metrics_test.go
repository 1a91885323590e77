package controller

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"soll.dev/internal/source/git"
)

type fakeStats map[string]git.RepoStats

func (f fakeStats) Stats() map[string]git.RepoStats { return f }

func TestGitCollector(t *testing.T) {
	c := newGitCollector(fakeStats{"https://git.example.com/config": {RefLists: 3, Fetches: 2}})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	want := `
# HELP soll_git_requests_total Requests soll made to Git remotes, by repository and kind (ls-remote, fetch).
# TYPE soll_git_requests_total counter
soll_git_requests_total{kind="fetch",repo="https://git.example.com/config"} 2
soll_git_requests_total{kind="ls-remote",repo="https://git.example.com/config"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "soll_git_requests_total"); err != nil {
		t.Fatal(err)
	}
}
