package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ferrymetrics/ferry/receiver"
	"github.com/ferrymetrics/ferry/remote"
)

// pushCommand sends an exposition file to a ferry: by default to its push
// endpoint, where the samples are stamped with the time of receipt, or with
// --remote-write as remote write, for backfilling samples that carry their
// own timestamps.
type pushCommand struct {
	cmd      *kingpin.CmdClause
	to       *url.URL
	file     string
	job      string
	instance string
	labels   map[string]string
	format   string
	tenant   string

	remoteWrite bool
	message     string
	compression string
	batchSize   int

	client     clientFlags
	retries    int
	timeout    time.Duration
	minBackoff time.Duration
	maxBackoff time.Duration
}

// Exposition formats --format names, with their content types.
var pushFormats = map[string]string{
	"text":        "text/plain; version=0.0.4; charset=utf-8",
	"openmetrics": "application/openmetrics-text; version=1.0.0; charset=utf-8",
	"protobuf":    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
}

func newPushCommand(app *kingpin.Application) *pushCommand {
	c := &pushCommand{labels: map[string]string{}}
	c.cmd = app.Command("push", "Push a metrics exposition to a ferry, as a batch job would; or, with --remote-write, backfill timestamped samples over remote write.")
	c.cmd.Flag("to", "The ferry (or any remote-write receiver with --remote-write). Without a path, ferry's push path (/metrics/job/...) or /api/v1/write is used.").Required().URLVar(&c.to)
	c.cmd.Flag("job", "The job label of the pushed series; required without --remote-write.").StringVar(&c.job)
	c.cmd.Flag("instance", "The instance label of the pushed series.").StringVar(&c.instance)
	c.cmd.Flag("label", "Another label for every series, as name=value; repeatable.").StringMapVar(&c.labels)
	c.cmd.Flag("format", "Format of the file: text, openmetrics or protobuf. Default: openmetrics if the file ends with '# EOF', else text.").EnumVar(&c.format, "text", "openmetrics", "protobuf")
	c.cmd.Flag("tenant", "Tenant of the data, sent as X-Scope-OrgID.").StringVar(&c.tenant)
	c.cmd.Flag("remote-write", "Send the file over remote write instead of pushing it: every sample must have a timestamp; series are sent in timestamp order, in batches, with retries.").BoolVar(&c.remoteWrite)
	c.cmd.Flag("protobuf-message", "With --remote-write: the message to send, io.prometheus.write.v2.Request or prometheus.WriteRequest. RW2 falls back to RW1 if the receiver refuses it.").
		Default(string(remote.MessageV2)).EnumVar(&c.message, string(remote.MessageV1), string(remote.MessageV2))
	c.cmd.Flag("compression", "With --remote-write: snappy or zstd.").Default("snappy").EnumVar(&c.compression, "snappy", "zstd")
	c.cmd.Flag("batch-size", "With --remote-write: samples per request.").Default("2000").IntVar(&c.batchSize)
	c.cmd.Flag("retries", "How many times a request is retried after a 5xx, a 429 or a network error before giving up.").Default("10").IntVar(&c.retries)
	c.cmd.Flag("timeout", "Timeout of one request.").Default("30s").DurationVar(&c.timeout)
	c.cmd.Flag("min-backoff", "First delay before a retry; it doubles up to --max-backoff.").Default("100ms").DurationVar(&c.minBackoff)
	c.cmd.Flag("max-backoff", "Longest delay between retries.").Default("10s").DurationVar(&c.maxBackoff)
	c.client.register(c.cmd)
	c.cmd.Arg("file", "The exposition to send; - for standard input.").Required().StringVar(&c.file)
	return c
}

func (c *pushCommand) run(stdin io.Reader, stderr io.Writer) int {
	if err := c.exec(stdin, stderr); err != nil {
		fmt.Fprintf(stderr, "ferry push: %v\n", err)
		return 1
	}
	return 0
}

