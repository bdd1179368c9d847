package runner

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ferrymetrics/ferry/bench/loadgen"
	"github.com/ferrymetrics/ferry/remote"
)

// pushers are remote-write senders standing in for edge agents: each
// sends the values of one node-like target (its own instance label) every
// interval, spread evenly over the interval.
type pushers struct {
	url     string
	msg     remote.Message
	enc     remote.Encoding
	every   time.Duration
	client  *http.Client
	senders []*pusher

	acked, failed, requests atomic.Int64
	cancel                  context.CancelFunc
	wg                      sync.WaitGroup
}

// pusher is one sender's state.
type pusher struct {
	payload *loadgen.Payload
	req     remote.Request
	st      remote.SymbolTable
	body    []byte
	wire    []byte
}

// metricTypes maps exposition types to remote-write metric types.
var metricTypes = map[string]remote.MetricType{
	"counter": remote.MetricTypeCounter, "gauge": remote.MetricTypeGauge,
	"histogram": remote.MetricTypeHistogram, "summary": remote.MetricTypeSummary,
}

// newPushers prepares n senders of layout's series; id numbers their
// instance labels.
func newPushers(url string, n int, layout *loadgen.Layout, seed uint64, every time.Duration, protocol, compression string) *pushers {
	p := &pushers{
		url: url, msg: remote.Message(message(protocol)), enc: remote.Encoding(compression), every: every,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: n}},
	}
	for i := range n {
		ps := &pusher{payload: loadgen.NewPayload(layout, seed, uint64(i))}
		ps.req.Series = make([]remote.Series, layout.Len())
		instance := "edge-" + strconv.Itoa(i) + ":9100"
		for j := range layout.Len() {
			name, ls := layout.Series(j)
			b := labels.NewScratchBuilder(len(ls) + 3)
			b.Add("__name__", name)
			b.Add("job", "node")
			b.Add("instance", instance)
			for _, l := range ls {
				if l.Value != "" { // empty values mean "no label"
					b.Add(l.Name, l.Value)
				}
			}
			b.Sort()
			_, typ, help := layout.Family(j)
			ps.req.Series[j] = remote.Series{Labels: b.Labels(), Samples: make([]remote.Sample, 1),
				Metadata: remote.Metadata{Type: metricTypes[typ], Help: help}}
		}
		p.senders = append(p.senders, ps)
	}
	return p
}

// start starts every sender; they run until stop or until deadline.
func (p *pushers) start(deadline time.Time) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	p.cancel = cancel
	for i, ps := range p.senders {
		offset := p.every * time.Duration(i) / time.Duration(len(p.senders))
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.loop(ctx, ps, offset)
		}()
	}
}

// stop ends the senders and waits for requests in flight.
func (p *pushers) stop() {
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
}

func (p *pushers) loop(ctx context.Context, ps *pusher, offset time.Duration) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(offset):
	}
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		now := time.Now()
		ps.payload.Step(float64(now.UnixMilli()) / 1000)
		ts := now.UnixMilli()
		for j, v := range ps.payload.Values() {
			ps.req.Series[j].Samples[0] = remote.Sample{Value: v, Timestamp: ts}
		}
		n := int64(len(ps.req.Series))
		if err := p.send(ctx, ps); err != nil {
			p.failed.Add(n)
		} else {
			p.acked.Add(n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// send encodes and posts the sender's request, retrying on 429, 5xx and
// network errors a few times, as a remote-write sender must.
func (p *pushers) send(ctx context.Context, ps *pusher) error {
	if p.msg == remote.MessageV2 {
		ps.body = remote.AppendV2(ps.body[:0], &ps.req, &ps.st)
	} else {
		ps.body = remote.AppendV1(ps.body[:0], &ps.req)
	}
	var err error
	if ps.wire, err = remote.Compress(ps.wire[:0], ps.body, p.enc); err != nil {
		return err
	}
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		// A request that started is finished even if ctx ends meanwhile:
		// the receiver may have accepted it.
		retry, err := p.post(context.WithoutCancel(ctx), ps.wire)
		if err == nil || !retry || attempt == 5 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

// post sends one request and says whether a failure may be retried.
func (p *pushers) post(ctx context.Context, wire []byte) (retry bool, err error) {
	p.requests.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(wire))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", p.msg.ContentType())
	req.Header.Set("Content-Encoding", string(p.enc))
	req.Header.Set(remote.HeaderVersion, p.msg.Version())
	req.Header.Set("User-Agent", "ferrybench")
	resp, err := p.client.Do(req)
	if err != nil {
		return true, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode/100 == 5:
		return true, fmt.Errorf("push: %s", resp.Status)
	}
	return false, fmt.Errorf("push: %s", resp.Status)
}
