package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// timerSlackOf reads the timer slack of every thread of process pid.
func timerSlackOf(t *testing.T, pid int) map[int]bool {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	require.NoError(t, err)
	require.NotEmpty(t, tasks)
	slacks := map[int]bool{}
	for _, task := range tasks {
		// /proc/PID/timerslack_ns holds one thread's slack: each thread
		// is read through its own id.
		b, err := os.ReadFile(filepath.Join("/proc", filepath.Base(task), "timerslack_ns"))
		if os.IsNotExist(err) {
			continue // the thread ended meanwhile
		}
		if os.IsPermission(err) {
			t.Skipf("threads' timer slack cannot be read here: %v", err)
		}
		require.NoError(t, err)
		v, err := strconv.Atoi(strings.TrimSpace(string(b)))
		require.NoError(t, err)
		slacks[v] = true
	}
	return slacks
}

func TestEveryThreadRunsWithTheTimerSlack(t *testing.T) {
	own, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	require.NoError(t, err)
	for _, c := range []struct {
		flag string
		want int
	}{
		{"", int(defaultTimerSlack.Nanoseconds())},
		{"--runtime.timer-slack=3ms", 3_000_000},
		{"--runtime.timer-slack=0", own}, // inherited from the test, untouched
	} {
		t.Run(c.flag, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeFile(t, dir, "ferry.yml", "global: {scrape_interval: 1s}\n")
			args := []string{"--config.file=" + cfg, "--storage.agent.path=" + filepath.Join(dir, "data")}
			if c.flag != "" {
				args = append(args, c.flag)
			}
			f := startFerry(t, args...)
			// ferry started itself again in the same process: the one
			// the test started is the one that is ready.
			httpGet(t, f.base+"/-/ready")
			require.Equal(t, map[int]bool{c.want: true}, timerSlackOf(t, f.cmd.Process.Pid))
			require.NotContains(t, f.stderr.String(), "timer slack")
		})
	}
}
