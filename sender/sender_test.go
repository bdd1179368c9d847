package sender

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	config_util "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// receiver is a remote-write endpoint that decodes and keeps every sample,
// and can be told to fail.
type receiver struct {
	mu       sync.Mutex
	samples  map[string][]remote.Sample // by series
	requests int
	// fail, when set, decides the response before decoding.
	fail func(r *http.Request) (int, http.Header)
	// rw1Only answers RW2 requests as an RW1-only receiver would: 204
	// without written headers, storing nothing.
	rw1Only bool
	seen    []*http.Request
	srv     *httptest.Server

	histograms, exemplars, nhcb int
	histogramCounts             uint64 // sum of the integer histograms' counts
	seriesMeta, familyMeta      map[string]remote.Metadata
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{samples: map[string][]remote.Sample{}, seriesMeta: map[string]remote.Metadata{}, familyMeta: map[string]remote.Metadata{}}
	rc.srv = httptest.NewServer(rc)
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests++
	rc.seen = append(rc.seen, r)
	if rc.fail != nil {
		if code, h := rc.fail(r); code != 0 {
			for k, v := range h {
				w.Header()[k] = v
			}
			w.WriteHeader(code)
			fmt.Fprint(w, "injected failure")
			return
		}
	}
	body, _ := io.ReadAll(r.Body)
	msg, err := remote.ParseContentType(r.Header.Get("Content-Type"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnsupportedMediaType)
		return
	}
	if rc.rw1Only && msg == remote.MessageV2 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	enc, err := remote.ParseContentEncoding(r.Header.Get("Content-Encoding"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnsupportedMediaType)
		return
	}
	raw, err := remote.Decompress(nil, body, enc, 64<<20)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req *remote.Request
	if msg == remote.MessageV2 {
		req, err = remote.DecodeV2(raw, remote.Limits{})
	} else {
		req, err = remote.DecodeV1(raw, remote.Limits{})
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, s := range req.Series {
		k := s.Labels.String()
		rc.samples[k] = append(rc.samples[k], s.Samples...)
		rc.histograms += len(s.Histograms)
		rc.exemplars += len(s.Exemplars)
		for _, h := range s.Histograms {
			if h.FH != nil && h.FH.Schema == -53 {
				rc.nhcb++
			}
			if h.H != nil {
				rc.histogramCounts += h.H.Count
			}
		}
		if !s.Metadata.IsZero() {
			rc.seriesMeta[s.Labels.Get("__name__")] = s.Metadata
		}
	}
	for _, m := range req.FamilyMetadata {
		rc.familyMeta[m.MetricFamilyName] = m.Metadata
	}
	if msg == remote.MessageV2 {
		remote.SetWrittenHeaders(w.Header(), req.Count())
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) total() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, s := range rc.samples {
		n += len(s)
	}
	return n
}

func (rc *receiver) snapshot() map[string][]remote.Sample {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string][]remote.Sample{}
	for k, v := range rc.samples {
		out[k] = append([]remote.Sample(nil), v...)
	}
	return out
}

// writer appends scrapes of synthetic targets to a log.
type writer struct {
	log  *wal.Log
	encs []*record.StreamEncoder
	refs [][]record.Ref
	sets [][]labels.Labels
}

func newWriter(l *wal.Log, targets, series int) *writer {
	w := &writer{log: l}
	for t := 0; t < targets; t++ {
		w.encs = append(w.encs, record.NewStreamEncoder(uint64(t+1)))
		w.refs = append(w.refs, make([]record.Ref, series))
		var ls []labels.Labels
		for s := 0; s < series; s++ {
			ls = append(ls, labels.FromStrings("__name__", fmt.Sprintf("m%d", s), "instance", fmt.Sprint("t", t), "job", "j"))
		}
		w.sets = append(w.sets, ls)
	}
	return w
}

