// Package loadgen serves scrape targets that look like node_exporter, for
// benchmarking a scraping agent end to end over real HTTP on loopback.
//
// Each target has its own 127.0.0.1 listener (so its own instance label)
// and exposes exactly the configured number of series in the Prometheus
// text format 0.0.4: HELP and TYPE lines, counters that increase, gauges
// that move, classic histograms and a summary, with node_exporter's metric
// and label names (cpu/mode, device, mountpoint/fstype, interface, ...).
// A scrape that asks for gzip gets gzip.
//
// The generator is built not to distort a CPU measurement of the agent:
// the series layout (names, labels, HELP/TYPE text) is rendered once and
// shared by all targets, and each target renders and compresses its body
// once per scrape interval (a "tick") and serves that cached body to every
// scrape within the tick.
//
// Values are deterministic given the seed, the target's number and the
// tick: two runs with the same Config serve the same bytes for the same
// (target, tick). With churn, a fraction of the targets is replaced every
// ChurnEvery by new ones with a new listener, hence a new instance label,
// and fresh values; the replaced listeners stay open until Close, so an
// agent that still scrapes them sees no errors.
package loadgen
