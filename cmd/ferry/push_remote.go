package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ferrymetrics/ferry/remote"
)

// backfillPoint is one sample or histogram of the file, in the order they
// are sent: by time, then by series.
type backfillPoint struct {
	t      int64
	series int32
	index  int32 // in the series' Samples or Histograms
}

// backfill sends the file over remote write in batches of --batch-size
// points taken in timestamp order, so that every series goes out in order
// however the file is laid out, and no request holds a point older than
// one a previous request held for the same series.
func (c *pushCommand) backfill(ctx context.Context, s *retrySender, body []byte, stderr io.Writer) error {
	req, err := c.parse(body)
	if err != nil {
		return err
	}
	points := backfillOrder(req)
	u := *c.to
	if strings.Trim(u.Path, "/") == "" {
		u.Path = "/api/v1/write"
	}
	rw := &rwSender{retrySender: s, url: u.String(), msg: remote.Message(c.message), enc: remote.Encoding(c.compression)}
	p := newProgress(stderr, len(points))
	batch := newBatcher(req)
	for i := 0; i < len(points); {
		end := min(i+c.batchSize, len(points))
		out := batch.build(points[i:end])
		if i == 0 {
			out.FamilyMetadata = req.FamilyMetadata // RW1 sends metadata apart; once is enough
		}
		if err := rw.send(ctx, out, func() string { return fmt.Sprintf("request %d", p.requests+1) }); err != nil {
			return fmt.Errorf("%s after %d of %d samples: %w", u.Redacted(), i, len(points), err)
		}
		p.sent(end - i)
		i = end
	}
	p.done(u.Redacted())
	return nil
}

// backfillOrder lists every point of req by time, then by series.
func backfillOrder(req *remote.Request) []backfillPoint {
	var points []backfillPoint
	for si := range req.Series {
		s := &req.Series[si]
		for i, x := range s.Samples {
			points = append(points, backfillPoint{x.Timestamp, int32(si), int32(i)})
		}
		for i, h := range s.Histograms {
			points = append(points, backfillPoint{h.Timestamp, int32(si), int32(i)})
		}
	}
	slices.SortFunc(points, func(a, b backfillPoint) int {
		return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.series, b.series))
	})
	return points
}

// batcher builds the requests of a backfill. Each exemplar travels with
// the first point of its series at or after the exemplar's timestamp (or
// the series' last point), so that none is sent without a sample, which
// receivers refuse.
type batcher struct {
	req      *remote.Request
	nextEx   []int // per series, its first exemplar not yet sent
	lastTime []int64
	index    map[int32]int
	out      remote.Request
}

func newBatcher(req *remote.Request) *batcher {
	b := &batcher{req: req, nextEx: make([]int, len(req.Series)), lastTime: make([]int64, len(req.Series)), index: map[int32]int{}}
	for i := range req.Series {
		s := &req.Series[i]
		slices.SortStableFunc(s.Exemplars, func(x, y remote.Exemplar) int { return cmp.Compare(x.Timestamp, y.Timestamp) })
		b.lastTime[i] = lastTimestamp(s)
	}
	return b
}

func lastTimestamp(s *remote.Series) int64 {
	if n := len(s.Samples); n > 0 {
		return s.Samples[n-1].Timestamp
	}
	if n := len(s.Histograms); n > 0 {
		return s.Histograms[n-1].Timestamp
	}
	return 0
}

// build returns the request holding points.
func (b *batcher) build(points []backfillPoint) *remote.Request {
	clear(b.index)
	b.out = remote.Request{}
	for _, p := range points {
		src := &b.req.Series[p.series]
		j, ok := b.index[p.series]
		if !ok {
			j = len(b.out.Series)
			b.index[p.series] = j
			b.out.Series = append(b.out.Series, remote.Series{Labels: src.Labels, Metadata: src.Metadata})
		}
		dst := &b.out.Series[j]
		if len(src.Samples) > 0 {
			dst.Samples = append(dst.Samples, src.Samples[p.index])
		} else {
			dst.Histograms = append(dst.Histograms, src.Histograms[p.index])
		}
		ex := src.Exemplars[b.nextEx[p.series]:]
		k := 0
		for k < len(ex) && (ex[k].Timestamp <= p.t || p.t == b.lastTime[p.series]) {
			k++
		}
		dst.Exemplars = append(dst.Exemplars, ex[:k]...)
		b.nextEx[p.series] += k
	}
	return &b.out
}

// rwSender sends remote-write requests, falling back from RW2 to RW1 when
// the receiver does not speak RW2, as the specification asks.
type rwSender struct {
	*retrySender
	url string
	msg remote.Message
	enc remote.Encoding

	pb, wire []byte
	st       remote.SymbolTable
}

func (r *rwSender) send(ctx context.Context, req *remote.Request, describe func() string) error {
	for {
		if r.msg == remote.MessageV2 {
			r.pb = remote.AppendV2(r.pb[:0], req, &r.st)
		} else {
			r.pb = remote.AppendV1(r.pb[:0], req)
		}
		var err error
		if r.wire, err = remote.Compress(r.wire[:0], r.pb, r.enc); err != nil {
			return err
		}
		h := http.Header{
			"Content-Type":       {r.msg.ContentType()},
			"Content-Encoding":   {string(r.enc)},
			remote.HeaderVersion: {r.msg.Version()},
		}
		a, err := r.do(ctx, http.MethodPost, r.url, h, r.wire, describe)
		if err != nil {
			return err
		}
		_, written := remote.ParseWrittenHeaders(a.header)
		refused := a.code == http.StatusUnsupportedMediaType || a.code/100 == 2 && r.msg == remote.MessageV2 && !written
		switch {
		case refused && r.enc == remote.EncodingZstd:
			r.enc = remote.EncodingSnappy
		case refused && r.msg == remote.MessageV2:
			r.msg = remote.MessageV1
		case a.code/100 == 2:
			return nil
		default:
			return fmt.Errorf("HTTP %d: %s", a.code, a.excerpt)
		}
		fmt.Fprintf(r.log, "ferry push: the receiver does not take this format; sending %s with %s instead\n", r.msg, r.enc)
	}
}

// progress reports a backfill's progress on standard error: a bar
// redrawn in place on a terminal, a line a second otherwise.
type progress struct {
	w        io.Writer
	total    int
	sentN    int
	requests int
	tty      bool
	start    time.Time
	last     time.Time
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) sent(n int) {
	p.sentN += n
	p.requests++
	if now := time.Now(); p.tty || now.Sub(p.last) >= time.Second {
		p.last = now
		p.print()
	}
}

func (p *progress) print() {
	pct := 100.0
	if p.total > 0 {
		pct = 100 * float64(p.sentN) / float64(p.total)
	}
	const width = 30
	bar := strings.Repeat("=", int(pct*width/100)) + strings.Repeat(" ", width-int(pct*width/100))
	line := fmt.Sprintf("ferry push: [%s] %5.1f%% %d/%d samples, %d requests", bar, pct, p.sentN, p.total, p.requests)
	if p.tty {
		fmt.Fprint(p.w, "\r"+line)
		return
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) done(to string) {
	p.print()
	if p.tty {
		fmt.Fprintln(p.w)
	}
	fmt.Fprintf(p.w, "ferry push: backfilled %d samples in %d requests to %s in %s\n", p.sentN, p.requests, to, time.Since(p.start).Round(time.Millisecond))
}