// scrapes writes a scrape of every target at each second from first to
// last (timestamps in ms) and returns those timestamps.
func (w *writer) scrapes(t testing.TB, first, last int64) []int64 {
	var ts []int64
	for i := first; i <= last; i++ {
		w.scrape(t, i*1000)
		ts = append(ts, i*1000)
	}
	return ts
}

// scrape appends one scrape of every target at ts; value = ts/1000 + series.
func (w *writer) scrape(t testing.TB, ts int64) int {
	n := 0
	for i, e := range w.encs {
		for attempt := 0; ; attempt++ {
			e.Begin(ts, w.log.ActiveSegment())
			for s, ls := range w.sets[i] {
				if !e.Valid(w.refs[i][s]) {
					w.refs[i][s] = e.Define(ls, ls.Get("__name__"), remote.Metadata{Type: remote.MetricTypeGauge, Help: "h"})
				}
				e.Add(w.refs[i][s], float64(ts/1000)+float64(s))
			}
			data, c := e.Finish()
			_, err := w.log.Append(wal.Entry{Kind: record.KindStream, Count: c, Data: data, Segment: e.Segment()})
			e.Done(err == nil)
			if errors.Is(err, wal.ErrSegmentChanged) {
				continue
			}
			require.NoError(t, err)
			n += int(c)
			break
		}
	}
	return n
}

func rwConfig(t *testing.T, u string, mutate func(*promconfig.RemoteWriteConfig)) *promconfig.RemoteWriteConfig {
	c := promconfig.DefaultRemoteWriteConfig
	pu, err := url.Parse(u)
	require.NoError(t, err)
	c.URL = &config_util.URL{URL: pu}
	c.QueueConfig.BatchSendDeadline = model.Duration(20 * time.Millisecond)
	c.QueueConfig.MinBackoff = model.Duration(5 * time.Millisecond)
	c.QueueConfig.MaxBackoff = model.Duration(50 * time.Millisecond)
	if mutate != nil {
		mutate(&c)
	}
	return &c
}

func openLog(t *testing.T, dir string) *wal.Log {
	l, err := wal.Open(dir, wal.Options{SegmentSize: 64 << 10, FsyncInterval: time.Hour, CursorSyncInterval: 5 * time.Millisecond, Logger: quiet()})
	require.NoError(t, err)
	return l
}

func startSender(t *testing.T, l *wal.Log, cfg *promconfig.RemoteWriteConfig, opts Options) *Sender {
	opts.Name = "dest"
	opts.Config = cfg
	opts.Log = l
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	opts.Logger = quiet()
	s, err := New(opts)
	require.NoError(t, err)
	s.Start()
	return s
}

// checkInOrderOnce asserts every series got exactly the expected timestamps,
// in increasing order.
func checkInOrderOnce(t *testing.T, got map[string][]remote.Sample, series int, ts []int64) {
	t.Helper()
	require.Len(t, got, series)
	for k, ss := range got {
		require.Len(t, ss, len(ts), "series %s", k)
		for i, s := range ss {
			require.Equal(t, ts[i], s.Timestamp, "series %s sample %d", k, i)
		}
	}
}

func TestEverySampleArrivesOnceInOrder(t *testing.T) {
	for _, msg := range []string{"prometheus.WriteRequest", "io.prometheus.write.v2.Request"} {
		for _, lanes := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/lanes=%d", msg, lanes), func(t *testing.T) {
				rc := newReceiver(t)
				l := openLog(t, t.TempDir())
				defer l.Close()
				s := startSender(t, l, rwConfig(t, rc.srv.URL, func(c *promconfig.RemoteWriteConfig) {
					c.ProtobufMessage = remoteapi.WriteMessageType(msg)
					c.QueueConfig.MinShards = lanes
					c.QueueConfig.MaxShards = lanes
					c.QueueConfig.MaxSamplesPerSend = 300
				}), Options{})
				w := newWriter(l, 7, 40)
				var ts []int64
				want := 0
				for i := int64(1); i <= 50; i++ {
					ts = append(ts, i*1000)
					want += w.scrape(t, i*1000)
				}
				require.Eventually(t, func() bool { return rc.total() >= want }, 10*time.Second, 10*time.Millisecond)
				s.Stop(time.Second)
				checkInOrderOnce(t, rc.snapshot(), 7*40, ts)
				require.Equal(t, l.Stats().Cursors[0].LagBytes, int64(0))
			})
		}
	}
}

