// Package githttp serves bare Git repositories over Git's smart HTTP
// protocol with `git http-backend`, counting the requests by kind. It is
// the one Git HTTP server of soll's playground and benchmark
// (internal/devenv) and of its tests (internal/testenv/gitserver, which
// adds authentication and TLS). It needs the `git` CLI with
// git-http-backend.
package githttp

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
)

// maxBufferedBody caps the request bodies the handler buffers for CGI;
// pushes to these servers are far smaller, and the cap keeps a runaway
// client from eating memory.
const maxBufferedBody = 256 << 20

// Options configures NewHandler.
type Options struct {
	// Env is the environment of git http-backend besides
	// GIT_PROJECT_ROOT and GIT_HTTP_EXPORT_ALL, which the handler sets.
	Env []string
	// Dir is the working directory of git http-backend; empty means
	// the directory of the program.
	Dir string
	// Stderr receives git http-backend's standard error; nil means
	// os.Stderr. Logger receives the CGI handler's own errors; nil
	// means the log package's standard logger.
	Stderr io.Writer
	Logger *log.Logger
}

// Handler is an http.Handler that serves the bare repositories below one
// root, as /<name>.git, with git http-backend.
type Handler struct {
	backend *cgi.Handler

	refLists atomic.Int64 // GET .../info/refs: ref advertisements
	fetches  atomic.Int64 // POST .../git-upload-pack: fetches
	other    atomic.Int64

	mu sync.Mutex
	// listings counts the ref advertisements served for fetching
	// (service git-upload-pack), by repository path.
	listings map[string]int
}

// Counts is a snapshot of a handler's request counters.
type Counts struct{ RefLists, Fetches, Other int64 }

// Sub returns c minus o.
func (c Counts) Sub(o Counts) Counts {
	return Counts{c.RefLists - o.RefLists, c.Fetches - o.Fetches, c.Other - o.Other}
}

// NewHandler returns a handler serving the repositories below root.
func NewHandler(root string, opts Options) (*Handler, error) {
	path, err := backendPath()
	if err != nil {
		return nil, err
	}
	return &Handler{
		backend: &cgi.Handler{
			Path: path,
			Dir:  opts.Dir,
			// Root "/" keeps the full URL path as PATH_INFO, which
			// http-backend resolves below GIT_PROJECT_ROOT.
			Root:   "/",
			Env:    append(append([]string(nil), opts.Env...), "GIT_PROJECT_ROOT="+root, "GIT_HTTP_EXPORT_ALL=1"),
			Stderr: opts.Stderr,
			Logger: opts.Logger,
		},
		listings: map[string]int{},
	}, nil
}

var gitExecPath = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return "", fmt.Errorf("git --exec-path: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
})

// backendPath finds git-http-backend, which lives in git's exec path
// rather than on PATH.
func backendPath() (string, error) {
	dir, err := gitExecPath()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "git-http-backend")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("find git-http-backend: %w", err)
	}
	return p, nil
}

// ServeHTTP counts the request and hands it to git http-backend.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// net/http/cgi rejects chunked bodies, and git sends pushes larger than
	// http.postBuffer chunked, so give the backend a known length instead.
	if r.ContentLength < 0 || len(r.TransferEncoding) > 0 {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBufferedBody))
		if err != nil {
			http.Error(w, "read request body: "+err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.TransferEncoding = nil
	}
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/info/refs"):
		h.refLists.Add(1)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
		h.fetches.Add(1)
	default:
		h.other.Add(1)
	}
	if strings.HasSuffix(r.URL.Path, "/info/refs") && r.URL.Query().Get("service") == "git-upload-pack" {
		h.mu.Lock()
		h.listings[strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/info/refs")]++
		h.mu.Unlock()
	}
	h.backend.ServeHTTP(w, r)
}

// Counts returns the request counters.
func (h *Handler) Counts() Counts {
	return Counts{h.refLists.Load(), h.fetches.Load(), h.other.Load()}
}

// RefListings is how many times clients asked for repository name's refs
// to fetch from it (git ls-remote and the first step of a fetch).
func (h *Handler) RefListings(name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.listings[strings.TrimSuffix(name, ".git")+".git"]
}
