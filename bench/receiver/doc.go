// Package receiver is a remote-write receiver for benchmarks: it accepts
// Remote-Write 1.0 and 2.0 requests, snappy or zstd, decodes them with
// ferry's own remote package and checks every sample instead of storing it.
//
// For every series it keeps the timestamps it has seen, so it can tell a
// duplicate (same series, same timestamp, seen before) from a sample that
// arrives out of order (older than the newest of its series, never seen).
// It counts stale markers apart, tells the payload series from an agent's
// report series (up, scrape_*), records the compressed bytes on the wire,
// and the delivery lag: the time of receipt minus the sample's timestamp.
//
// Faults can be switched on and off while it runs: a status code (for
// example 503 for an outage, or 429 with a Retry-After) and added latency.
//
// The receiver keeps 8 bytes per sample received, so a long run at a high
// rate needs memory in proportion; it is a measuring instrument, not a
// store.
package receiver
