package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/alecthomas/kingpin/v2"

	"github.com/ferrymetrics/ferry/config"
)

type checkConfigCommand struct {
	cmd   *kingpin.CmdClause
	files []string
}

func newCheckConfigCommand(check *kingpin.CmdClause) *checkConfigCommand {
	c := &checkConfigCommand{}
	c.cmd = check.Command("config", "Check that configuration files are valid: the same loading the agent does, nothing started.")
	c.cmd.Arg("config-files", "The configuration files to check.").Required().ExistingFilesVar(&c.files)
	return c
}

// run checks every file and returns 1 if any is invalid.
func (c *checkConfigCommand) run(logger *slog.Logger) int {
	code := 0
	for _, f := range c.files {
		cfg, err := config.LoadFile(f, logger)
		if err != nil {
			fmt.Fprintf(os.Stderr, "FAILED: %v\n", err)
			code = 1
			continue
		}
		fmt.Printf("SUCCESS: %s is valid: %d scrape configs, %d remote_write destinations\n", f, len(cfg.Scrape), len(cfg.RemoteWrite))
	}
	return code
}
