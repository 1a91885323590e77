//go:build unix

package confine

import (
	"os"
	"syscall"
)

// openFlags open files for reading without blocking: opening a FIFO would
// otherwise wait for a writer forever. OpenFile then refuses it by its mode.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK
