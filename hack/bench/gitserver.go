package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// gitServer serves one bare repository over smart HTTP with
// `git http-backend` and counts the requests by kind.
type gitServer struct {
	URL string // of the repository
	srv *http.Server

	refLists atomic.Int64 // GET .../info/refs: ref advertisements
	fetches  atomic.Int64 // POST .../git-upload-pack: fetches
	other    atomic.Int64
}

// gitCounts is a snapshot of the request counters.
type gitCounts struct{ refLists, fetches, other int64 }

func (c gitCounts) sub(o gitCounts) gitCounts {
	return gitCounts{c.refLists - o.refLists, c.fetches - o.fetches, c.other - o.other}
}

// startGitServer writes w into a new repository under dir (one commit on
// main) and serves it on a loopback port.
func startGitServer(dir string, w *workload) (*gitServer, error) {
	work := filepath.Join(dir, "work")
	bare := filepath.Join(dir, "bench.git")
	if err := w.writeTree(work); err != nil {
		return nil, fmt.Errorf("write repository tree: %w", err)
	}
	env := append(os.Environ(), "GIT_AUTHOR_NAME=soll bench", "GIT_AUTHOR_EMAIL=bench@soll.dev",
		"GIT_COMMITTER_NAME=soll bench", "GIT_COMMITTER_EMAIL=bench@soll.dev", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	for _, args := range [][]string{
		{"init", "-q", "-b", "main", work},
		{"-C", work, "add", "."},
		{"-C", work, "commit", "-q", "-m", fmt.Sprintf("%d apps", len(w.apps))},
		{"clone", "-q", "--bare", work, bare},
	} {
		cmd := exec.Command("git", args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return nil, fmt.Errorf("git --exec-path: %w", err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + dir, "GIT_HTTP_EXPORT_ALL=1"},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &gitServer{URL: fmt.Sprintf("http://%s/bench.git", l.Addr())}
	g.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/info/refs"):
			g.refLists.Add(1)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
			g.fetches.Add(1)
		default:
			g.other.Add(1)
		}
		backend.ServeHTTP(w, r)
	})}
	go func() { _ = g.srv.Serve(l) }()
	return g, nil
}

func (g *gitServer) counts() gitCounts {
	return gitCounts{g.refLists.Load(), g.fetches.Load(), g.other.Load()}
}

// Close stops serving; requests in flight are cut off.
func (g *gitServer) Close() { _ = g.srv.Close() }
