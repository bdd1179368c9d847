// Command ferrybench measures ferry (or another Prometheus-compatible
// agent) end to end: it builds ferry, serves node_exporter-like targets on
// loopback, runs the agent as a real process scraping them and sending to a
// counting remote-write receiver, and prints one JSON line with what was
// delivered and what it cost.
//
//	go run ./bench/cmd/ferrybench -scenario steady -targets 200 -series 1000 -interval 10s -duration 3m
//
// Scenarios: steady, outage, restart, churn, scale, relay. Progress goes to
// stderr, the result to stdout. See docs/benchmarks.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ferrymetrics/ferry/bench/runner"
)

func main() {
	os.Exit(run())
}

func run() int {
	var o runner.Options
	var steps, agentArgs string
	var quiet bool
	flag.StringVar(&o.Scenario, "scenario", runner.Steady, "one of: "+strings.Join(runner.Scenarios, ", "))
	flag.IntVar(&o.Targets, "targets", 200, "targets (relay: senders)")
	flag.IntVar(&o.Series, "series", 1000, "series per target")
	flag.DurationVar(&o.Interval, "interval", 10*time.Second, "scrape (relay: push) interval")
	flag.DurationVar(&o.Duration, "duration", 3*time.Minute, "run length, from the agent being ready (scale: per step)")
	flag.DurationVar(&o.Warmup, "warmup", 30*time.Second, "start of the run left out of the per-sample figures")
	flag.DurationVar(&o.Drain, "drain", 2*time.Minute, "how long to wait for delivery after the load stops")
	flag.StringVar(&o.Protocol, "protocol", "rw2", "what the agent sends: rw1 or rw2")
	flag.StringVar(&o.Compression, "compression", "zstd", "what the agent compresses with: snappy or zstd (ferry's remote_write compression key)")
	flag.BoolVar(&o.Gzip, "gzip", true, "scrape with Accept-Encoding: gzip")
	flag.DurationVar(&o.SendDeadline, "send-deadline", 0, "the agent's queue_config.batch_send_deadline (default: the agent's own, 5s)")
	flag.IntVar(&o.MaxSamplesPerSend, "max-samples-per-send", 0, "the agent's queue_config.max_samples_per_send (default: the agent's own)")
	flag.Float64Var(&o.ChurnFraction, "churn", 0, "fraction of targets replaced every minute (churn scenario: default 0.01)")
	flag.Uint64Var(&o.Seed, "seed", 1, "seed of the generated values")
	flag.DurationVar(&o.Baseline, "baseline", 20*time.Second, "measure the agent's RSS with no load for this long first (0: skip, and no RSS per series)")
	flag.StringVar(&steps, "steps", "200x1000@10s,200x1000@2s,200x1000@1s,400x1000@1s,800x1000@1s", "scale scenario loads, TARGETSxSERIES@INTERVAL")
	flag.StringVar(&o.PushProtocol, "push-protocol", "rw1", "relay scenario: what the senders push (rw1 or rw2)")
	flag.StringVar(&o.PushCompression, "push-compression", "snappy", "relay scenario: snappy or zstd")
	flag.StringVar(&o.Profile, "profile", "", "directory to save a CPU profile (middle of the window) and a heap profile in")
	flag.StringVar(&o.WorkDir, "workdir", "", "directory for the agent's storage, config and log (default: a new temporary one)")
	flag.BoolVar(&o.Keep, "keep", false, "keep the work directory")
	flag.StringVar(&o.Agent.Binary, "agent", "", "agent binary to run instead of building ferry")
	flag.StringVar(&agentArgs, "agent-args", "", "the agent's arguments, space-separated, with {config}, {data}, {listen} and {write_url} (default: ferry's)")
	flag.StringVar(&o.Agent.ReadyPath, "agent-ready", "/-/ready", "path that answers 200 once the agent is ready")
	flag.BoolVar(&o.Agent.PlainConfig, "plain-config", false, "write a plain Prometheus agent config, without ferry's extensions")
	flag.BoolVar(&quiet, "q", false, "no progress on stderr")
	flag.Parse()

	if agentArgs != "" {
		o.Agent.Args = strings.Fields(agentArgs)
	}
	if o.Scenario == runner.Scale {
		var err error
		if o.Steps, err = runner.ParseSteps(steps); err != nil {
			fmt.Fprintln(os.Stderr, "ferrybench:", err)
			return 2
		}
	}
	if !quiet {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	res, err := runner.Run(ctx, o)
	if err != nil {
		res.Error = err.Error()
	}
	enc := json.NewEncoder(os.Stdout)
	if encErr := enc.Encode(res); encErr != nil {
		fmt.Fprintln(os.Stderr, "ferrybench:", encErr)
		return 1
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferrybench:", err)
		return 1
	}
	return 0
}
