package runner

import (
	"fmt"
	"strings"
	"time"
)

// agentConfig is what the agent's configuration file says.
type agentConfig struct {
	Interval    time.Duration
	Gzip        bool   // scrape with Accept-Encoding: gzip
	TargetsFile string // file_sd file; empty means no scrape job
	WriteURL    string
	Message     string // protobuf_message of the remote_write entry
	Compression string // ferry's remote_write compression key
	// SendDeadline, when set, is queue_config.batch_send_deadline.
	SendDeadline time.Duration
	// MaxSamplesPerSend, when set, is queue_config.max_samples_per_send.
	MaxSamplesPerSend int
	Relay             bool // enable ferry's remote-write receiver in relay mode
	Plain             bool // leave out ferry's extensions
}

// render returns the configuration as YAML: a Prometheus agent
// configuration, plus ferry's extensions unless Plain.
func (c agentConfig) render() string {
	var b strings.Builder
	timeout := min(c.Interval, 10*time.Second)
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  scrape_timeout: %s\n", promDuration(c.Interval), promDuration(timeout))
	if c.TargetsFile != "" {
		fmt.Fprintf(&b, "scrape_configs:\n  - job_name: node\n    enable_compression: %t\n", c.Gzip)
		fmt.Fprintf(&b, "    file_sd_configs:\n      - files: [%q]\n        refresh_interval: 30s\n", c.TargetsFile)
	}
	fmt.Fprintf(&b, "remote_write:\n  - name: bench\n    url: %s\n    protobuf_message: %s\n", c.WriteURL, c.Message)
	if c.SendDeadline > 0 || c.MaxSamplesPerSend > 0 {
		b.WriteString("    queue_config:\n")
	}
	if c.SendDeadline > 0 {
		fmt.Fprintf(&b, "      batch_send_deadline: %s\n", promDuration(c.SendDeadline))
	}
	if c.MaxSamplesPerSend > 0 {
		fmt.Fprintf(&b, "      max_samples_per_send: %d\n", c.MaxSamplesPerSend)
	}
	if c.Plain {
		return b.String()
	}
	fmt.Fprintf(&b, "    compression: %s\n", c.Compression)
	if c.Relay {
		b.WriteString("ferry:\n  receiver:\n    enabled: true\n    mode: relay\n")
	}
	return b.String()
}

// promDuration formats d in Prometheus' duration syntax.
func promDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}