func (c *pushCommand) exec(stdin io.Reader, stderr io.Writer) error {
	if !c.remoteWrite && c.job == "" {
		return errors.New("--job is required to push (or use --remote-write to backfill)")
	}
	if c.batchSize <= 0 {
		return fmt.Errorf("--batch-size must be positive, not %d", c.batchSize)
	}
	body, err := c.read(stdin)
	if err != nil {
		return err
	}
	hc, err := c.client.build(c.timeout)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s := &retrySender{client: hc, retries: c.retries, min: c.minBackoff, max: c.maxBackoff, tenant: c.tenant, log: stderr}
	if c.remoteWrite {
		return c.backfill(ctx, s, body, stderr)
	}
	return c.push(ctx, s, body, stderr)
}

func (c *pushCommand) read(stdin io.Reader) ([]byte, error) {
	// kingpin hands a lone "-" argument over as "".
	if c.file == "-" || c.file == "" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(c.file)
	if err != nil {
		return nil, fmt.Errorf("read exposition: %w", err)
	}
	return b, nil
}

// contentType returns the content type of the exposition.
func (c *pushCommand) contentType(body []byte) string {
	if c.format != "" {
		return pushFormats[c.format]
	}
	if bytes.HasSuffix(bytes.TrimRight(body, " \t\r\n"), []byte("# EOF")) {
		return pushFormats["openmetrics"]
	}
	return pushFormats["text"]
}

// extraLabels are the labels the flags add to every series.
func (c *pushCommand) extraLabels() (labels.Labels, error) {
	b := labels.NewBuilder(labels.EmptyLabels())
	for k, v := range c.labels {
		if k == "" || v == "" {
			return labels.EmptyLabels(), fmt.Errorf("--label %s=%s: name and value must not be empty", k, v)
		}
		b.Set(k, v)
	}
	b.Set("job", c.job)
	b.Set("instance", c.instance)
	return b.Labels(), nil
}

// push posts the file to the push endpoint: /metrics/job/<job>/... built
// as the Pushgateway's clients build it.
func (c *pushCommand) push(ctx context.Context, s *retrySender, body []byte, stderr io.Writer) error {
	extra, err := c.extraLabels()
	if err != nil {
		return err
	}
	u := *c.to
	if strings.Trim(u.Path, "/") == "" {
		u.RawPath = "/metrics" + pushPath(extra)
		u.Path, _ = url.PathUnescape(u.RawPath)
	}
	h := http.Header{"Content-Type": {c.contentType(body)}}
	resp, err := s.do(ctx, http.MethodPost, u.String(), h, body, nil)
	if err != nil {
		return err
	}
	if resp.code != http.StatusOK && resp.code != http.StatusAccepted && resp.code != http.StatusNoContent {
		return fmt.Errorf("%s answered %d: %s", u.Redacted(), resp.code, resp.excerpt)
	}
	fmt.Fprintf(stderr, "ferry push: pushed %d bytes to %s\n", len(body), u.Redacted())
	return nil
}

// pushPath is the grouping-key part of a push path: job first, then the
// other labels by name, each value query-escaped, or base64url-encoded
// when it holds a slash.
func pushPath(ls labels.Labels) string {
	var b strings.Builder
	add := func(name, value string) {
		if strings.Contains(value, "/") {
			fmt.Fprintf(&b, "/%s@base64/%s", url.QueryEscape(name), base64.RawURLEncoding.EncodeToString([]byte(value)))
			return
		}
		fmt.Fprintf(&b, "/%s/%s", url.QueryEscape(name), url.QueryEscape(value))
	}
	add("job", ls.Get("job"))
	var names []string
	ls.Range(func(l labels.Label) {
		if l.Name != "job" {
			names = append(names, l.Name)
		}
	})
	sort.Strings(names)
	for _, n := range names {
		add(n, ls.Get(n))
	}
	return b.String()
}

// parse reads the exposition for backfilling: every sample needs a
// timestamp, and the flags' labels are added.
func (c *pushCommand) parse(body []byte) (*remote.Request, error) {
	extra, err := c.extraLabels()
	if err != nil {
		return nil, err
	}
	req, err := receiver.ParseExposition(body, c.contentType(body), receiver.ExpositionOptions{
		Labels: extra, Limits: remote.Limits{MaxSeries: -1, MaxSamples: -1},
	})
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", c.file, err)
	}
	return req, nil
}
