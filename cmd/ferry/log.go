package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/ferrymetrics/ferry/wal"
)

// logInspectCommand prints what a log directory holds. It only reads, so
// it is safe on a damaged log, on a copy of one, and next to a running ferry.
type logInspectCommand struct {
	cmd    *kingpin.CmdClause
	dir    string
	format string
}

func newLogInspectCommand(app *kingpin.Application) *logInspectCommand {
	c := &logInspectCommand{}
	logCmd := app.Command("log", "Examine the durable log.")
	c.cmd = logCmd.Command("inspect", "Print the log's segments, records, damage, cursor positions and lag. Opens every file read-only and changes nothing.")
	c.cmd.Arg("dir", "The log directory (the agent's --storage.agent.path).").Required().StringVar(&c.dir)
	c.cmd.Flag("format", "Output format: table or json.").Default("table").EnumVar(&c.format, "table", "json")
	return c
}

// run prints the report and returns the exit code: 0 when the directory
// could be read as a log, damaged or not; 1 otherwise.
func (c *logInspectCommand) run(stdout, stderr io.Writer) int {
	rep, err := wal.Inspect(c.dir, nil)
	if err != nil {
		fmt.Fprintf(stderr, "ferry: %v\n", err)
		return 1
	}
	if c.format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = writeLogTable(stdout, rep)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ferry: write report: %v\n", err)
		return 1
	}
	return 0
}

// writeLogTable prints the report for people: a summary, a segment table and
// a cursor table.
func writeLogTable(w io.Writer, rep wal.Report) error {
	fmt.Fprintf(w, "Log %s: %d segments, %d bytes, %d records, %d samples, %d damaged segments\n",
		rep.Dir, len(rep.Segments), rep.Bytes, rep.Records, rep.Samples, rep.Damaged)
	fmt.Fprintf(w, "Records appended from %s to %s\n\n", formatMillis(rep.OldestTime), formatMillis(rep.NewestTime))

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEGMENT\tSIZE\tRECORDS\tSAMPLES\tFIRST APPEND\tLAST APPEND\tSTATE")
	for _, s := range rep.Segments {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%s\t%s\t%s\n", s.Seq, s.Size, s.Records, s.Samples,
			formatMillis(s.FirstTime), formatMillis(s.LastTime), segmentState(s))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if len(rep.Cursors) == 0 {
		_, err := fmt.Fprintln(w, "No cursors: no destination holds data in this log.")
		return err
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CURSOR\tPOSITION\tCOMMITTED APPEND\tLAG BYTES\tLAG RECORDS\tLAG SAMPLES\tLAG SECONDS\tNOTE")
	for _, c := range rep.Cursors {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%.3f\t%s\n", c.Name, c.Position, formatMillis(c.CommittedTime),
			c.LagBytes, c.LagRecords, c.LagSamples, c.LagSeconds, c.Note)
	}
	return tw.Flush()
}

// segmentState says in words whether a segment was closed in good order and
// what damage it has.
func segmentState(s wal.SegmentReport) string {
	if s.Damaged != "" {
		return "DAMAGED " + s.Damaged + "; skipped whole"
	}
	parts := []string{"open (not sealed)"}
	if s.Sealed {
		parts[0] = "sealed"
	}
	if n := len(s.Corrupt); n > 0 {
		var regions []string
		for _, r := range s.Corrupt {
			regions = append(regions, fmt.Sprintf("%d bytes at %d", r.Length, r.Offset))
		}
		parts = append(parts, fmt.Sprintf("CORRUPT %d region(s), skipped by readers: %s", n, strings.Join(regions, ", ")))
	}
	if t := s.TornTail; t != nil && t.Offset == 0 {
		return fmt.Sprintf("torn tail: creation interrupted (%d bytes, no header), removed at the next start", t.Length)
	} else if t != nil {
		parts = append(parts, fmt.Sprintf("torn tail: %d bytes at %d, cut at the next start", t.Length, t.Offset))
	}
	return strings.Join(parts, "; ")
}

func formatMillis(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}
