package runner

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// agentMetricNames are the agent's own metrics a result reports, each
// summed over its label sets.
var agentMetricNames = []string{
	"ferry_log_size_bytes", "ferry_log_segments", "ferry_log_appended_samples_total", "ferry_log_appended_records_total",
	"ferry_log_cursor_lag_samples", "ferry_remote_requests_total",
	"prometheus_remote_storage_samples_total", "prometheus_remote_storage_samples_failed_total",
	"prometheus_remote_storage_samples_retried_total", "prometheus_remote_storage_samples_dropped_total",
	"prometheus_remote_storage_samples_pending", "prometheus_remote_storage_bytes_total",
	"prometheus_remote_storage_shards", "prometheus_target_scrape_pool_targets",
	"go_memstats_heap_inuse_bytes", "go_memstats_heap_alloc_bytes", "go_memstats_next_gc_bytes", "go_goroutines",
	// Where resident memory beyond the heap's objects goes.
	"go_memstats_heap_idle_bytes", "go_memstats_heap_released_bytes", "go_memstats_stack_inuse_bytes",
	"go_memstats_mspan_inuse_bytes", "go_memstats_gc_sys_bytes", "go_memstats_other_sys_bytes", "go_memstats_sys_bytes",
	"process_resident_memory_bytes", "ferry_log_records_read_from_memory_total",
}

// agentMetrics scrapes the agent's /metrics and returns agentMetricNames'
// values.
func agentMetrics(ctx context.Context, listen string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+listen+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	want := map[string]bool{}
	for _, n := range agentMetricNames {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		if !want[name] {
			continue
		}
		if j := strings.LastIndexByte(rest, '}'); j >= 0 {
			rest = rest[j+1:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			out[name] += v
		}
	}
	return out, sc.Err()
}

// profile saves the agent's CPU profile over d and then its heap profile
// into dir, named after prefix, and returns the file paths. The heap
// profile's collection is in the agent's CPU time, once per run.
func profile(ctx context.Context, listen, dir, prefix string, d time.Duration) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range []struct{ name, path string }{
		{"cpu", fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(d.Seconds()))},
		// gc=1 collects first: otherwise the profile shows what was live at
		// the last collection, which at a low allocation rate can be a
		// minute old.
		{"heap", "/debug/pprof/heap?gc=1"},
	} {
		file := filepath.Join(dir, prefix+"-"+p.name+".pprof")
		if err := fetch(ctx, "http://"+listen+p.path, file, d+time.Minute); err != nil {
			return out, fmt.Errorf("%s profile: %w", p.name, err)
		}
		out[p.name] = file
	}
	return out, nil
}

// fetch saves the body of a GET to file.
func fetch(ctx context.Context, url, file string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
