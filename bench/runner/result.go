package runner

import (
	"github.com/ferrymetrics/ferry/bench/loadgen"
	"github.com/ferrymetrics/ferry/bench/receiver"
)

// Result is what a run prints: one JSON object. Sample counts are of the
// payload (what the targets exposed, or the senders pushed) unless a name
// says otherwise; the agent's report series (up, scrape_*) and stale
// markers are counted apart.
type Result struct {
	Scenario string  `json:"scenario"`
	Started  string  `json:"started"`
	Machine  Machine `json:"machine"`
	Agent    Build   `json:"agent"`
	Load     Load    `json:"load"`

	DurationS float64 `json:"duration_s"`
	WarmupS   float64 `json:"warmup_s"`
	// WindowS is the measured window: from the end of the warm-up to the
	// end of the load.
	WindowS float64 `json:"window_s"`

	Delivery Delivery `json:"delivery"`
	Cost     Cost     `json:"cost"`
	Wire     Wire     `json:"wire"`

	Catchup *Catchup     `json:"catchup,omitempty"`
	Restart *RestartInfo `json:"restart,omitempty"`
	// Steps are the scale scenario's runs; Saturation its verdict.
	Steps      []Result    `json:"steps,omitempty"`
	Saturation *Saturation `json:"saturation,omitempty"`

	// Targets is what the load generator served; Receiver what the
	// counting receiver saw; AgentMetrics a few of the agent's own
	// metrics at the end of the window.
	Targets      loadgen.Stats      `json:"targets"`
	Receiver     receiver.Stats     `json:"receiver"`
	AgentMetrics map[string]float64 `json:"agent_metrics,omitempty"`
	Profiles     map[string]string  `json:"profiles,omitempty"`
	// HarnessCPUS is the CPU time the harness itself (load generator,
	// receiver, runner) used during the window, in seconds.
	HarnessCPUS float64  `json:"harness_cpu_s"`
	Notes       []string `json:"notes,omitempty"`
	Error       string   `json:"error,omitempty"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	Kernel   string `json:"kernel"`
	MemBytes int64  `json:"mem_bytes"`
	// LoadStart and LoadEnd are /proc/loadavg's 1, 5 and 15 minute
	// averages; LoadMax1 the highest 1-minute average seen during the run.
	LoadStart [3]float64 `json:"loadavg_start"`
	LoadEnd   [3]float64 `json:"loadavg_end"`
	LoadMax1  float64    `json:"loadavg_1m_max"`
}

// Build identifies the agent binary.
type Build struct {
	Binary  string `json:"binary"`
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	// Dirty is true when the binary was built from a tree with
	// uncommitted changes to tracked files.
	Dirty bool `json:"dirty,omitempty"`
}

// Load is the offered load.
type Load struct {
	Targets     int     `json:"targets"`
	Series      int     `json:"series"`
	Interval    string  `json:"interval"`
	Gzip        bool    `json:"gzip"`
	Protocol    string  `json:"protocol"`
	Compression string  `json:"compression"`
	Churn       float64 `json:"churn_per_minute,omitempty"`
	// SendDeadline is the batch_send_deadline set in the agent's
	// configuration; empty means the agent's default.
	SendDeadline string `json:"batch_send_deadline,omitempty"`
	// MaxSamplesPerSend is the max_samples_per_send set in the agent's
	// configuration; 0 means the agent's default.
	MaxSamplesPerSend int    `json:"max_samples_per_send,omitempty"`
	Seed              uint64 `json:"seed"`
	// IngestRate is Targets*Series/Interval, samples per second.
	IngestRate float64 `json:"ingest_rate"`
	// ActiveSeries is Targets*(Series+5): the payload and the five report
	// series of each target.
	ActiveSeries int64 `json:"active_series"`
}

// Delivery compares what was offered with what arrived.
type Delivery struct {
	// Expected are the samples the targets served (or the agent
	// acknowledged, relaying); Delivered the unique ones that arrived.
	Expected  int64   `json:"expected"`
	Delivered int64   `json:"delivered"`
	Ratio     float64 `json:"ratio"`
	Missing   int64   `json:"missing"`
	// Extra are delivered payload samples beyond Expected: samples from
	// scrapes the generator counts as not served (for example, a body cut
	// short by a killed agent that still got its data).
	Extra      int64 `json:"extra"`
	Duplicates int64 `json:"duplicates"`
	OutOfOrder int64 `json:"out_of_order"`
	// AgentFailedScrapes are the scrapes the agent reported as failed
	// (up == 0) while the targets were serving. A target counts a scrape
	// as served once it has written the body; an agent that gave up on it
	// (scrape timeout) has no samples from it, which shows as Missing.
	AgentFailedScrapes int64 `json:"agent_failed_scrapes"`
	// DrainS is how long after the load stopped the last expected sample
	// arrived; -1 if they did not all arrive within the drain timeout.
	DrainS float64           `json:"drain_s"`
	LagMs  receiver.LagStats `json:"lag_ms"`
}

// Cost is what the agent used.
type Cost struct {
	// CPUS is CPU time (user+system, all threads) in the window;
	// CPUCores the same divided by the window.
	CPUS     float64 `json:"cpu_s"`
	CPUCores float64 `json:"cpu_cores"`
	// WindowSamples are the samples ingested in the window, the
	// denominator of every per-sample figure.
	WindowSamples  int64   `json:"window_samples"`
	CPUUsPerSample float64 `json:"cpu_us_per_sample"`
	// RSS figures, in bytes. Peak is VmHWM (all of the run); WindowAvg
	// and WindowMax are of VmRSS sampled every second in the window.
	RSSPeak      int64 `json:"rss_peak_bytes"`
	RSSWindowAvg int64 `json:"rss_window_avg_bytes"`
	RSSWindowMax int64 `json:"rss_window_max_bytes"`
	// RSSBaseline is the agent's RSS with no targets; the per-series
	// figures subtract it. 0 when not measured (then the per-series
	// figures are absent).
	RSSBaseline      int64      `json:"rss_baseline_bytes"`
	RSSPerSeriesAvg  float64    `json:"rss_bytes_per_series_avg,omitempty"`
	RSSPerSeriesPeak float64    `json:"rss_bytes_per_series_peak,omitempty"`
	RSSOverTime      [][2]int64 `json:"rss_over_time"` // [seconds since ready, bytes]
	// The same for RssAnon: resident memory without the pages of the
	// binary and other mapped files. How much of the binary the kernel
	// maps in depends on what of it is in the page cache, which moves
	// VmRSS (and the baseline) by up to 10 MB between runs of one build;
	// the anonymous part is what the agent's own allocations hold.
	RSSAnonWindowAvg    int64      `json:"rss_anon_window_avg_bytes"`
	RSSAnonBaseline     int64      `json:"rss_anon_baseline_bytes"`
	RSSAnonPerSeriesAvg float64    `json:"rss_anon_bytes_per_series_avg,omitempty"`
	RSSAnonOverTime     [][2]int64 `json:"rss_anon_over_time"`
	// DiskWriteBytes is /proc/PID/io write_bytes in the window (what the
	// agent caused to be written to storage, page-granular);
	// DiskBytesPerSample divides it by WindowSamples.
	DiskWriteBytes     int64   `json:"disk_write_bytes"`
	DiskBytesPerSample float64 `json:"disk_bytes_per_sample"`
	// StorageBytes is the size of the agent's storage directory at the
	// end of the window; AgentLogBytes the size of its stdout/stderr.
	StorageBytes  int64 `json:"storage_bytes"`
	AgentLogBytes int64 `json:"agent_log_bytes"`
	// CPUSTotal and WriteBytesTotal cover the agent's whole life,
	// restarts included.
	CPUSTotal       float64 `json:"cpu_s_total"`
	WriteBytesTotal int64   `json:"disk_write_bytes_total"`
}

// Wire is what crossed the network to the receiver.
type Wire struct {
	Requests int64 `json:"requests"`
	// Bytes are the compressed bodies of accepted requests; BytesPerSample
	// divides them by every data point those requests carried (payload,
	// report series and stale markers, duplicates included).
	Bytes          int64   `json:"bytes"`
	BytesPerSample float64 `json:"bytes_per_sample"`
}

// Catchup describes the recovery after an outage.
type Catchup struct {
	OutageStartS float64 `json:"outage_start_s"`
	OutageEndS   float64 `json:"outage_end_s"`
	// Backlog is the payload samples served up to the end of the outage
	// and not delivered at that moment.
	Backlog int64 `json:"backlog"`
	// Seconds from the end of the outage until every sample served before
	// it had arrived; -1 if that did not happen before the run ended.
	Seconds float64 `json:"seconds"`
	// FirstAcceptS is how long after the end of the outage the first
	// request was accepted: the part of Seconds spent waiting for the
	// agent's retry backoff to expire rather than sending.
	FirstAcceptS float64 `json:"first_accept_s"`
	// Rate is the delivery rate (samples/s, new samples included) while
	// catching up; IngestRate the load's rate; Ratio their quotient.
	Rate       float64 `json:"rate"`
	IngestRate float64 `json:"ingest_rate"`
	Ratio      float64 `json:"ratio"`
	// SendingRate and SendingRatio are the same from the first accepted
	// request on, leaving out the wait for the retry backoff.
	SendingRate  float64 `json:"sending_rate"`
	SendingRatio float64 `json:"sending_ratio"`
}

// RestartInfo describes the kill and restart.
type RestartInfo struct {
	KilledAtS float64 `json:"killed_at_s"`
	// ReadyS is how long the restarted agent took to become ready.
	ReadyS float64 `json:"ready_s"`
}

// Saturation is the scale scenario's verdict.
type Saturation struct {
	// MaxSustainedRate is the highest step rate at which the agent kept
	// up (everything delivered in time) without using all CPUs.
	MaxSustainedRate float64 `json:"max_sustained_rate"`
	// StoppedAt is the first step that did not keep up, and why.
	StoppedAt string `json:"stopped_at,omitempty"`
	Reason    string `json:"reason,omitempty"`
}
