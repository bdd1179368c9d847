package runner

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// procSample is one reading of a process's resource use from /proc.
type procSample struct {
	CPUSeconds float64 // utime + stime of all threads
	RSS        int64   // VmRSS, bytes
	RSSAnon    int64   // RssAnon: VmRSS without the pages of mapped files (the binary's code), bytes
	HWM        int64   // VmHWM (peak RSS), bytes
	WriteBytes int64   // bytes the process caused to be written to storage
	Threads    int64
}

// readProc reads /proc/PID/{stat,status,io}.
func readProc(pid int) (procSample, error) {
	var s procSample
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name, in parentheses, may contain spaces; the fields
	// after its closing parenthesis start with field 3 (state).
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("/proc/%d/stat: bad utime/stime %q %q", pid, f[11], f[12])
	}
	s.CPUSeconds = float64(utime+stime) / clockTicks

	status, err := readKeyValues(fmt.Sprintf("/proc/%d/status", pid), ":")
	if err != nil {
		return s, err
	}
	s.RSS = parseKB(status["VmRSS"])
	s.HWM = parseKB(status["VmHWM"])
	s.RSSAnon = parseKB(status["RssAnon"])
	s.Threads, _ = strconv.ParseInt(status["Threads"], 10, 64)

	io, err := readKeyValues(fmt.Sprintf("/proc/%d/io", pid), ":")
	if err != nil {
		return s, err
	}
	s.WriteBytes, _ = strconv.ParseInt(io["write_bytes"], 10, 64)
	return s, nil
}

// readKeyValues reads a "key<sep> value" file into a map.
func readKeyValues(path, sep string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m, nil
}

// parseKB parses "1234 kB" into bytes.
func parseKB(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
	return n * 1024
}

// loadAvg returns the 1, 5 and 15 minute load averages.
func loadAvg() [3]float64 {
	var la [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return la
	}
	f := strings.Fields(string(b))
	for i := 0; i < 3 && i < len(f); i++ {
		la[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return la
}

// selfCPUSeconds returns the CPU time of this process (the harness: load
// generator, receiver and runner), so a result can show what the harness
// itself cost the machine.
func selfCPUSeconds() float64 {
	s, err := readProc(os.Getpid())
	if err != nil {
		return 0
	}
	return s.CPUSeconds
}
