package receiver

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
)

// clock is a settable time for tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func postWithTenant(t *testing.T, url string, msg remote.Message, b []byte, tenant string) *http.Response {
	t.Helper()
	h := http.Header{}
	if tenant != "" {
		h.Set(DefaultTenantHeader, tenant)
	}
	return postHeaders(t, url, msg, "snappy", b, h)
}

func TestRetriedRequestIsAcceptedButStoredOnce(t *testing.T) {
	for _, msg := range []remote.Message{remote.MessageV1, remote.MessageV2} {
		t.Run(string(msg), func(t *testing.T) {
			e := newRelayEnv(t, Options{})
			b := body(t, msg, remote.EncodingSnappy, testRequest())
			first := post(t, e.srv.URL, msg, "snappy", b)
			retry := post(t, e.srv.URL, msg, "snappy", b)
			require.Equal(t, http.StatusNoContent, first.StatusCode)
			require.Equal(t, http.StatusNoContent, retry.StatusCode)
			if msg == remote.MessageV2 {
				c1, _ := remote.ParseWrittenHeaders(first.Header)
				c2, ok := remote.ParseWrittenHeaders(retry.Header)
				require.True(t, ok)
				require.Equal(t, c1, c2, "the retry is told what the first request wrote")
			}
			require.Len(t, e.records(t), 1)
			require.Equal(t, 1.0, e.counter(e.rcv.m.duplicates))
			require.Equal(t, 1.0, e.counter(e.rcv.m.requests.WithLabelValues(string(msg))))
		})
	}
}

func TestSameBodyIsNotADuplicateAcrossTenantsOrMessages(t *testing.T) {
	e := newRelayEnv(t, Options{})
	b := body(t, remote.MessageV1, remote.EncodingSnappy, testRequest())
	for _, tenant := range []string{"", "team-a", "team-b"} {
		require.Equal(t, 204, postWithTenant(t, e.srv.URL, remote.MessageV1, b, tenant).StatusCode)
	}
	var tenants []string
	for _, r := range e.records(t) {
		tenants = append(tenants, r.tenant)
	}
	require.Equal(t, []string{"", "team-a", "team-b"}, tenants)
	require.Zero(t, e.counter(e.rcv.m.duplicates))
}

func TestRequestIsStoredAgainOnceItLeavesTheWindow(t *testing.T) {
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	e := newRelayEnv(t, Options{DedupRequests: 2, DedupWindow: time.Minute, Now: clk.Now})
	a := body(t, remote.MessageV1, remote.EncodingSnappy, requestAt(1))
	b := body(t, remote.MessageV1, remote.EncodingSnappy, requestAt(2))
	c := body(t, remote.MessageV1, remote.EncodingSnappy, requestAt(3))
	send := func(x []byte) { require.Equal(t, 204, post(t, e.srv.URL, remote.MessageV1, "snappy", x).StatusCode) }

	send(a)
	send(a) // duplicate
	require.Len(t, e.records(t), 1)
	clk.advance(time.Minute + time.Millisecond)
	send(a) // too old to be a retry
	require.Len(t, e.records(t), 1)

	send(b)
	send(c) // the window holds two requests: a is pushed out
	send(c) // duplicate
	send(a)
	require.Len(t, e.records(t), 3, "b, c, then a again")
	require.Equal(t, 2.0, e.counter(e.rcv.m.duplicates))
}

// A request whose record reached the log but whose sync failed is
// answered 503; its retry syncs that record instead of appending a second
// copy that would reach the destinations twice.
func TestRetryAfterAFailedSyncSyncsInsteadOfAppendingAgain(t *testing.T) {
	e := newRelayEnv(t, Options{})
	b := body(t, remote.MessageV2, remote.EncodingSnappy, testRequest())
	e.fs.SetFailSync(true)
	require.Equal(t, http.StatusServiceUnavailable, post(t, e.srv.URL, remote.MessageV2, "snappy", b).StatusCode)
	require.Equal(t, http.StatusServiceUnavailable, post(t, e.srv.URL, remote.MessageV2, "snappy", b).StatusCode, "still failing")
	e.fs.SetFailSync(false)
	resp := post(t, e.srv.URL, remote.MessageV2, "snappy", b)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	c, _ := remote.ParseWrittenHeaders(resp.Header)
	require.Equal(t, 3, c.Samples)
	recs := e.records(t)
	require.Len(t, recs, 1, "one record, synced by the retry")
	require.Len(t, recs[0].batch.Series, 2)
	require.Equal(t, 1.0, e.counter(e.rcv.m.duplicates))
}

