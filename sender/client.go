package sender

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/version"
)

// attemptResult classifies the outcome of one request.
type attemptResult int

const (
	resultOK          attemptResult = iota
	resultRetry                     // 5xx, 429, network error: send again
	resultRejected                  // other 4xx: the destination will never take it
	resultUnsupported               // 415 or an RW2 2xx without *-Written headers
)

// attempt is the outcome of one request.
type attempt struct {
	result     attemptResult
	err        error
	retryAfter time.Duration // from a Retry-After header, 0 if absent
	written    remote.Counts // RW2 *-Written headers
	hasWritten bool
}

// client sends encoded requests to one destination.
type client struct {
	http    *http.Client
	url     string
	headers map[string]string
	timeout time.Duration
	now     func() time.Time
	// retry429 retries 429 responses; otherwise they are final.
	retry429 bool
	// tenantHeader carries a request's tenant.
	tenantHeader string
}

// send performs one request. body is already compressed with enc; tenant,
// when set, goes in the tenant header.
func (c *client) send(ctx context.Context, body []byte, msg remote.Message, enc remote.Encoding, tenant string) attempt {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return attempt{result: resultRejected, err: err}
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	if tenant != "" {
		req.Header.Set(c.tenantHeader, tenant)
	}
	// Reserved headers last, so no custom header can override them.
	req.Header.Set("Content-Encoding", string(enc))
	req.Header.Set("Content-Type", msg.ContentType())
	req.Header.Set(remote.HeaderVersion, msg.Version())
	req.Header.Set("User-Agent", version.UserAgent())
	resp, err := c.http.Do(req)
	if err != nil {
		return attempt{result: resultRetry, err: err}
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))

	a := attempt{}
	a.written, a.hasWritten = remote.ParseWrittenHeaders(resp.Header)
	code := resp.StatusCode
	switch {
	case code/100 == 2:
		if msg == remote.MessageV2 && !a.hasWritten {
			// An RW1-only receiver decodes an RW2 body as an empty RW1
			// request and says 2xx: nothing was written.
			a.result = resultUnsupported
			a.err = fmt.Errorf("HTTP %d without X-Prometheus-Remote-Write-*-Written headers: receiver does not speak RW2", code)
			return a
		}
		a.result = resultOK
		return a
	case code == http.StatusUnsupportedMediaType:
		a.result = resultUnsupported
	case code == http.StatusTooManyRequests && !c.retry429:
		a.result = resultRejected
	case code == http.StatusTooManyRequests || code/100 == 5:
		a.result = resultRetry
		a.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
	default:
		a.result = resultRejected
	}
	a.err = fmt.Errorf("server returned HTTP status %s: %s", resp.Status, strings.TrimSpace(string(excerpt)))
	return a
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// backoff computes retry delays: exponential from min to max, each drawn at
// random from its upper half so that many senders retrying at once spread
// out instead of hitting the destination together.
type backoff struct {
	min, max time.Duration
	cur      time.Duration
}

func (b *backoff) reset() { b.cur = 0 }

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur *= 2
	}
	if b.cur > b.max {
		b.cur = b.max
	}
	if b.cur <= 0 {
		return 0
	}
	half := b.cur / 2
	return half + rand.N(half+1)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
