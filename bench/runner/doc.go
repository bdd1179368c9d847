// Package runner runs ferry (or another Prometheus-compatible agent) as a
// real process under a scenario and measures it from outside.
//
// A run builds the agent, starts a load generator (package loadgen) and a
// counting remote-write receiver (package receiver) in this process, writes
// the agent's configuration (a Prometheus agent configuration, scraping the
// generator's targets through file_sd and sending to the receiver), starts
// the agent with its own storage directory, and reads its /proc files every
// second. A scenario may switch receiver faults on and off, or kill the
// agent with SIGKILL and start it again on the same storage.
//
// The figures are measured over a window, from the end of the warm-up to
// the end of the load: CPU time (utime+stime), RSS, bytes written to
// storage, and the samples ingested in that window, which every per-sample
// figure divides by. When the load stops, the runner waits for every
// sample to arrive and then compares what the targets served with what the
// receiver counted.
package runner
