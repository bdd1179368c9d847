package receiver

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
)

// allocated returns the bytes allocated while f ran, in the whole process:
// the HTTP server handling the request included.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func gzipOfZeros(t *testing.T, n int64) []byte {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	require.NoError(t, err)
	_, err = io.CopyN(zw, zeros{}, n)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// TestHostileRequestsAreRefusedWithinBoundedMemory sends requests built to
// make a receiver allocate far more than they weigh. Each is refused with
// a 4xx after allocating no more than a few times the configured decoded
// size, whatever it claims or expands to.
func TestHostileRequestsAreRefusedWithinBoundedMemory(t *testing.T) {
	const maxDecoded = 4 << 20
	e := newRelayEnv(t, Options{MaxBodySize: 1 << 20, MaxDecodedSize: maxDecoded})

	// One series with a hundred thousand labels, and one with two million
	// label references in RW2.
	var labelsV1 pb
	for i := range 100_000 {
		labelsV1 = labelsV1.msg(1, pb(nil).str(1, fmt.Sprintf("l%06d", i)).str(2, "v"))
	}
	refs := make([]uint64, 2_000_000)
	cases := []struct {
		name string
		path string
		msg  remote.Message
		enc  string
		body []byte
		code int
	}{
		{"snappy block claiming 4 GiB", "/api/v1/write", remote.MessageV2, "snappy", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 413},
		{"zstd frame of 64 MiB of zeros", "/api/v1/write", remote.MessageV2, "zstd", zstdOfZeros(t, 64<<20), 413},
		{"gzip push of 32 MiB of zeros", "/metrics/job/bomb", "", "gzip", gzipOfZeros(t, 32<<20), 413},
		{"a hundred thousand labels in one RW1 series", "/api/v1/write", remote.MessageV1, "snappy", snappyOf(t, pb(nil).msg(1, labelsV1)), 413},
		{"two million label references in one RW2 series", "/api/v1/write", remote.MessageV2, "zstd", zstdOf(t, rw2Request([]string{"", "a"}, refs)), 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var code int
			alloc := allocated(func() {
				h := http.Header{"Content-Encoding": {c.enc}}
				if c.msg != "" {
					h.Set("Content-Type", c.msg.ContentType())
				}
				code = pushBody(t, http.MethodPost, e.srv.URL+c.path, "", "", c.body, h).StatusCode
			})
			require.Equal(t, c.code, code)
			// zstd's decoder keeps a window and history and grows its
			// output by doubling, up to the limit: a few times maxDecoded.
			limit := uint64(6*maxDecoded + 4*len(c.body) + 4<<20)
			require.Less(t, alloc, limit, "allocated %d bytes for a %d-byte body", alloc, len(c.body))
			t.Logf("%d-byte body: %d bytes allocated", len(c.body), alloc)
		})
	}
	require.Empty(t, e.records(t))
}

// slowBody is a request body that blocks until it is released, holding a
// receiver slot meanwhile.
type slowBody struct {
	pr *io.PipeReader
	pw *io.PipeWriter
}

func newSlowBody() *slowBody {
	pr, pw := io.Pipe()
	return &slowBody{pr, pw}
}

func TestFloodBeyondMaxConcurrentGets429WithoutReadingBodies(t *testing.T) {
	e := newRelayEnv(t, Options{MaxConcurrent: 2})
	held := []*slowBody{newSlowBody(), newSlowBody()}
	codes := make(chan int, len(held))
	for i, sb := range held {
		req, err := http.NewRequest(http.MethodPost, e.srv.URL, sb.pr)
		require.NoError(t, err)
		req.Header.Set("Content-Type", remote.MessageV1.ContentType())
		go func(i int) {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes <- -1
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}(i)
	}
	for i := 0; len(e.rcv.slots) < 2; i++ {
		require.Less(t, i, 5000, "the slow requests never took their slots")
		time.Sleep(time.Millisecond)
	}

	const flood, bodySize = 64, 4 << 20
	payload := bytes.Repeat([]byte{0xff}, bodySize)
	var (
		mu         sync.Mutex
		tooMany    int
		retryAfter = map[string]int{}
	)
	alloc := allocated(func() {
		var wg sync.WaitGroup
		work := make(chan struct{})
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := &http.Client{Transport: &http.Transport{}}
				defer client.CloseIdleConnections()
				for range work {
					req, _ := http.NewRequest(http.MethodPost, e.srv.URL, bytes.NewReader(payload))
					req.Header.Set("Content-Type", remote.MessageV2.ContentType())
					resp, err := client.Do(req)
					if err != nil {
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					mu.Lock()
					if resp.StatusCode == http.StatusTooManyRequests {
						tooMany++
					}
					retryAfter[resp.Header.Get("Retry-After")]++
					mu.Unlock()
				}
			}()
		}
		for range flood {
			work <- struct{}{}
		}
		close(work)
		wg.Wait()
	})
	require.Equal(t, flood, tooMany, "every request beyond the limit is told to come back")
	require.Equal(t, map[string]int{"1": flood}, retryAfter)
	require.Less(t, alloc, uint64(flood*bodySize/4), "the flood's bodies were not read into memory (%d bytes allocated)", alloc)
	t.Logf("%d requests of %d bytes refused; %d bytes allocated", flood, bodySize, alloc)

	for i, sb := range held {
		b := body(t, remote.MessageV1, remote.EncodingSnappy, requestAt(int64(i+1)))
		go func() {
			sb.pw.Write(b)
			sb.pw.Close()
		}()
	}
	require.Equal(t, 204, <-codes)
	require.Equal(t, 204, <-codes)
	require.Len(t, e.records(t), 2, "the requests that held the slots were stored")
	require.Equal(t, float64(flood), e.counter(e.rcv.m.rejected.WithLabelValues("overloaded")))
}