func TestServerErrorsAreRetriedUntilDelivered(t *testing.T) {
	rc := newReceiver(t)
	var mu sync.Mutex
	failures := 5
	rc.fail = func(*http.Request) (int, http.Header) {
		mu.Lock()
		defer mu.Unlock()
		if failures > 0 {
			failures--
			return http.StatusServiceUnavailable, nil
		}
		return 0, nil
	}
	l := openLog(t, t.TempDir())
	defer l.Close()
	s := startSender(t, l, rwConfig(t, rc.srv.URL, nil), Options{})
	w := newWriter(l, 2, 10)
	want := w.scrape(t, 1000) + w.scrape(t, 2000)
	require.Eventually(t, func() bool { return rc.total() >= want }, 10*time.Second, 10*time.Millisecond)
	s.Stop(time.Second)
	checkInOrderOnce(t, rc.snapshot(), 20, []int64{1000, 2000})
	st := s.Status()
	require.Positive(t, st.Retried)
	require.Zero(t, st.Failed)
}

func TestTooManyRequestsIsRetriedHonouringRetryAfter(t *testing.T) {
	for name, retryAfter := range map[string]func() string{
		"seconds": func() string { return "1" },
		// HTTP dates have whole seconds: 3s ahead is at least 2s ahead.
		"http-date": func() string { return time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat) },
	} {
		t.Run(name, func(t *testing.T) {
			rc := newReceiver(t)
			var mu sync.Mutex
			var first, second time.Time
			rc.fail = func(*http.Request) (int, http.Header) {
				mu.Lock()
				defer mu.Unlock()
				if first.IsZero() {
					first = time.Now()
					return http.StatusTooManyRequests, http.Header{"Retry-After": {retryAfter()}}
				}
				if second.IsZero() {
					second = time.Now()
				}
				return 0, nil
			}
			l := openLog(t, t.TempDir())
			defer l.Close()
			s := startSender(t, l, rwConfig(t, rc.srv.URL, nil), Options{RetryOnHTTP429: true})
			w := newWriter(l, 1, 5)
			want := w.scrape(t, 1000)
			require.Eventually(t, func() bool { return rc.total() >= want }, 10*time.Second, 10*time.Millisecond)
			s.Stop(time.Second)
			mu.Lock()
			defer mu.Unlock()
			// Correctness, not speed: the retry must not come before the
			// time the destination asked for.
			require.GreaterOrEqual(t, second.Sub(first), 900*time.Millisecond, "Retry-After honoured")
			require.Zero(t, s.Status().Failed)
		})
	}
}

func TestTooManyRequestsIsDroppedAndCountedWhenRetryIsOff(t *testing.T) {
	rc := newReceiver(t)
	var mu sync.Mutex
	limited := true
	rc.fail = func(*http.Request) (int, http.Header) {
		mu.Lock()
		defer mu.Unlock()
		if limited {
			limited = false
			return http.StatusTooManyRequests, nil
		}
		return 0, nil
	}
	l := openLog(t, t.TempDir())
	defer l.Close()
	s := startSender(t, l, rwConfig(t, rc.srv.URL, nil), Options{RetryOnHTTP429: false})
	w := newWriter(l, 1, 5)
	w.scrape(t, 1000)
	require.Eventually(t, func() bool { return s.Status().Failed == 5 }, 10*time.Second, 10*time.Millisecond)
	w.scrape(t, 2000)
	require.Eventually(t, func() bool { return rc.total() >= 5 }, 10*time.Second, 10*time.Millisecond)
	s.Stop(time.Second)
	checkInOrderOnce(t, rc.snapshot(), 5, []int64{2000})
}

