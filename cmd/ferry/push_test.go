package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	promremote "github.com/prometheus/prometheus/storage/remote"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/receiver"
	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/wal"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// ferryWithStdin runs the binary with input on its standard input.
func ferryWithStdin(t *testing.T, stdin string, args ...string) (stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var e strings.Builder
	cmd.Stderr = &e
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return e.String(), exit.ExitCode()
	}
	require.NoError(t, err)
	return e.String(), 0
}

// relayReceiver is ferry's receiver in relay mode over a real log, on
// 127.0.0.1.
func relayReceiver(t *testing.T, opts receiver.Options) (*httptest.Server, *wal.Log, *wal.Reader) {
	l, err := wal.Open(t.TempDir(), wal.Options{Logger: quietLogger()})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	cur, err := l.OpenCursor("test")
	require.NoError(t, err)
	opts.Mode, opts.Log, opts.Logger = receiver.ModeRelay, l, quietLogger()
	r, err := receiver.New(opts)
	require.NoError(t, err)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, l, cur
}

// nextBatch reads and decodes the next record, which must be there.
func nextBatch(t *testing.T, cur *wal.Reader) (record.Batch, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rec, err := cur.Next(ctx)
	require.NoError(t, err)
	var b record.Batch
	require.NoError(t, record.NewDecoder(nil).Decode(rec, &b))
	tenant, err := record.BatchTenant(rec.Data)
	require.NoError(t, err)
	return b, tenant
}

func TestPushCommandSendsAFileToTheReceiver(t *testing.T) {
	srv, l, cur := relayReceiver(t, receiver.Options{})
	file := filepath.Join(t.TempDir(), "job.prom")
	require.NoError(t, os.WriteFile(file, []byte("# TYPE rows_copied gauge\nrows_copied{table=\"a\"} 1200\n"), 0o644))

	before := time.Now().UnixMilli()
	stderr, code := ferryWithStdin(t, "", "push", "--to", srv.URL, "--job", "nightly copy", "--instance", "db/1", "--label", "site=eu", "--tenant", "team-a", file)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "pushed")
	b, tenant := nextBatch(t, cur)
	require.Equal(t, "team-a", tenant)
	require.Len(t, b.Series, 1)
	s := b.Series[0]
	require.Equal(t, labels.FromStrings("__name__", "rows_copied", "instance", "db/1", "job", "nightly copy", "site", "eu", "table", "a"), s.LabelSet())
	require.Equal(t, 1200.0, s.Samples[0].Value)
	require.GreaterOrEqual(t, s.Samples[0].Timestamp, before, "stamped by the receiver")

	stderr, code = ferryWithStdin(t, "done 1\n", "push", "--to", srv.URL+"/", "--job", "stdin", "-")
	require.Equal(t, 0, code, stderr)
	b, _ = nextBatch(t, cur)
	require.Equal(t, labels.FromStrings("__name__", "done", "job", "stdin"), b.Series[0].LabelSet())
	require.Equal(t, uint64(2), l.Stats().Records)
}

func TestPushCommandErrors(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("t0ken"), 0o600))
	srv, _, _ := relayReceiver(t, receiver.Options{BearerToken: func() (string, error) { return "t0ken", nil }})
	file := filepath.Join(t.TempDir(), "job.prom")
	require.NoError(t, os.WriteFile(file, []byte("done 1\n"), 0o644))

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no job", []string{"push", "--to", srv.URL, file}, "--job is required"},
		{"no credentials", []string{"push", "--to", srv.URL, "--job", "j", file}, "answered 401"},
		{"missing file", []string{"push", "--to", srv.URL, "--job", "j", file + ".missing"}, "no such file"},
		{"backfill without timestamps", []string{"push", "--to", srv.URL, "--remote-write", "--bearer-token-file", tokenFile, file}, "has no timestamp"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stderr, code := ferryWithStdin(t, "", c.args...)
			require.Equal(t, 1, code, stderr)
			require.Contains(t, stderr, c.want)
		})
	}
	stderr, code := ferryWithStdin(t, "", "push", "--to", srv.URL, "--job", "j", "--bearer-token-file", tokenFile, file)
	require.Equal(t, 0, code, stderr)
}

