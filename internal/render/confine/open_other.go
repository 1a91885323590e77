//go:build !unix

package confine

import "os"

// openFlags open files for reading. Only Unix has FIFOs that block on open.
const openFlags = os.O_RDONLY