func TestClientErrorsDropTheBatchCountItAndMoveOn(t *testing.T) {
	rc := newReceiver(t)
	var mu sync.Mutex
	rejectOnce := true
	rc.fail = func(*http.Request) (int, http.Header) {
		mu.Lock()
		defer mu.Unlock()
		if rejectOnce {
			rejectOnce = false
			return http.StatusBadRequest, nil
		}
		return 0, nil
	}
	l := openLog(t, t.TempDir())
	defer l.Close()
	s := startSender(t, l, rwConfig(t, rc.srv.URL, nil), Options{})
	w := newWriter(l, 1, 5)
	w.scrape(t, 1000)
	require.Eventually(t, func() bool { return s.Status().Failed == 5 }, 10*time.Second, 10*time.Millisecond)
	w.scrape(t, 2000)
	require.Eventually(t, func() bool { return rc.total() >= 5 }, 10*time.Second, 10*time.Millisecond)
	s.Stop(time.Second)
	checkInOrderOnce(t, rc.snapshot(), 5, []int64{2000})
	require.Contains(t, s.Status().LastError, "400")
}

func TestRW2FallsBackToRW1WhenReceiverOnlySpeaksRW1(t *testing.T) {
	for _, mode := range []string{"415", "2xx-without-headers"} {
		t.Run(mode, func(t *testing.T) {
			rc := newReceiver(t)
			if mode == "415" {
				rc.fail = func(r *http.Request) (int, http.Header) {
					if r.Header.Get(remote.HeaderVersion) == remote.VersionV2 {
						return http.StatusUnsupportedMediaType, nil
					}
					return 0, nil
				}
			} else {
				rc.rw1Only = true
			}
			l := openLog(t, t.TempDir())
			defer l.Close()
			s := startSender(t, l, rwConfig(t, rc.srv.URL, func(c *promconfig.RemoteWriteConfig) {
				c.ProtobufMessage = "io.prometheus.write.v2.Request"
			}), Options{})
			w := newWriter(l, 1, 5)
			want := w.scrape(t, 1000) + w.scrape(t, 2000)
			require.Eventually(t, func() bool { return rc.total() >= want }, 10*time.Second, 10*time.Millisecond)
			s.Stop(time.Second)
			checkInOrderOnce(t, rc.snapshot(), 5, []int64{1000, 2000})
			require.Equal(t, remote.MessageV1, s.Status().Message, "the fallback is remembered")
			require.Zero(t, s.Status().Failed)
		})
	}
}

func TestExternalLabelsAndWriteRelabeling(t *testing.T) {
	rc := newReceiver(t)
	l := openLog(t, t.TempDir())
	defer l.Close()
	drop := relabel.DefaultRelabelConfig
	drop.SourceLabels = model.LabelNames{"__name__"}
	drop.Regex = relabel.MustNewRegexp("m0")
	drop.Action = relabel.Drop
	drop.NameValidationScheme = model.UTF8Validation
	s := startSender(t, l, rwConfig(t, rc.srv.URL, func(c *promconfig.RemoteWriteConfig) {
		c.WriteRelabelConfigs = []*relabel.Config{&drop}
	}), Options{ExternalLabels: labels.FromStrings("cluster", "eu", "job", "ignored")})
	w := newWriter(l, 1, 3)
	w.scrape(t, 1000)
	require.Eventually(t, func() bool { return rc.total() >= 2 }, 10*time.Second, 10*time.Millisecond)
	s.Stop(time.Second)
	got := rc.snapshot()
	require.Len(t, got, 2)
	require.Contains(t, got, labels.FromStrings("__name__", "m1", "cluster", "eu", "instance", "t0", "job", "j").String(), "series labels win over external labels")
}

