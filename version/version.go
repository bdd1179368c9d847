// Package version holds ferry's build identity: its version, the commit it
// was built from, and the User-Agent it presents to targets and remote-write
// receivers.
package version

import (
	"runtime"
	"runtime/debug"
)

// Set at build time with -ldflags "-X github.com/ferrymetrics/ferry/version.Version=...".
var (
	Version   = ""
	Revision  = ""
	Branch    = ""
	BuildUser = ""
	BuildDate = ""
)

// String returns the version, falling back to what the Go toolchain recorded
// when no version was set at build time.
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "0.1.0-dev"
}

// UserAgent is the User-Agent header ferry sends: "ferry/<version>".
func UserAgent() string { return "ferry/" + String() }

// GoVersion is the Go release ferry was built with.
func GoVersion() string { return runtime.Version() }
