package main

import "time"

// defaultTimerSlack is how late the kernel may wake a ferry thread from a
// timed sleep, so that it can group wake-ups.
//
// Go's runtime monitor thread (sysmon) sleeps 20 µs at a time, 50 times
// over, whenever the process wakes from idle; an agent at a few percent of
// a core wakes from idle at every scrape and every received request. On
// the two-core virtual machine of docs/benchmarks.md those sleeps were
// almost half of ferry's context switches and each one is expensive, so
// relaying cost a fifth less CPU per sample with a slack of 1 ms than with
// Linux's 50 µs. Timers and tickers may fire up to that much later, which
// fits the 2 ms within which a scrape keeps its aligned timestamp.
const defaultTimerSlack = time.Millisecond

// timerSlackExecEnv marks the process ferry starts again with its timer
// slack set, so that it never does so twice.
const timerSlackExecEnv = "FERRY_TIMER_SLACK_SET"
