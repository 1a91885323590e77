package gitserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// DefaultBranch is the branch CreateRepo commits the fixture to.
const DefaultBranch = "main"

// Repos is a temp directory of bare repositories that HTTP and SSH servers
// serve. Methods that take a testing.TB fail the test on error; a Repos may be
// used from several goroutines, and ref updates are compare-and-swap so
// concurrent commits to one branch fail loudly instead of losing one.
type Repos struct {
	root    string // the bare repositories, named NAME.git
	home    string // HOME for server-side git processes
	scratch string // temporary indexes and work trees
}

// NewRepos creates an empty repository root that is removed when the test
// ends.
func NewRepos(tb testing.TB) *Repos {
	tb.Helper()
	base := tb.TempDir()
	r := &Repos{
		root:    filepath.Join(base, "repos"),
		home:    filepath.Join(base, "home"),
		scratch: filepath.Join(base, "scratch"),
	}
	for _, d := range []string{r.root, r.home, r.scratch} {
		if err := os.Mkdir(d, 0o755); err != nil {
			tb.Fatalf("gitserver: %v", err)
		}
	}
	return r
}

// Root returns the directory holding the bare repositories.
func (r *Repos) Root() string { return r.root }

// Dir returns the path of the bare repository name (with or without the .git
// suffix), whether or not it exists.
func (r *Repos) Dir(name string) string {
	return filepath.Join(r.root, filepath.FromSlash(strings.TrimSuffix(name, ".git")+".git"))
}

// Change describes one commit: Remove is applied before Files so a change can
// replace a directory with a file.
type Change struct {
	Message string
	// Files maps slash-separated paths to their new content.
	Files map[string]string
	// Remove lists files or directories to delete; each must exist.
	Remove []string
}

// CreateRepo creates the bare repository name whose branch main holds one
// commit with the contents of fixtureDir (an empty tree when fixtureDir is
// empty), and returns that commit's SHA. Pushing over HTTP is enabled.
func (r *Repos) CreateRepo(tb testing.TB, name, fixtureDir string) string {
	tb.Helper()
	sha, err := r.createRepo(name, fixtureDir)
	if err != nil {
		tb.Fatalf("gitserver: create repo %s: %v", name, err)
	}
	return sha
}

// Commit records ch on branch of repository name and returns the new commit
// SHA. The branch must exist.
func (r *Repos) Commit(tb testing.TB, name, branch string, ch Change) string {
	tb.Helper()
	sha, err := r.commit(name, branch, ch)
	if err != nil {
		tb.Fatalf("gitserver: commit to %s %s: %v", name, branch, err)
	}
	return sha
}

// WriteFiles commits files to branch and returns the new commit SHA.
func (r *Repos) WriteFiles(tb testing.TB, name, branch, message string, files map[string]string) string {
	tb.Helper()
	return r.Commit(tb, name, branch, Change{Message: message, Files: files})
}

// RemoveFiles commits the removal of paths from branch and returns the new
// commit SHA.
func (r *Repos) RemoveFiles(tb testing.TB, name, branch, message string, paths ...string) string {
	tb.Helper()
	return r.Commit(tb, name, branch, Change{Message: message, Remove: paths})
}

// CreateBranch creates branch at revision from (a branch, tag or SHA) and
// returns the commit SHA it points to. The branch must not exist yet.
func (r *Repos) CreateBranch(tb testing.TB, name, branch, from string) string {
	tb.Helper()
	sha, err := r.createRef(name, "refs/heads/"+branch, from)
	if err != nil {
		tb.Fatalf("gitserver: create branch %s in %s: %v", branch, name, err)
	}
	return sha
}

// CreateTag creates the lightweight tag at rev and returns the commit SHA it
// points to.
func (r *Repos) CreateTag(tb testing.TB, name, tag, rev string) string {
	tb.Helper()
	sha, err := r.createRef(name, "refs/tags/"+tag, rev)
	if err != nil {
		tb.Fatalf("gitserver: create tag %s in %s: %v", tag, name, err)
	}
	return sha
}

// CreateAnnotatedTag creates an annotated tag at rev and returns the SHA of
// the tag object (not of the commit), as `git ls-remote` lists it.
func (r *Repos) CreateAnnotatedTag(tb testing.TB, name, tag, rev, message string) string {
	tb.Helper()
	sha, err := r.createAnnotatedTag(name, tag, rev, message)
	if err != nil {
		tb.Fatalf("gitserver: create tag %s in %s: %v", tag, name, err)
	}
	return sha
}

