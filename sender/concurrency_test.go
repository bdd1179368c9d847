package sender

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	promconfig "github.com/prometheus/prometheus/config"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
)

func TestDesiredLanes(t *testing.T) {
	cases := []struct {
		active, min, max int
		busy             float64
		pressured        bool
		want             int
	}{
		{1, 1, 8, 0.9, true, 2},  // backlog and the lane is busy: double
		{4, 1, 8, 3.5, true, 8},  // again, capped at max
		{8, 1, 8, 7.9, true, 8},  // at max
		{4, 1, 8, 0.9, true, 4},  // backlog but lanes idle: the receiver is not the bottleneck
		{8, 1, 8, 0.5, false, 5}, // idle: shrink by half the excess
		{2, 1, 8, 0.1, false, 1}, // down to what is needed
		{4, 2, 8, 0, false, 2},   // never below min
		{2, 2, 8, 0, false, 2},   // at min
		{3, 1, 8, 1.5, false, 3}, // comfortable: keep
		{1, 1, 1, 10, true, 1},   // min == max
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			require.Equal(t, c.want, desiredLanes(c.active, c.min, c.max, c.busy, c.pressured))
		})
	}
}

// orderCheckingReceiver answers 400 (as Prometheus' TSDB does) to a sample
// older than or equal to the last one of its series, and otherwise stores it.
type orderCheckingReceiver struct {
	mu       sync.Mutex
	last     map[string]int64
	count    int
	ooo      int
	inflight int
	peak     int
	delay    time.Duration
	srv      *httptest.Server
}

func newOrderCheckingReceiver(t *testing.T, delay time.Duration) *orderCheckingReceiver {
	rc := &orderCheckingReceiver{last: map[string]int64{}, delay: delay}
	rc.srv = httptest.NewServer(rc)
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *orderCheckingReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	rc.inflight++
	rc.peak = max(rc.peak, rc.inflight)
	rc.mu.Unlock()
	time.Sleep(rc.delay)
	body, _ := io.ReadAll(r.Body)
	raw, _ := remote.Decompress(nil, body, remote.EncodingSnappy, 64<<20)
	req, err := remote.DecodeV1(raw, remote.Limits{})
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.inflight--
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, s := range req.Series {
		k := s.Labels.String()
		for _, x := range s.Samples {
			if last, ok := rc.last[k]; ok && x.Timestamp <= last {
				rc.ooo++
				http.Error(w, "out of order sample", http.StatusBadRequest)
				return
			}
			rc.last[k] = x.Timestamp
			rc.count++
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *orderCheckingReceiver) stats() (count, ooo, peak int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.count, rc.ooo, rc.peak
}

func TestOrderHoldsWhileLanesGrowAndShrinkUnderBacklog(t *testing.T) {
	rc := newOrderCheckingReceiver(t, 2*time.Millisecond)
	l := openLog(t, t.TempDir())
	defer l.Close()
	// The destination exists before the backlog builds up (a new cursor
	// starts at the end of the log).
	r, err := l.OpenCursor("dest")
	require.NoError(t, err)
	require.NoError(t, r.Close())
	w := newWriter(l, 40, 25)
	want := 0
	// A backlog before the sender starts: the controller must scale up.
	for i := int64(1); i <= 60; i++ {
		want += w.scrape(t, i*1000)
	}
	s := startSender(t, l, rwConfig(t, rc.srv.URL, func(c *promconfig.RemoteWriteConfig) {
		c.QueueConfig.MinShards = 1
		c.QueueConfig.MaxShards = 8
		c.QueueConfig.MaxSamplesPerSend = 100
		c.QueueConfig.Capacity = 200
	}), Options{resizeInterval: 20 * time.Millisecond})
	// Keep appending while it sends; force lane changes too.
	for i := int64(61); i <= 120; i++ {
		want += w.scrape(t, i*1000)
		if i%10 == 0 {
			s.router.setActive(1 + int(i/10)%8)
		}
	}
	require.Eventually(t, func() bool { n, _, _ := rc.stats(); return n >= want }, 60*time.Second, 10*time.Millisecond,
		func() string {
			n, ooo, peak := rc.stats()
			return fmt.Sprintf("got %d of %d, %d out of order, peak %d, status %+v", n, want, ooo, peak, s.Status())
		}())
	s.Stop(time.Second)
	count, ooo, peak := rc.stats()
	require.Zero(t, ooo, "no series ever went out of order")
	require.Equal(t, want, count, "every sample exactly once")
	require.Greater(t, peak, 1, "requests went out in parallel")
	require.Zero(t, s.Status().Failed)
}

// TestLanesGrowUnderBacklogWithASlowDestination is the case the
// controller exists for: a backlog and a destination that takes its time
// per request. One lane cannot keep up; more must be used.
func TestLanesGrowUnderBacklogWithASlowDestination(t *testing.T) {
	rc := newOrderCheckingReceiver(t, 20*time.Millisecond)
	l := openLog(t, t.TempDir())
	defer l.Close()
	r, err := l.OpenCursor("dest")
	require.NoError(t, err)
	require.NoError(t, r.Close())
	w := newWriter(l, 50, 20)
	want := 0
	for i := int64(1); i <= 40; i++ {
		want += w.scrape(t, i*1000)
	}
	s := startSender(t, l, rwConfig(t, rc.srv.URL, func(c *promconfig.RemoteWriteConfig) {
		c.QueueConfig.MinShards = 1
		c.QueueConfig.MaxShards = 8
		c.QueueConfig.MaxSamplesPerSend = 200
		c.QueueConfig.Capacity = 400
	}), Options{resizeInterval: 50 * time.Millisecond})
	require.Eventually(t, func() bool { return s.Status().Lanes > 1 }, 20*time.Second, 10*time.Millisecond, "lanes never grew")
	require.Eventually(t, func() bool { n, _, _ := rc.stats(); return n >= want }, 60*time.Second, 10*time.Millisecond)
	s.Stop(time.Second)
	_, ooo, peak := rc.stats()
	require.Zero(t, ooo)
	require.Greater(t, peak, 1)
}
