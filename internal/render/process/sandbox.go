package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
)

// Sandbox confines a program run by Run (Command.Sandbox) or the calling
// process (RestrictSelf): the program may read and execute what lies in
// the system directories (SystemDirs), read ReadOnly, read and write
// ReadWrite, and nothing else of the file system, and each of its
// processes may hold at most MaxMemoryBytes of data memory. It may not
// signal processes outside its sandbox (soll) nor reach their abstract
// UNIX sockets.
//
// File-system confinement uses Landlock, which the kernel applies to the
// program and every process it starts, irrevocably. Where the kernel has
// no Landlock the program runs without file-system confinement (see
// Landlock); where it has an older version, the rights that version knows
// are enforced (best effort).
type Sandbox struct {
	// ReadOnly are absolute paths of directories the program may read and
	// execute, with all below them, or of single files it may read and
	// execute.
	ReadOnly []string
	// ReadWrite are absolute paths of directories the program may read,
	// write and change, with all below them: its private temporary
	// directories.
	ReadWrite []string
	// MaxMemoryBytes bounds the data memory (RLIMIT_DATA: heap and
	// private writable mappings) of each process of the program; 0 or
	// less means no bound.
	MaxMemoryBytes int64
}

// SystemDirs are the directories every sandboxed program may read and
// execute: the system's programs, libraries and configuration. Missing
// ones are left out. Nothing else is granted: not /var/run/secrets (the
// service-account token), /tmp, /home, soll's cache, nor /proc, whose
// files would show soll's own environment. (Landlock does not restrict
// looking paths up, so readlink /proc/self/exe and the pipes of
// /dev/fd still work.)
var SystemDirs = []string{"/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/etc"}

// deviceFiles are the device files every sandboxed program may read and
// write.
var deviceFiles = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"}

// sandboxEnv marks a start of the soll binary as the sandbox trampoline
// (see trampoline): its value is the JSON of a trampolineSpec.
const sandboxEnv = "SOLL_SANDBOX_EXEC"

// trampolineExit is the trampoline's exit code when it fails before the
// program runs; trampolineNotFound when the program does not exist.
const (
	trampolineExit     = 125
	trampolineNotFound = 127
)

func init() {
	if spec, ok := os.LookupEnv(sandboxEnv); ok {
		os.Exit(trampoline(spec))
	}
}

// trampolineSpec is what Run asks the trampoline to run.
type trampolineSpec struct {
	Path    string
	Args    []string
	Sandbox Sandbox
}

// trampoline confines its own thread with spec's sandbox and replaces
// itself with the program, with its own environment minus sandboxEnv.
// Landlock and resource limits apply to the thread that calls them and
// are inherited across execve: the goroutine stays locked to its thread
// from the restriction to the exec. It returns only on failure, with the
// exit code.
func trampoline(raw string) int {
	var spec trampolineSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil || spec.Path == "" {
		fmt.Fprintf(os.Stderr, "soll sandbox: invalid request: %v\n", err)
		return trampolineExit
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, sandboxEnv+"=") {
			env = append(env, kv)
		}
	}
	runtime.LockOSThread() // never unlocked: the thread execs or exits
	if err := spec.Sandbox.limitMemory(); err != nil {
		fmt.Fprintf(os.Stderr, "soll sandbox: %v\n", err)
		return trampolineExit
	}
	if err := spec.Sandbox.restrictThread(); err != nil {
		fmt.Fprintf(os.Stderr, "soll sandbox: %v\n", err)
		return trampolineExit
	}
	err := syscall.Exec(spec.Path, append([]string{spec.Path}, spec.Args...), env)
	fmt.Fprintf(os.Stderr, "soll sandbox: run %s: %v\n", spec.Path, err)
	if errors.Is(err, fs.ErrNotExist) {
		return trampolineNotFound
	}
	return trampolineExit
}

// limitMemory sets RLIMIT_DATA, inherited by the program and its
// children.
func (s Sandbox) limitMemory() error {
	if s.MaxMemoryBytes <= 0 {
		return nil
	}
	l := uint64(s.MaxMemoryBytes)
	if err := syscall.Setrlimit(syscall.RLIMIT_DATA, &syscall.Rlimit{Cur: l, Max: l}); err != nil {
		return fmt.Errorf("limit memory: %w", err)
	}
	return nil
}

// sandboxed returns the program and environment that run c's program
// through the trampoline: the soll binary itself, started again with the
// request in sandboxEnv. The trampoline runs in c.Dir, so that a relative
// c.Path stays relative to it.
func (c Command) sandboxed() (path string, env []string, err error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, fmt.Errorf("find soll's own program to start the sandbox with: %w", err)
	}
	spec := trampolineSpec{Path: c.Path, Args: c.Args, Sandbox: *c.Sandbox}
	raw, err := json.Marshal(&spec)
	if err != nil {
		return "", nil, err
	}
	env = append(append(make([]string, 0, len(c.Env)+1), c.Env...), sandboxEnv+"="+string(raw))
	logLandlockOnce()
	return self, env, nil
}

var landlockOnce sync.Once

// logLandlockOnce says once, in the log, what confinement the kernel
// gives sandboxed programs.
func logLandlockOnce() {
	landlockOnce.Do(func() {
		abi, err := Landlock()
		if err != nil {
			slog.Warn("the kernel has no Landlock: renderer child processes (plugins, Jsonnet) run without file-system confinement; "+
				"they keep their clean environment, private copies, process groups and limits, but can read any file the controller can read",
				"reason", err.Error())
			return
		}
		slog.Info("renderer child processes are confined with Landlock", "abi", abi)
	})
}