// Head returns the commit SHA branch points to.
func (r *Repos) Head(tb testing.TB, name, branch string) string {
	tb.Helper()
	dir, err := r.existing(name)
	if err == nil {
		var sha string
		sha, err = r.git(dir, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch+"^{commit}")
		if err == nil {
			return sha
		}
	}
	tb.Fatalf("gitserver: head of %s %s: %v", name, branch, err)
	return ""
}

// validName accepts slash-separated names whose segments start with a letter
// or digit, which rules out "..", hidden segments and absolute paths.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$`)

func (r *Repos) repoDir(name string) (string, error) {
	if !validName.MatchString(strings.TrimSuffix(name, ".git")) {
		return "", fmt.Errorf("invalid repository name %q", name)
	}
	return r.Dir(name), nil
}

func (r *Repos) existing(name string) (string, error) {
	dir, err := r.repoDir(name)
	if err != nil {
		return "", err
	}
	if !isBareRepo(dir) {
		return "", fmt.Errorf("repository %q does not exist", name)
	}
	return dir, nil
}

func isBareRepo(dir string) bool {
	head, err := os.Stat(filepath.Join(dir, "HEAD"))
	if err != nil || !head.Mode().IsRegular() {
		return false
	}
	objects, err := os.Stat(filepath.Join(dir, "objects"))
	return err == nil && objects.IsDir()
}

// git runs git against the bare repository dir.
func (r *Repos) git(dir string, args ...string) (string, error) {
	return runGit(gitEnv(r.home, "GIT_DIR="+dir), r.scratch, nil, args...)
}

func (r *Repos) createRepo(name, fixtureDir string) (string, error) {
	dir, err := r.repoDir(name)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s already exists", dir)
	}
	if _, err := runGit(gitEnv(r.home), r.scratch, nil, "init", "--quiet", "--bare", "--initial-branch="+DefaultBranch, dir); err != nil {
		return "", err
	}
	// git http-backend refuses anonymous pushes unless the repo opts in.
	if _, err := r.git(dir, "config", "http.receivepack", "true"); err != nil {
		return "", err
	}
	var tree string
	if fixtureDir == "" {
		tree, err = runGit(gitEnv(r.home, "GIT_DIR="+dir), r.scratch, []byte{}, "mktree")
	} else {
		tree, err = r.snapshot(dir, fixtureDir)
	}
	if err != nil {
		return "", err
	}
	sha, err := r.git(dir, "commit-tree", tree, "-m", "initial commit")
	if err != nil {
		return "", err
	}
	if _, err := r.git(dir, "update-ref", "refs/heads/"+DefaultBranch, sha, ""); err != nil {
		return "", err
	}
	return sha, nil
}

