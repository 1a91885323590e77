package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// cleanPath is the only PATH plugins see.
const cleanPath = "/usr/local/bin:/usr/bin:/bin"

// stderrTail is how much of the end of a program's standard error an error
// quotes.
const stderrTail = 4 << 10

// waitDelay bounds how long a killed program's descendants may keep its
// output open.
const waitDelay = 5 * time.Second

// errOutputLimit is the cause of a run canceled for printing too much.
var errOutputLimit = errors.New("output limit")

// run runs argv in dir with env, the whole environment, and returns what it
// printed on standard output, at most max bytes. The program gets a process
// group of its own, killed as a whole when ctx ends, when the output goes
// past max and after the program exits, so that nothing it started lingers.
func run(ctx context.Context, dir string, env, argv []string, max int64) ([]byte, error) {
	prog, err := lookPath(argv[0], dir)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stdout := &limitedBuffer{max: max, full: func() { cancel(errOutputLimit) }}
	stderr := &tailBuffer{max: stderrTail}
	cmd := exec.CommandContext(ctx, prog, argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = nil
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd.Process) }
	cmd.WaitDelay = waitDelay
	err = cmd.Run()
	if cmd.Process != nil {
		_ = killGroup(cmd.Process)
	}
	if err == nil && !stdout.exceeded {
		return stdout.buf.Bytes(), nil
	}
	switch cause := context.Cause(ctx); {
	case stdout.exceeded || errors.Is(cause, errOutputLimit):
		err = fmt.Errorf("printed more than %d bytes, the plugin's maxOutputBytes", max)
	case cause != nil:
		err = cause
	}
	return nil, &runError{err: err, stderr: stderr.String()}
}

// runError is a failed run with the end of what the program printed on
// standard error.
type runError struct {
	err    error
	stderr string
}

func (e *runError) Error() string {
	if e.stderr == "" {
		return e.err.Error()
	}
	return fmt.Sprintf("%v; standard error ends with: %s", e.err, e.stderr)
}

func (e *runError) Unwrap() error { return e.err }

// killGroup kills the process group of p, which p leads.
func killGroup(p *os.Process) error {
	err := syscall.Kill(-p.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// lookPath finds prog as the clean PATH would: a name with a slash is
// relative to dir, a bare name is looked up in cleanPath, never in the
// controller's own PATH.
func lookPath(prog, dir string) (string, error) {
	if strings.Contains(prog, "/") {
		if !filepath.IsAbs(prog) {
			prog = filepath.Join(dir, prog)
		}
		return prog, nil
	}
	for _, d := range filepath.SplitList(cleanPath) {
		p := filepath.Join(d, prog)
		if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("program %s not found in %s", prog, cleanPath)
}

// limitedBuffer keeps up to max bytes and calls full once when more come.
type limitedBuffer struct {
	buf      bytes.Buffer
	max      int64
	exceeded bool
	full     func()
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.exceeded {
		return 0, errOutputLimit
	}
	if int64(b.buf.Len())+int64(len(p)) > b.max {
		b.exceeded = true
		b.full()
		return 0, errOutputLimit
	}
	return b.buf.Write(p)
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string { return strings.TrimSpace(string(b.buf)) }
