package devenv

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

// GitServer serves the bare repositories under one directory over smart
// HTTP on a loopback port and counts requests by kind.
type GitServer struct {
	// Root holds the bare repositories, served as /<name>.git.
	Root string
	addr string
	srv  *http.Server

	refLists atomic.Int64 // GET .../info/refs: ref advertisements
	fetches  atomic.Int64 // POST .../git-upload-pack: fetches
	other    atomic.Int64
}

// GitCounts is a snapshot of a server's request counters.
type GitCounts struct{ RefLists, Fetches, Other int64 }

// Sub returns c minus o.
func (c GitCounts) Sub(o GitCounts) GitCounts {
	return GitCounts{c.RefLists - o.RefLists, c.Fetches - o.Fetches, c.Other - o.Other}
}

// CreateRepo makes root/<name>.git with one commit on main holding the
// files that fill writes into a work tree, and returns the bare
// repository's directory.
func CreateRepo(root, name, message string, fill func(workTree string) error) (string, error) {
	work := filepath.Join(root, name+".work")
	bare := filepath.Join(root, name+".git")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return "", err
	}
	if err := fill(work); err != nil {
		return "", fmt.Errorf("write repository tree: %w", err)
	}
	env := append(os.Environ(), "GIT_AUTHOR_NAME=soll", "GIT_AUTHOR_EMAIL=dev@soll.dev",
		"GIT_COMMITTER_NAME=soll", "GIT_COMMITTER_EMAIL=dev@soll.dev", "GIT_CONFIG_NOSYSTEM=1", "HOME="+root)
	for _, args := range [][]string{
		{"init", "-q", "-b", "main", work},
		{"-C", work, "add", "."},
		{"-C", work, "commit", "-q", "-m", message},
		{"clone", "-q", "--bare", work, bare},
	} {
		cmd := exec.Command("git", args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	return bare, nil
}

// ServeGit serves the repositories under root with git http-backend.
func ServeGit(root string) (*GitServer, error) {
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return nil, fmt.Errorf("git --exec-path: %w", err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &GitServer{Root: root, addr: l.Addr().String()}
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

// URL returns the clone URL of the repository name.
func (g *GitServer) URL(name string) string { return fmt.Sprintf("http://%s/%s.git", g.addr, name) }

// Counts returns the request counters.
func (g *GitServer) Counts() GitCounts {
	return GitCounts{g.refLists.Load(), g.fetches.Load(), g.other.Load()}
}

// Close stops serving; requests in flight are cut off.
func (g *GitServer) Close() { _ = g.srv.Close() }
