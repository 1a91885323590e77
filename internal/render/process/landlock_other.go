//go:build !linux

package process

import "errors"

var errNoLandlock = errors.New("landlock exists on Linux only")

// Landlock returns the Landlock ABI version the kernel offers: none here.
func Landlock() (int, error) { return 0, errNoLandlock }

func (s Sandbox) restrictThread() error { return nil }

// RestrictSelf does nothing where there is no Landlock.
func RestrictSelf(s Sandbox) error { return nil }
