// Package version holds the build identity of the soll binary. The values are
// set at link time by the Makefile (-ldflags -X); a plain `go build` reports
// "dev" and falls back to the VCS data embedded by the Go toolchain.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set with -ldflags "-X soll.dev/internal/version.Version=... -X ...Commit=...
// -X ...Date=..." (the Makefile does; Date is the commit's time, RFC 3339).
var (
	Version = "dev"
	Commit  = ""
	Date    = ""
)

// Info describes the running binary.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	Date      string `json:"date,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the build identity of the running binary.
func Get() Info {
	commit, date := Commit, Date
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && commit == "":
				commit = s.Value
			case s.Key == "vcs.time" && date == "":
				date = s.Value
			}
		}
	}
	return Info{
		Version:   Version,
		Commit:    commit,
		Date:      date,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// String renders the identity on one line, as `soll version` prints it.
func (i Info) String() string {
	s := "soll " + i.Version
	switch {
	case i.Commit != "" && i.Date != "":
		s += " (" + i.Commit + ", " + i.Date + ")"
	case i.Commit != "":
		s += " (" + i.Commit + ")"
	}
	return fmt.Sprintf("%s %s %s", s, i.GoVersion, i.Platform)
}
