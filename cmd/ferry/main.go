// Command ferry is a Prometheus-compatible metrics agent: it scrapes targets,
// keeps every sample in a durable on-disk log and forwards it over
// Prometheus Remote-Write.
//
//	ferry --config.file=ferry.yml          run the agent
//	ferry check config ferry.yml           validate configuration files
//	ferry push --to URL --job J FILE       push an exposition from a batch job
//	ferry log inspect data-agent/          print the log's segments, damage, cursors and lag
//	ferry version                          print the version
package main

import (
	"fmt"
	"os"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"

	"github.com/ferrymetrics/ferry/version"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run parses the command line and runs the chosen command; it returns the
// process exit code.
func run(args []string) int {
	app := kingpin.New("ferry", "A Prometheus-compatible metrics agent: scrapes targets, keeps every sample in a durable log, forwards it over remote write.")
	app.HelpFlag.Short('h')
	app.Version(version.String())
	var logCfg promslog.Config
	promslogflag.AddFlags(app, &logCfg)

	agentCmd := newAgentCommand(app)
	check := app.Command("check", "Check resources for validity.")
	checkCfg := newCheckConfigCommand(check)
	logInspect := newLogInspectCommand(app)
	pushCmd := newPushCommand(app)
	app.Command("version", "Print the version and build information.")

	cmd, err := app.Parse(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferry: %v\nRun 'ferry --help' for usage.\n", err)
		return 2
	}
	logger := promslog.New(&logCfg)
	switch cmd {
	case agentCmd.cmd.FullCommand():
		return agentCmd.run(logger, app)
	case checkCfg.cmd.FullCommand():
		return checkCfg.run(logger)
	case logInspect.cmd.FullCommand():
		return logInspect.run(os.Stdout, os.Stderr)
	case pushCmd.cmd.FullCommand():
		return pushCmd.run(os.Stdin, os.Stderr)
	case "version":
		fmt.Printf("ferry, version %s (revision: %s)\n  build date: %s\n  go version: %s\n", version.String(), version.Revision, version.BuildDate, version.GoVersion())
		return 0
	}
	return 2
}
