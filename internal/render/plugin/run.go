package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"soll.dev/internal/render/process"
)

// cleanPath is the only PATH plugins see.
const cleanPath = "/usr/local/bin:/usr/bin:/bin"

// run runs argv in dir with env, the whole environment, confined by
// sandbox, and returns what it printed on standard output, at most max
// bytes. The program gets a process group of its own, killed as a whole
// when ctx ends, when the output goes past max and after the program exits,
// so that nothing it started lingers (see package process).
//
// A program named by an absolute path is added to what the sandbox may read
// and execute (those in the system directories, process.SystemDirs,
// already are): the operator chose it. Only the program file is: files it
// needs beside it, outside the system directories, are not readable.
func run(ctx context.Context, dir string, env, argv []string, max int64, sandbox *process.Sandbox) ([]byte, error) {
	prog, err := lookPath(argv[0], dir)
	if err != nil {
		return nil, err
	}
	sb := *sandbox
	if filepath.IsAbs(argv[0]) {
		sb.ReadOnly = append(slices.Clip(sb.ReadOnly), prog)
	}
	out, err := process.Run(ctx, process.Command{Path: prog, Args: argv[1:], Dir: dir, Env: env, MaxOutput: max, Sandbox: &sb})
	var pe *process.Error
	var exit *exec.ExitError
	switch {
	case !errors.As(err, &pe):
	case errors.Is(pe.Err, process.ErrOutputLimit):
		pe.Err = fmt.Errorf("printed more than %d bytes, the plugin's maxOutputBytes", max)
	case errors.As(pe.Err, &exit) && sb.MaxMemoryBytes > 0 && pe.MaxRSS >= sb.MaxMemoryBytes/2:
		// Programs refused memory crash or fail in their own words; the
		// peak shows which limit they probably met.
		pe.Err = fmt.Errorf("%w (it held %d MiB at its peak and probably ran out of memory: each process of a plugin may hold at most %d MiB of data memory, the render's memory limit)",
			pe.Err, pe.MaxRSS>>20, sb.MaxMemoryBytes>>20)
	}
	return out, err
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
