package devenv

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"soll.dev/internal/devenv/githttp"
)

// GitServer serves the bare repositories under one directory over smart
// HTTP on a loopback port and counts requests by kind.
type GitServer struct {
	// Root holds the bare repositories, served as /<name>.git.
	Root    string
	addr    string
	srv     *http.Server
	handler *githttp.Handler
}

// GitCounts is a snapshot of a server's request counters.
type GitCounts = githttp.Counts

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
	h, err := githttp.NewHandler(root, githttp.Options{})
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &GitServer{Root: root, addr: l.Addr().String(), handler: h}
	g.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: h}
	go func() { _ = g.srv.Serve(l) }()
	return g, nil
}

// URL returns the clone URL of the repository name.
func (g *GitServer) URL(name string) string { return fmt.Sprintf("http://%s/%s.git", g.addr, name) }

// Counts returns the request counters.
func (g *GitServer) Counts() GitCounts { return g.handler.Counts() }

// Close stops serving; requests in flight are cut off.
func (g *GitServer) Close() { _ = g.srv.Close() }
