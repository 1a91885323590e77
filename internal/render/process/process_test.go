package process

import (
	"context"
	"errors"
	"testing"
)

// TestErrorReportsPeakMemory: a failed program's Error carries its exit
// code and the most memory it held, which callers use to tell a program
// that crashed for want of memory.
func TestErrorReportsPeakMemory(t *testing.T) {
	// The shell holds 32 MB in a variable, then fails.
	_, err := Run(context.Background(), Command{
		Path:      "/bin/sh",
		Args:      []string{"-c", `x=$(head -c 32000000 /dev/zero | tr '\0' a); echo "failed after ${#x} bytes" >&2; exit 3`},
		MaxOutput: 1 << 20,
	})
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("Run = %v, want an *Error", err)
	}
	if pe.ExitCode != 3 {
		t.Errorf("ExitCode = %d, want 3", pe.ExitCode)
	}
	if pe.StderrHead != "failed after 32000000 bytes\n" && pe.Stderr != "failed after 32000000 bytes" {
		t.Errorf("standard error = %q / %q", pe.StderrHead, pe.Stderr)
	}
	if pe.MaxRSS < 32_000_000 || pe.MaxRSS > 1<<30 {
		t.Errorf("MaxRSS = %d, want at least the 32 MB the program held", pe.MaxRSS)
	}
}
