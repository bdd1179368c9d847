// Package version holds ferry's build identity: its version, the commit it
// was built from, and the User-Agent it presents to targets and remote-write
// receivers.
package version

import (
	"runtime"
	"runtime/debug"
	"sync"
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
func String() string { return resolved() }

// resolved is computed once: reading the build info parses a text of some
// kilobytes, and the User-Agent goes on every scrape and every request.
var resolved = sync.OnceValue(func() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "0.1.0-dev"
})

// UserAgent is the User-Agent header ferry sends: "ferry/<version>".
func UserAgent() string { return userAgent() }

var userAgent = sync.OnceValue(func() string { return "ferry/" + String() })

// GoVersion is the Go release ferry was built with.
func GoVersion() string { return runtime.Version() }
