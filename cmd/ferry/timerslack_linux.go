package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// applyTimerSlack gives every thread of the process the timer slack d,
// starting the program again to do so. It returns only if nothing needed
// doing or if that failed; 0 leaves the kernel's default.
//
// Linux sets the slack per thread (prctl), and a thread inherits its
// creator's. The Go runtime has started its threads, sysmon among them,
// before main runs, so the one way to reach all of them is to set the
// slack on the thread that calls execve, which keeps it, and to let the
// runtime start afresh from that thread.
func applyTimerSlack(d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if _, again := os.LookupEnv(timerSlackExecEnv); again {
		return os.Unsetenv(timerSlackExecEnv)
	}
	runtime.LockOSThread() // prctl and execve must run on one thread
	defer runtime.UnlockOSThread()
	cur, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		return fmt.Errorf("read timer slack: %w", err)
	}
	if time.Duration(cur) == d {
		return nil // set by whoever started ferry
	}
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(d.Nanoseconds()), 0, 0, 0); err != nil {
		return fmt.Errorf("set timer slack: %w", err)
	}
	// A real-time thread ignores the slack: starting again would not help.
	if got, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0); err != nil || time.Duration(got) != d {
		return fmt.Errorf("the kernel kept a timer slack of %v", time.Duration(got))
	}
	// /proc/self/exe is the running binary even if its file was replaced
	// meanwhile, as an upgrade does.
	exe := "/proc/self/exe"
	if _, err := os.Stat(exe); err != nil {
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("start again with the timer slack set: %w", err)
		}
	}
	err = syscall.Exec(exe, os.Args, append(os.Environ(), timerSlackExecEnv+"=1"))
	// Still here: the slack stays on this thread alone, which is harmless.
	return fmt.Errorf("start again with the timer slack set: %w", err)
}