// snapshot writes the tree of workTree into the bare repo dir through a
// throwaway index, so the fixture is never copied or modified.
func (r *Repos) snapshot(dir, workTree string) (string, error) {
	abs, err := filepath.Abs(workTree)
	if err != nil {
		return "", fmt.Errorf("fixture: %w", err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("fixture %s is not a directory", workTree)
	}
	tmp, err := os.MkdirTemp(r.scratch, "index-")
	if err != nil {
		return "", fmt.Errorf("fixture: %w", err)
	}
	defer os.RemoveAll(tmp) //nolint:errcheck // in the test's temporary directory, removed when the test ends
	env := gitEnv(r.home, "GIT_DIR="+dir, "GIT_WORK_TREE="+abs, "GIT_INDEX_FILE="+filepath.Join(tmp, "index"))
	if _, err := runGit(env, abs, nil, "add", "--all", "--force", "."); err != nil {
		return "", err
	}
	return runGit(env, abs, nil, "write-tree")
}

func (r *Repos) commit(name, branch string, ch Change) (string, error) {
	dir, err := r.existing(name)
	if err != nil {
		return "", err
	}
	ref := "refs/heads/" + branch
	parent, err := r.git(dir, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("branch %s: %w", branch, err)
	}
	tmp, err := os.MkdirTemp(r.scratch, "commit-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) //nolint:errcheck // in the test's temporary directory, removed when the test ends
	tree := filepath.Join(tmp, "tree")
	if err := os.Mkdir(tree, 0o755); err != nil {
		return "", err
	}
	env := gitEnv(r.home, "GIT_DIR="+dir, "GIT_WORK_TREE="+tree, "GIT_INDEX_FILE="+filepath.Join(tmp, "index"))
	if _, err := runGit(env, tree, nil, "read-tree", parent); err != nil {
		return "", err
	}
	if _, err := runGit(env, tree, nil, "checkout-index", "--all"); err != nil {
		return "", err
	}
	for _, name := range ch.Remove {
		p, err := localPath(tree, name)
		if err != nil {
			return "", err
		}
		if _, err := os.Lstat(p); err != nil {
			return "", fmt.Errorf("remove %s: %w", name, err)
		}
		if err := os.RemoveAll(p); err != nil {
			return "", fmt.Errorf("remove %s: %w", name, err)
		}
	}
	if err := writeFiles(tree, ch.Files); err != nil {
		return "", err
	}
	if _, err := runGit(env, tree, nil, "add", "--all", "--force", "."); err != nil {
		return "", err
	}
	treeSHA, err := runGit(env, tree, nil, "write-tree")
	if err != nil {
		return "", err
	}
	msg := ch.Message
	if msg == "" {
		msg = "test commit"
	}
	sha, err := r.git(dir, "commit-tree", treeSHA, "-p", parent, "-m", msg)
	if err != nil {
		return "", err
	}
	// Passing the old value makes the update fail if someone pushed meanwhile.
	if _, err := r.git(dir, "update-ref", ref, sha, parent); err != nil {
		return "", err
	}
	return sha, nil
}

func (r *Repos) createRef(name, ref, rev string) (string, error) {
	dir, err := r.existing(name)
	if err != nil {
		return "", err
	}
	if _, err := r.git(dir, "check-ref-format", ref); err != nil {
		return "", fmt.Errorf("invalid ref %s: %w", ref, err)
	}
	sha, err := r.git(dir, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("revision %s: %w", rev, err)
	}
	// The empty old value makes update-ref refuse to overwrite an existing ref.
	if _, err := r.git(dir, "update-ref", ref, sha, ""); err != nil {
		return "", err
	}
	return sha, nil
}

func (r *Repos) createAnnotatedTag(name, tag, rev, message string) (string, error) {
	dir, err := r.existing(name)
	if err != nil {
		return "", err
	}
	if _, err := r.git(dir, "check-ref-format", "refs/tags/"+tag); err != nil {
		return "", fmt.Errorf("invalid tag %s: %w", tag, err)
	}
	sha, err := r.git(dir, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("revision %s: %w", rev, err)
	}
	if message == "" {
		message = tag
	}
	if _, err := r.git(dir, "tag", "--annotate", "--message", message, tag, sha); err != nil {
		return "", err
	}
	return r.git(dir, "rev-parse", "--verify", "refs/tags/"+tag)
}

// resolve maps a repository path requested by a remote client to a bare
// repository below the root. It rejects ".." before cleaning, because
// cleaning "/../x" would silently turn it into "/x".
func (r *Repos) resolve(requested string) (string, error) {
	rel := strings.TrimPrefix(requested, "/")
	for _, seg := range strings.Split(rel, "/") {
		if seg == ".." {
			return "", fmt.Errorf("repository path %q leaves the server root", requested)
		}
	}
	if rel == "" || !filepath.IsLocal(filepath.FromSlash(rel)) {
		return "", fmt.Errorf("invalid repository path %q", requested)
	}
	candidates := []string{rel}
	if !strings.HasSuffix(rel, ".git") {
		candidates = append(candidates, rel+".git")
	}
	root, err := filepath.EvalSymlinks(r.root)
	if err != nil {
		return "", fmt.Errorf("server root: %w", err)
	}
	for _, c := range candidates {
		dir, err := filepath.EvalSymlinks(filepath.Join(root, filepath.FromSlash(c)))
		if err != nil || !isBareRepo(dir) {
			continue
		}
		// A symlink inside the root could still point elsewhere.
		if inside, err := filepath.Rel(root, dir); err != nil || !filepath.IsLocal(inside) {
			return "", fmt.Errorf("repository path %q leaves the server root", requested)
		}
		return dir, nil
	}
	return "", fmt.Errorf("repository %q not found", requested)
}
