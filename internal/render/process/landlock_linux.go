//go:build linux

package process

import (
	"errors"
	"fmt"
	"os"

	"github.com/landlock-lsm/go-landlock/landlock"
	llsyscall "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// Landlock returns the Landlock ABI version the kernel offers, or an error
// saying why it offers none.
func Landlock() (int, error) {
	abi, err := llsyscall.LandlockGetABIVersion()
	if err != nil {
		return 0, fmt.Errorf("landlock_create_ruleset: %w (Linux 5.13 or later with Landlock enabled, e.g. lsm=landlock,... on the kernel command line, is needed)", err)
	}
	if abi <= 0 {
		return 0, errors.New("landlock is not enabled in this kernel")
	}
	return abi, nil
}

// config is what soll restricts: every file-system right and the IPC
// scopes (signals, abstract UNIX sockets) go-landlock knows, downgraded to
// what the kernel supports. The network is not restricted: plugins may
// need it to fetch dependencies.
func config() landlock.Config {
	return landlock.Config{
		HandledAccessFS: landlock.V11.HandledAccessFS,
		Scoped:          landlock.V11.Scoped,
	}.BestEffort()
}

// rules lists the Landlock rules of s.
func (s Sandbox) rules() []landlock.Rule {
	rules := []landlock.Rule{
		landlock.RODirs(SystemDirs...).IgnoreIfMissing(),
		landlock.RWFiles(deviceFiles...).IgnoreIfMissing(),
	}
	for _, p := range s.ReadOnly {
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			rules = append(rules, landlock.ROFiles(p))
		} else {
			rules = append(rules, landlock.RODirs(p))
		}
	}
	if len(s.ReadWrite) > 0 {
		rules = append(rules, landlock.RWDirs(s.ReadWrite...).WithRefer())
	}
	return rules
}

// restrictThread confines the calling thread, which must be locked to its
// goroutine and must not be unlocked afterwards, and what it executes.
func (s Sandbox) restrictThread() error {
	fd, flags, err := config().NewRulesetFD(s.rules()...)
	if err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	if fd < 0 {
		return nil // no Landlock in this kernel: logged by the parent
	}
	defer unix.Close(fd) //nolint:errcheck // the ruleset is in force or refused by then; its descriptor only needs releasing
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	if err := llsyscall.LandlockRestrictSelf(fd, flags); err != nil {
		return fmt.Errorf("landlock_restrict_self: %w", err)
	}
	return nil
}

// RestrictSelf confines the calling process, every thread of it, with s
// (its file-system rules; MaxMemoryBytes is left to the caller). Child
// processes of soll that run soll's own code, such as Jsonnet
// evaluations, call it before they read their input.
func RestrictSelf(s Sandbox) error {
	if err := config().Restrict(s.rules()...); err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	return nil
}