// backfillFile is an OpenMetrics exposition of three series over 50
// minutes at 15s, written series after series as a dump would be, with
// an exemplar every tenth sample of the counter.
func backfillFile(base int64) (string, map[string][]float64, int) {
	var b strings.Builder
	want := map[string][]float64{}
	b.WriteString("# TYPE jobs counter\n# HELP jobs Jobs run.\n")
	for i := range 200 {
		ts := base + int64(i)*15_000
		fmt.Fprintf(&b, "jobs_total{queue=\"a\"} %d %d.%03d", i, ts/1000, ts%1000)
		if i%10 == 0 {
			fmt.Fprintf(&b, " # {trace_id=\"t%d\"} 1 %d.%03d", i, ts/1000, ts%1000)
		}
		b.WriteString("\n")
		want[`{__name__="jobs_total", queue="a"}`] = append(want[`{__name__="jobs_total", queue="a"}`], float64(i))
	}
	b.WriteString("# TYPE temperature gauge\n")
	for _, room := range []string{"x", "y"} {
		for i := range 200 {
			ts := base + int64(i)*15_000
			v := 20 + float64(i)/8
			fmt.Fprintf(&b, "temperature{room=%q} %g %d.%03d\n", room, v, ts/1000, ts%1000)
			k := fmt.Sprintf(`{__name__="temperature", room=%q}`, room)
			want[k] = append(want[k], v)
		}
	}
	b.WriteString("# EOF\n")
	return b.String(), want, 20
}

// TestPushBackfillsIntoPrometheusTSDBInOrderThroughRetries backfills a file
// over remote write into Prometheus' own write handler and TSDB, which
// refuses out-of-order samples, through a front that fails the first
// requests with 503 and 429: every sample arrives, and the exemplars.
func TestPushBackfillsIntoPrometheusTSDBInOrderThroughRetries(t *testing.T) {
	for _, msg := range []string{"prometheus.WriteRequest", "io.prometheus.write.v2.Request"} {
		t.Run(msg, func(t *testing.T) {
			opts := tsdb.DefaultOptions()
			opts.EnableExemplarStorage, opts.MaxExemplars = true, 1000
			db, err := tsdb.Open(t.TempDir(), quietLogger(), nil, opts, nil)
			require.NoError(t, err)
			defer db.Close()
			h := promremote.NewWriteHandler(quietLogger(), prometheus.NewRegistry(), db,
				remoteapi.MessageTypes{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType}, false, false, false)
			var calls atomic.Int32
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch calls.Add(1) {
				case 1, 2:
					http.Error(w, "warming up", http.StatusServiceUnavailable)
				case 3:
					w.Header().Set("Retry-After", "1")
					http.Error(w, "slow down", http.StatusTooManyRequests)
				default:
					h.ServeHTTP(w, r)
				}
			}))
			defer front.Close()

			base := time.Now().Add(-55 * time.Minute).UnixMilli()
			body, want, exemplars := backfillFile(base)
			file := filepath.Join(t.TempDir(), "dump.om")
			require.NoError(t, os.WriteFile(file, []byte(body), 0o644))
			stderr, code := ferryWithStdin(t, "", "push", "--to", front.URL, "--remote-write", "--protobuf-message", msg,
				"--batch-size", "70", "--min-backoff", "10ms", file)
			require.Equal(t, 0, code, stderr)
			require.Contains(t, stderr, "backfilled 600 samples in 9 requests")
			require.Contains(t, stderr, "HTTP 503")
			require.Contains(t, stderr, "HTTP 429")

			q, err := db.Querier(math.MinInt64, math.MaxInt64)
			require.NoError(t, err)
			defer q.Close()
			set := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
			got := map[string][]float64{}
			for set.Next() {
				it := set.At().Iterator(nil)
				for it.Next() == chunkenc.ValFloat {
					_, v := it.At()
					got[set.At().Labels().String()] = append(got[set.At().Labels().String()], v)
				}
			}
			require.NoError(t, set.Err())
			require.Equal(t, want, got)

			eq, err := db.ExemplarQuerier(context.Background())
			require.NoError(t, err)
			res, err := eq.Select(math.MinInt64, math.MaxInt64, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", "jobs_total")})
			require.NoError(t, err)
			require.Len(t, res, 1)
			require.Len(t, res[0].Exemplars, exemplars)
			require.Equal(t, exemplar.Exemplar{Labels: labels.FromStrings("trace_id", "t0"), Value: 1, Ts: base, HasTs: true}, res[0].Exemplars[0])
		})
	}
}
