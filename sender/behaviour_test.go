package sender

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/stretchr/testify/require"
)

// TestReceiverBehaviours drives a sender against receivers that misbehave in
// one way each, and checks what is retried, what is dropped and counted, and
// that nothing else is lost or repeated.
func TestReceiverBehaviours(t *testing.T) {
	type scenario struct {
		name string
		// first decides the response to the n-th request (0-based); 0
		// means "behave normally".
		first func(n int, w http.ResponseWriter) (handled bool)
		// wantFailed is the number of samples counted as failed (dropped);
		// wantRetried says whether retries must have happened.
		wantFailed  int64
		wantRetried bool
		timeout     time.Duration
	}
	hijackClose := func(w http.ResponseWriter) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close()
		}
	}
	scenarios := []scenario{
		{name: "burst of 5xx", wantRetried: true, first: func(n int, w http.ResponseWriter) bool {
			if n < 4 {
				http.Error(w, "overloaded", []int{500, 502, 503, 504}[n])
				return true
			}
			return false
		}},
		{name: "429 without Retry-After", wantRetried: true, first: func(n int, w http.ResponseWriter) bool {
			if n < 2 {
				http.Error(w, "slow down", http.StatusTooManyRequests)
				return true
			}
			return false
		}},
		{name: "timeout", wantRetried: true, timeout: 100 * time.Millisecond, first: func(n int, w http.ResponseWriter) bool {
			if n == 0 {
				time.Sleep(300 * time.Millisecond)
				w.WriteHeader(http.StatusNoContent) // too late: the sender gave up
				return true
			}
			return false
		}},
		{name: "slow but in time", wantRetried: false, timeout: 2 * time.Second, first: func(n int, w http.ResponseWriter) bool {
			time.Sleep(50 * time.Millisecond)
			return false
		}},
		{name: "truncated response", wantRetried: true, first: func(n int, w http.ResponseWriter) bool {
			if n == 0 {
				hijackClose(w)
				return true
			}
			return false
		}},
		{name: "400 bad request", wantFailed: 10, first: func(n int, w http.ResponseWriter) bool {
			if n == 0 {
				http.Error(w, "bad labels", http.StatusBadRequest)
				return true
			}
			return false
		}},
		{name: "415 with nothing to fall back to", wantFailed: 10, first: func(n int, w http.ResponseWriter) bool {
			if n == 0 {
				http.Error(w, "unsupported", http.StatusUnsupportedMediaType)
				return true
			}
			return false
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			rc := newReceiver(t)
			var mu sync.Mutex
			n := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				i := n
				n++
				mu.Unlock()
				if sc.first(i, w) {
					return
				}
				rc.ServeHTTP(w, r)
			}))
			defer srv.Close()
			l := openLog(t, t.TempDir())
			defer l.Close()
			s := startSender(t, l, rwConfig(t, srv.URL, func(c *promconfig.RemoteWriteConfig) {
				if sc.timeout > 0 {
					c.RemoteTimeout = model.Duration(sc.timeout)
				}
			}), Options{RetryOnHTTP429: true})
			w := newWriter(l, 1, 10)
			w.scrape(t, 1000)
			require.Eventually(t, func() bool {
				st := s.Status()
				return st.Sent+st.Failed >= 10
			}, 10*time.Second, 5*time.Millisecond)
			w.scrape(t, 2000) // what follows is never affected
			require.Eventually(t, func() bool { return s.Status().Sent+s.Status().Failed >= 20 }, 10*time.Second, 5*time.Millisecond)
			s.Stop(time.Second)
			st := s.Status()
			require.Equal(t, sc.wantFailed, st.Failed)
			require.Equal(t, sc.wantRetried, st.Retried > 0, "retried %d", st.Retried)
			want := []int64{1000, 2000}
			if sc.wantFailed > 0 {
				want = []int64{2000}
			}
			checkInOrderOnce(t, rc.snapshot(), 10, want)
		})
	}
}

func TestConnectionRefusedIsRetriedUntilTheDestinationComesUp(t *testing.T) {
	// Reserve a port, then leave it closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	l := openLog(t, t.TempDir())
	defer l.Close()
	s := startSender(t, l, rwConfig(t, "http://"+addr+"/api/v1/write", nil), Options{})
	w := newWriter(l, 2, 5)
	w.scrape(t, 1000)
	require.Eventually(t, func() bool { return s.Status().Retried > 0 }, 10*time.Second, 5*time.Millisecond)
	require.Contains(t, s.Status().LastError, "connection refused")

	rc := newReceiver(t)
	ln, err = net.Listen("tcp", addr)
	require.NoError(t, err)
	srv := &http.Server{Handler: rc}
	go srv.Serve(ln)
	defer srv.Close()
	w.scrape(t, 2000)
	require.Eventually(t, func() bool { return rc.total() >= 20 }, 10*time.Second, 5*time.Millisecond)
	s.Stop(time.Second)
	checkInOrderOnce(t, rc.snapshot(), 10, []int64{1000, 2000})
	require.Zero(t, s.Status().Failed)
}
