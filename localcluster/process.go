package localcluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is a component started by Up. Its identity is the PID plus the
// process start time (from /proc), so Down never signals a process that
// merely reused the PID.
type process struct {
	Name      string `json:"name"`
	PID       int    `json:"pid"`
	StartTime uint64 `json:"startTime"` // clock ticks since boot, /proc/PID/stat field 22
	Log       string `json:"log"`
	// Bin and Args are the command line, so Restart can run it again.
	Bin  string   `json:"bin,omitempty"`
	Args []string `json:"args,omitempty"`

	exited chan struct{} // closed when the process ends, if we are its parent
	err    error         // exit error, valid after exited is closed
}

// startProcess runs bin with args in its own session (so it outlives the
// launcher and terminal signals do not reach it) with output to DIR/logs.
func startProcess(dir, name, bin string, args []string) (*process, error) {
	logPath := filepath.Join(dir, "logs", name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() //nolint:errcheck // the child has its own descriptor, and writes through it
	if _, err := fmt.Fprintf(logFile, "# %s %s\n", bin, strings.Join(args, " ")); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = componentEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	st, err := procStartTime(cmd.Process.Pid)
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{Name: name, PID: cmd.Process.Pid, StartTime: st, Log: logPath, Bin: bin, Args: args, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// componentEnv is a small, predictable environment: the components must not
// pick up a developer's KUBECONFIG, proxies or cloud credentials.
func componentEnv() []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
	for _, k := range []string{"TMPDIR", "GOCOVERDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// procStat returns the fields of /proc/PID/stat after the command name
// (which is in parentheses and may hold spaces): out[0] is field 3, the
// state, so field N is out[N-3].
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return nil, fmt.Errorf("parse /proc/%d/stat: too few fields", pid)
	}
	return fields, nil
}

// procStartTime reads the start time of pid (field 22).
func procStartTime(pid int) (uint64, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// procState returns the state letter of pid ('R', 'S', 'Z', ...).
func procState(pid int) (byte, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	return f[0][0], nil
}

// clockTicks is USER_HZ, the unit of CPU times in /proc/PID/stat; it is
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// ProcessCPU returns the user plus system CPU time process pid has used so
// far (fields 14 and 15 of /proc/PID/stat).
func ProcessCPU(pid int) (time.Duration, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat: bad CPU times", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// alive reports whether the process recorded in p still runs (and is the
// same process: same PID and start time).
func (p *process) alive() bool {
	if p.exited != nil {
		select {
		case <-p.exited:
			return false
		default:
		}
	}
	st, err := procStartTime(p.PID)
	if err != nil || st != p.StartTime {
		return false
	}
	state, err := procState(p.PID)
	return err == nil && state != 'Z' && state != 'X'
}

// stop sends SIGTERM to the process's group, then SIGKILL after grace.
func (p *process) stop(grace time.Duration) error {
	if !p.alive() {
		return nil
	}
	// Setsid made the component a process-group leader: signal the group
	// so helpers it may have spawned go too.
	if err := syscall.Kill(-p.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop %s (pid %d): %w", p.Name, p.PID, err)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !p.alive() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := syscall.Kill(-p.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %s (pid %d): %w", p.Name, p.PID, err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if !p.alive() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.Name, p.PID)
}

// exitedEarly returns a non-nil error when a process we started has exited.
func (p *process) exitedEarly() error {
	if p.exited == nil {
		if p.alive() {
			return nil
		}
		return fmt.Errorf("%s (pid %d) is not running", p.Name, p.PID)
	}
	select {
	case <-p.exited:
		if p.err != nil {
			return fmt.Errorf("%s exited: %w", p.Name, p.err)
		}
		return fmt.Errorf("%s exited", p.Name)
	default:
		// The process may have ended (a zombie not yet reaped by our
		// Wait goroutine): /proc tells, and the exit status follows at once.
		if !p.alive() {
			select {
			case <-p.exited:
				return p.exitedEarly()
			case <-time.After(time.Second):
				return fmt.Errorf("%s (pid %d) is not running", p.Name, p.PID)
			}
		}
		return nil
	}
}

// logTail returns the last n lines of the process's log.
func (p *process) logTail(n int) string {
	b, err := os.ReadFile(p.Log)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.Log, err)
	}
	return tail(b, n)
}
