package rendertest

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"soll.dev/internal/render"
)

// IsLimit reports whether err is a *render.LimitError on limit (a Limits
// field name such as render.LimitTimeout), and marks the test failed,
// naming both, when it is not.
func IsLimit(t testing.TB, err error, limit string) bool {
	t.Helper()
	var le *render.LimitError
	if !errors.As(err, &le) || le.Limit != limit {
		t.Errorf("error %v, want a LimitError on %s", err, limit)
		return false
	}
	return true
}

// Cost runs fn and returns how long it took and how many bytes it
// allocated (garbage included; the heap is collected first), for tests
// that check a refusal is cheap.
func Cost(fn func()) (elapsed time.Duration, allocated uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	fn()
	elapsed = time.Since(start)
	runtime.ReadMemStats(&after)
	return elapsed, after.TotalAlloc - before.TotalAlloc
}