func TestStopDuringOutageThenRestartLosesNothing(t *testing.T) {
	rc, setDown := newSwitchableReceiver(t)
	dir := t.TempDir()
	l := openLog(t, dir)
	s := startSender(t, l, rwConfig(t, rc.srv.URL, nil), Options{})
	w := newWriter(l, 3, 10)
	ts := w.scrapes(t, 1, 20)
	time.Sleep(50 * time.Millisecond)
	s.Stop(50 * time.Millisecond)
	require.NoError(t, l.Close())

	l = openLog(t, dir)
	defer l.Close()
	w = newWriter(l, 3, 10)
	ts = append(ts, w.scrapes(t, 21, 30)...)
	setDown(false)
	s = startSender(t, l, rwConfig(t, rc.srv.URL, nil), Options{})
	require.Eventually(t, func() bool { return rc.total() >= 30*30 }, 10*time.Second, 10*time.Millisecond)
	s.Stop(time.Second)
	checkInOrderOnce(t, rc.snapshot(), 30, ts)
}

// newSwitchableReceiver returns a receiver that answers 503 until it is
// set up.
func newSwitchableReceiver(t *testing.T) (*receiver, func(down bool)) {
	rc := newReceiver(t)
	var mu sync.Mutex
	down := true
	rc.fail = func(*http.Request) (int, http.Header) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return http.StatusServiceUnavailable, nil
		}
		return 0, nil
	}
	return rc, func(d bool) {
		mu.Lock()
		defer mu.Unlock()
		down = d
	}
}

// A lane whose batch is full flushes it before it adds the next piece. If
// the destination is down and the sender is stopped during that flush, the
// lane must stop there: its batch is already interleaved, and adding a later
// scrape of the same target to it would gather its series twice.
func TestStopDuringAFlushBeforeAnAddLosesNothing(t *testing.T) {
	rc, setDown := newSwitchableReceiver(t)
	full := func(c *promconfig.RemoteWriteConfig) {
		c.QueueConfig.MaxSamplesPerSend = 15 // one 10-series scrape fits, two do not
		c.QueueConfig.BatchSendDeadline = model.Duration(time.Hour)
	}
	dir := t.TempDir()
	l := openLog(t, dir)
	s := startSender(t, l, rwConfig(t, rc.srv.URL, full), Options{})
	w := newWriter(l, 1, 10)
	ts := w.scrapes(t, 1, 3)
	// The first scrape's batch is being retried once the second arrives.
	require.Eventually(t, func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return rc.requests > 0
	}, 5*time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	s.Stop(50 * time.Millisecond)
	require.NoError(t, l.Close())

	setDown(false)
	l = openLog(t, dir)
	defer l.Close()
	s = startSender(t, l, rwConfig(t, rc.srv.URL, nil), Options{})
	require.Eventually(t, func() bool { return rc.total() >= 3*10 }, 10*time.Second, 10*time.Millisecond)
	s.Stop(time.Second)
	checkInOrderOnce(t, rc.snapshot(), 10, ts)
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	require.Equal(t, 7*time.Second, parseRetryAfter("7", now))
	require.Equal(t, 30*time.Second, parseRetryAfter(now.Add(30*time.Second).Format(http.TimeFormat), now))
	require.Zero(t, parseRetryAfter("", now))
	require.Zero(t, parseRetryAfter("soon", now))
	require.Zero(t, parseRetryAfter(now.Add(-time.Minute).Format(http.TimeFormat), now))
}

func TestBackoffGrowsWithJitterAndCaps(t *testing.T) {
	b := backoff{min: 10 * time.Millisecond, max: 80 * time.Millisecond}
	for i, hi := range []time.Duration{10, 20, 40, 80, 80, 80} {
		d := b.next()
		hi *= time.Millisecond
		require.GreaterOrEqual(t, d, hi/2, "step %d", i)
		require.LessOrEqual(t, d, hi, "step %d", i)
	}
}