func TestRetryOfARefusedRequestIsHandledAfresh(t *testing.T) {
	e := newRelayEnv(t, Options{})
	b := body(t, remote.MessageV1, remote.EncodingSnappy, testRequest())
	e.fs.SetFailWrite(true)
	require.Equal(t, http.StatusServiceUnavailable, post(t, e.srv.URL, remote.MessageV1, "snappy", b).StatusCode)
	e.fs.SetFailWrite(false)
	require.Equal(t, http.StatusNoContent, post(t, e.srv.URL, remote.MessageV1, "snappy", b).StatusCode)
	require.Len(t, e.records(t), 1)
	require.Zero(t, e.counter(e.rcv.m.duplicates))
}

// A retry that arrives while the first attempt is still being written
// waits for it and is answered as a duplicate.
func TestRetryDuringTheFirstAttemptWaitsForIt(t *testing.T) {
	e := newRelayEnv(t, Options{})
	b := body(t, remote.MessageV1, remote.EncodingSnappy, testRequest())
	release := e.fs.HoldSyncs()
	codes := make(chan int, 2)
	go func() { codes <- post(t, e.srv.URL, remote.MessageV1, "snappy", b).StatusCode }()
	for i := 0; e.fs.SyncsWaiting() == 0; i++ {
		require.Less(t, i, 5000, "the first request never reached fsync")
		time.Sleep(time.Millisecond)
	}
	go func() { codes <- post(t, e.srv.URL, remote.MessageV1, "snappy", b).StatusCode }()
	release()
	require.Equal(t, 204, <-codes)
	require.Equal(t, 204, <-codes)
	require.Len(t, e.records(t), 1)
	require.Equal(t, 1.0, e.counter(e.rcv.m.duplicates))
}

func TestDedupWaiterGivesUpWithItsClient(t *testing.T) {
	d := newDedup(4, time.Minute, time.Now)
	fp := fingerprint{1, 2}
	out, err := d.claim(context.Background(), fp)
	require.NoError(t, err)
	require.Equal(t, dedupFresh, out.state)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = d.claim(ctx, fp)
	require.ErrorIs(t, err, context.Canceled)
	d.finish(fp, dedupOutcome{state: dedupStored, counts: remote.Counts{Samples: 3}})
	out, err = d.claim(context.Background(), fp)
	require.NoError(t, err)
	require.Equal(t, dedupOutcome{state: dedupStored, counts: remote.Counts{Samples: 3}}, out)
}

// An unsynced request pushed out of the window while its retry is in
// progress stays known until the retry finishes, so that twins waiting
// for the retry are released.
func TestDedupEvictionSparesARequestInProgress(t *testing.T) {
	d := newDedup(1, time.Minute, time.Now)
	a, b := fingerprint{1}, fingerprint{2}
	_, _ = d.claim(context.Background(), a)
	d.finish(a, dedupOutcome{state: dedupUnsynced})
	out, _ := d.claim(context.Background(), a)
	require.Equal(t, dedupUnsynced, out.state, "the retry owns a")
	_, _ = d.claim(context.Background(), b)
	d.finish(b, dedupOutcome{state: dedupStored}) // evicts a's slot
	waiter := make(chan dedupOutcome)
	go func() {
		out, _ := d.claim(context.Background(), a)
		waiter <- out
	}()
	d.finish(a, dedupOutcome{state: dedupStored})
	require.Equal(t, dedupStored, (<-waiter).state)
}
