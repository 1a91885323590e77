package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// StderrTail is how much of the end of a program's standard error an Error
// keeps; StderrHead is how much of its start.
const (
	StderrTail = 4 << 10
	StderrHead = 512
)

// waitDelay bounds how long a killed program's descendants may keep its
// output open.
const waitDelay = 5 * time.Second

// ErrOutputLimit is the cause of a run stopped for printing more than its
// MaxOutput.
var ErrOutputLimit = errors.New("output limit")

// Command is a program to run.
type Command struct {
	// Path is the program, an absolute path or one relative to Dir.
	Path string
	// Args are the arguments, without the program's name.
	Args []string
	// Dir is the working directory; empty means the caller's.
	Dir string
	// Env is the whole environment of the program.
	Env []string
	// Stdin is the program's standard input; nil means none.
	Stdin io.Reader
	// MaxOutput bounds what the program may print on standard output.
	MaxOutput int64
	// Sandbox, when not nil, confines the program and everything it starts
	// (see Sandbox): Run starts the soll binary itself as a trampoline that
	// applies the sandbox to its own thread and then executes Path in its
	// place, with Env. Path must then be an absolute path or one relative
	// to Dir (no search in PATH).
	Sandbox *Sandbox
}

// Run runs c and returns what it printed on standard output. It fails
// with an *Error when the program fails, ctx ends (the Error wraps ctx's
// cause) or the output passes c.MaxOutput (it wraps ErrOutputLimit).
func Run(ctx context.Context, c Command) ([]byte, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stdout := &limitedBuffer{max: c.MaxOutput, full: func() { cancel(ErrOutputLimit) }}
	stderr := &stderrBuffer{}
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Env = c.Env
	if c.Sandbox != nil {
		self, env, err := c.sandboxed()
		if err != nil {
			return nil, &Error{Err: err}
		}
		cmd = exec.CommandContext(ctx, self)
		cmd.Env = env
	}
	cmd.Dir = c.Dir
	cmd.Stdin = c.Stdin
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd.Process) }
	cmd.WaitDelay = waitDelay
	err := cmd.Run()
	if cmd.Process != nil {
		_ = killGroup(cmd.Process)
	}
	if err == nil && !stdout.exceeded {
		return stdout.buf.Bytes(), nil
	}
	e := &Error{Err: err, Stderr: stderr.tail(), StderrHead: string(stderr.head)}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			e.MaxRSS = ru.Maxrss * 1024 // Linux counts in KiB
		}
	}
	switch cause := context.Cause(ctx); {
	case stdout.exceeded || errors.Is(cause, ErrOutputLimit):
		e.Err = ErrOutputLimit
	case cause != nil:
		e.Err = cause
	default:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			e.ExitCode = exit.ExitCode()
		}
	}
	return nil, e
}

// Error is a failed run.
type Error struct {
	// Err is the reason: the program's exit status, the cause of the
	// context's end, or ErrOutputLimit.
	Err error
	// ExitCode is the program's exit code when it exited by itself with
	// one other than 0; 0 otherwise.
	ExitCode int
	// Stderr is the end of the program's standard error, trimmed;
	// StderrHead is its start.
	Stderr     string
	StderrHead string
	// MaxRSS is the most memory the program held at once (its peak
	// resident set), in bytes; 0 when unknown.
	MaxRSS int64
}

func (e *Error) Error() string {
	if e.Stderr == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v; standard error ends with: %s", e.Err, e.Stderr)
}

func (e *Error) Unwrap() error { return e.Err }

// killGroup kills the process group of p, which p leads.
func killGroup(p *os.Process) error {
	err := syscall.Kill(-p.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
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
		return 0, ErrOutputLimit
	}
	if int64(b.buf.Len())+int64(len(p)) > b.max {
		b.exceeded = true
		b.full()
		return 0, ErrOutputLimit
	}
	return b.buf.Write(p)
}

// stderrBuffer keeps the first StderrHead and the last StderrTail bytes
// written.
type stderrBuffer struct {
	head []byte
	buf  []byte
}

func (b *stderrBuffer) Write(p []byte) (int, error) {
	if n := min(StderrHead-len(b.head), len(p)); n > 0 {
		b.head = append(b.head, p[:n]...)
	}
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - StderrTail; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *stderrBuffer) tail() string { return strings.TrimSpace(string(b.buf)) }
