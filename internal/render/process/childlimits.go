package process

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"syscall"
	"time"
)

// Exit codes of a renderer child (the soll binary started again to
// evaluate what cannot be interrupted in process: Jsonnet, Helm templates)
// that ended on one of its own limits.
const (
	// ExitMemory: the child's live heap passed its memory limit.
	ExitMemory = 4
	// ExitCPU: the child's CPU time passed its limit.
	ExitCPU = 5
)

// LimitChildMemory, called in a renderer child, bounds its memory to max
// bytes of live heap. A watchdog reads the live heap the garbage collector
// measured at its last cycle (every 10 ms) and ends the process with
// ExitMemory once it passes max; a program that grows gradually is stopped
// at the first cycle after. Between cycles the heap may grow to twice the
// live heap (GOGC=100), so the kernel refuses the process data memory
// beyond twice max and some more (RLIMIT_DATA: the heap; unlike RLIMIT_AS
// it leaves alone the address space Go reserves without using), which also
// stops a single huge allocation at once with "out of memory". The garbage
// collector works harder as the heap nears max, so the watchdog sees a live
// heap past max well before the kernel's limit is reached.
func LimitChildMemory(max int64) {
	if max <= 0 {
		return
	}
	backstop := 2*uint64(max) + 64<<20
	if err := syscall.Setrlimit(syscall.RLIMIT_DATA, &syscall.Rlimit{Cur: backstop, Max: backstop}); err != nil {
		fmt.Fprintf(os.Stderr, "limit memory: %v\n", err)
	}
	debug.SetMemoryLimit(max)
	go watchMemory(uint64(max))
}

// watchMemory ends the process with ExitMemory once the live heap holds
// more than max bytes.
func watchMemory(max uint64) {
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	for {
		metrics.Read(live)
		if live[0].Value.Kind() == metrics.KindUint64 && live[0].Value.Uint64() > max {
			fmt.Fprintln(os.Stderr, "the live heap passed the memory limit")
			os.Exit(ExitMemory)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// LimitChildCPU, called in a renderer child, bounds its CPU time to
// seconds: the kernel signals SIGXCPU at the soft limit, on which the child
// ends with ExitCPU, and kills it at the hard limit, two seconds later. The
// parent kills the child at the render's deadline first; the CPU limit also
// ends a child whose parent is gone.
func LimitChildCPU(seconds uint64) {
	if seconds == 0 {
		return
	}
	xcpu := make(chan os.Signal, 1)
	signal.Notify(xcpu, syscall.SIGXCPU)
	go func() {
		<-xcpu
		fmt.Fprintln(os.Stderr, "the CPU time passed its limit")
		os.Exit(ExitCPU)
	}()
	if err := syscall.Setrlimit(syscall.RLIMIT_CPU, &syscall.Rlimit{Cur: seconds, Max: seconds + 2}); err != nil {
		fmt.Fprintf(os.Stderr, "limit CPU time: %v\n", err)
	}
}

// oomMessages are the Go runtime's wordings of running out of memory. A
// thread stack is memory under RLIMIT_DATA too, so a thread that cannot be
// created is one of them.
var oomMessages = []string{"out of memory", "cannot allocate memory", "failed to create new OS thread", "pthread_create failed", "cannot map pages"}

// OutOfMemory tells whether the start of a child's standard error is the
// Go runtime failing for want of memory.
func OutOfMemory(stderr string) bool {
	for _, m := range oomMessages {
		if strings.Contains(stderr, m) {
			return true
		}
	}
	return false
}
