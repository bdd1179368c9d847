package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/ferrymetrics/ferry/agent"
	"github.com/ferrymetrics/ferry/procs"
)

// agentCommand is the default command: run the agent. Flags share
// Prometheus' names where the meaning is the same.
type agentCommand struct {
	cmd        *kingpin.CmdClause
	opts       agent.Options
	timerSlack time.Duration
	adaptProcs bool
}

func newAgentCommand(app *kingpin.Application) *agentCommand {
	c := &agentCommand{}
	c.cmd = app.Command("agent", "Run the agent (the default command).").Default()
	c.cmd.Flag("config.file", "Configuration file path.").Default("ferry.yml").StringVar(&c.opts.ConfigFile)
	c.cmd.Flag("storage.agent.path", "Directory of the durable log.").Default("data-agent/").StringVar(&c.opts.StoragePath)
	c.cmd.Flag("web.listen-address", "Address to listen on for the UI, API, metrics and the remote-write receiver.").Default(":9090").StringVar(&c.opts.ListenAddress)
	c.cmd.Flag("web.config.file", "Path to a web configuration file enabling TLS or basic authentication (exporter-toolkit format).").Default("").StringVar(&c.opts.WebConfigFile)
	c.cmd.Flag("web.enable-lifecycle", "Enable configuration reload over HTTP (POST /-/reload).").BoolVar(&c.opts.EnableLifecycle)
	c.cmd.Flag("web.enable-remote-write-receiver", "Accept remote-write requests on /api/v1/write (also possible with ferry.receiver.enabled).").BoolVar(&c.opts.EnableReceiver)
	c.cmd.Flag("web.enable-pprof", "Serve Go profiling endpoints on /debug/pprof/.").BoolVar(&c.opts.EnablePprof)
	c.cmd.Flag("cluster.shards", "Split every job's targets across this many ferry replicas by a stable hash; 1 scrapes everything.").Default("1").IntVar(&c.opts.ClusterShards)
	c.cmd.Flag("cluster.shard-index", "This replica's shard, 0..shards-1; -1 takes it from the number at the end of the host name (a StatefulSet pod's ordinal).").Default("0").IntVar(&c.opts.ClusterShardIndex)
	c.cmd.Flag("shutdown.timeout", "How long shutdown waits for destinations to acknowledge pending data; the rest stays in the log for the next start.").Default("10s").DurationVar(&c.opts.ShutdownTimeout)
	c.cmd.Flag("runtime.timer-slack", "How late Linux may wake ferry's threads from timed sleeps, to group wake-ups (fewer context switches); 0 keeps the slack ferry was started with. ferry starts itself again once to apply it.").Default(defaultTimerSlack.String()).DurationVar(&c.timerSlack)
	c.cmd.Flag("runtime.adaptive-gogc", "Adapt the garbage collector's target (GOGC) to what collections cost, between 10 and 100 from 50: halved while they take under 2% of ferry's CPU, doubled when over 5% twice in a row (ignored when runtime.gogc or GOGC sets it).").Default("true").BoolVar(&c.opts.AdaptiveGoGC)
	c.cmd.Flag("runtime.adaptive-gomaxprocs", "Run Go's scheduler with one processor while ferry uses under a quarter of a core, and with the runtime's default from half a core on (ignored when GOMAXPROCS is set).").Default("true").BoolVar(&c.adaptProcs)
	return c
}

func (c *agentCommand) run(logger *slog.Logger, app *kingpin.Application) int {
	if err := applyTimerSlack(c.timerSlack); err != nil {
		logger.Warn("Running with the kernel's timer slack", "err", err)
	}
	c.opts.Logger = logger
	c.opts.Flags = map[string]string{}
	for _, f := range c.cmd.Model().Flags {
		c.opts.Flags[f.Name] = f.String()
	}
	for _, f := range app.Model().Flags {
		c.opts.Flags[f.Name] = f.String()
	}
	a, err := agent.New(c.opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferry: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if c.adaptProcs && procs.Enabled() {
		go procs.Run(ctx, procs.Options{Logger: logger.With("component", "procs")})
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		for s := range sigs {
			if s == syscall.SIGHUP {
				a.Reload()
				continue
			}
			logger.Info("Received signal, shutting down", "signal", s)
			cancel()
			// A second signal while shutting down ends at once; the
			// log keeps whatever was not delivered.
			go func() {
				<-sigs
				logger.Warn("Second signal, exiting now")
				os.Exit(1)
			}()
			return
		}
	}()
	if err := a.Run(ctx); err != nil {
		logger.Error("ferry stopped with an error", "err", err)
		return 1
	}
	return 0
}
