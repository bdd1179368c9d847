// Command loadgen serves node_exporter-like scrape targets on loopback, for
// pointing any scraper at: each target gets its own 127.0.0.1 port. It
// writes the targets as a Prometheus file_sd file and keeps it current
// under churn, and prints what it served when stopped (Ctrl-C) or after
// -duration.
//
//	go run ./bench/cmd/loadgen -targets 200 -series 1000 -interval 10s -sd targets.json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ferrymetrics/ferry/bench/loadgen"
)

func main() {
	var cfg loadgen.Config
	var sd string
	var duration time.Duration
	flag.IntVar(&cfg.Targets, "targets", 200, "targets")
	flag.IntVar(&cfg.Series, "series", 1000, "series per target")
	flag.DurationVar(&cfg.Interval, "interval", 10*time.Second, "how often values move; set it to the scrape interval")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "seed of the values")
	flag.Float64Var(&cfg.ChurnFraction, "churn", 0, "fraction of targets replaced every minute")
	flag.StringVar(&sd, "sd", "targets.json", "file_sd file to write the targets to")
	flag.DurationVar(&duration, "duration", time.Hour, "stop after this long")
	flag.Parse()

	g, err := loadgen.Start(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	defer g.Close()
	if err := loadgen.WriteFileSD(sd, g.Targets()); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "loadgen: %d targets of %d series, listed in %s\n", cfg.Targets, cfg.Series, sd)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			_ = json.NewEncoder(os.Stdout).Encode(g.Stats())
			return
		case <-g.Changed():
			if err := loadgen.WriteFileSD(sd, g.Targets()); err != nil {
				fmt.Fprintln(os.Stderr, "loadgen:", err)
			}
		}
	}
}
