// Package receiver is ferry's remote-write endpoint.
//
// In relay mode every accepted request is validated, written to the log as
// one batch record and fsynced before the response: a 2xx means the data is
// durable, and it is then forwarded to every destination like scraped data.
// In inspect mode nothing is written: the receiver validates what arrives and
// keeps the latest sample of each series in memory for display, which is how
// the quickstart shows the whole pipeline without any other service.
//
// Status codes follow the Remote-Write specifications: 204 on success, 400
// for a malformed body or invalid data, 413 for a body over the limits, 415
// for an unsupported content type or encoding, 429 with Retry-After when too
// many requests are in progress, 5xx when the log cannot take the data (the
// client retries). RW2 responses always carry the *-Written headers.
package receiver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

// Mode is what the receiver does with accepted data.
type Mode string

const (
	// ModeRelay appends accepted data to the log for forwarding.
	ModeRelay Mode = "relay"
	// ModeInspect keeps the latest sample per series in memory only.
	ModeInspect Mode = "inspect"
)

// Log is the part of the log the receiver writes to.
type Log interface {
	Append(wal.Entry) (wal.Pos, error)
	Sync(wal.Pos) error
}

// Options configure a Receiver.
type Options struct {
	Mode Mode
	// Log receives accepted requests in relay mode.
	Log Log
	// Accepted lists the messages accepted; both when empty.
	Accepted []remote.Message
	// MaxBodySize bounds the compressed body; default 32 MiB.
	MaxBodySize int64
	// MaxDecodedSize bounds the decompressed body; default 128 MiB.
	MaxDecodedSize int
	// MaxConcurrent bounds requests in progress; more get 429. Default 16.
	MaxConcurrent int
	// Limits bound one request's series, labels and samples.
	Limits     remote.Limits
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Receiver handles POST /api/v1/write.
type Receiver struct {
	opts    Options
	logger  *slog.Logger
	m       *metrics
	slots   chan struct{}
	Inspect *Table

	bufs sync.Pool
}

// New returns a Receiver.
func New(opts Options) (*Receiver, error) {
	if opts.Mode == "" {
		opts.Mode = ModeRelay
	}
	if opts.Mode == ModeRelay && opts.Log == nil {
		return nil, errors.New("receiver: relay mode needs a log")
	}
	if len(opts.Accepted) == 0 {
		opts.Accepted = []remote.Message{remote.MessageV1, remote.MessageV2}
	}
	if opts.MaxBodySize <= 0 {
		opts.MaxBodySize = 32 << 20
	}
	if opts.MaxDecodedSize <= 0 {
		opts.MaxDecodedSize = 128 << 20
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 16
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	r := &Receiver{
		opts: opts, logger: opts.Logger, m: newMetrics(opts.Registerer),
		slots: make(chan struct{}, opts.MaxConcurrent),
	}
	if opts.Mode == ModeInspect {
		r.Inspect = NewTable(100_000)
	}
	return r, nil
}

// buffers is the per-request scratch memory, pooled between requests.
type buffers struct {
	body, raw, enc []byte
	st             remote.SymbolTable
}

// reject ends a request with an error status, counting it by reason.
func (r *Receiver) reject(w http.ResponseWriter, msg remote.Message, code int, reason string, err error) {
	r.m.rejected.WithLabelValues(reason).Inc()
	if msg == remote.MessageV2 {
		remote.SetWrittenHeaders(w.Header(), remote.Counts{})
	}
	http.Error(w, err.Error(), code)
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	defer func() { r.m.duration.Observe(time.Since(start).Seconds()) }()
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.reject(w, "", http.StatusMethodNotAllowed, "method", fmt.Errorf("method %s not allowed", req.Method))
		return
	}
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	default:
		w.Header().Set("Retry-After", "1")
		r.reject(w, "", http.StatusTooManyRequests, "overloaded", errors.New("too many concurrent requests"))
		return
	}
	msg, err := remote.ParseContentType(req.Header.Get("Content-Type"))
	if err == nil && !slices.Contains(r.opts.Accepted, msg) {
		err = fmt.Errorf("%w: %s is not accepted here", remote.ErrUnsupported, msg)
	}
	if err != nil {
		r.reject(w, "", http.StatusUnsupportedMediaType, "content_type", err)
		return
	}
	encName := req.Header.Get("Content-Encoding")
	if encName == "" {
		encName = string(remote.EncodingSnappy)
	}
	enc, err := remote.ParseContentEncoding(encName)
	if err != nil {
		r.reject(w, msg, http.StatusUnsupportedMediaType, "content_encoding", err)
		return
	}
	b, _ := r.bufs.Get().(*buffers)
	if b == nil {
		b = &buffers{}
	}
	defer r.bufs.Put(b)

	body := bytes.NewBuffer(b.body[:0])
	n, err := body.ReadFrom(io.LimitReader(req.Body, r.opts.MaxBodySize+1))
	b.body = body.Bytes()
	if err != nil {
		r.reject(w, msg, http.StatusBadRequest, "read", fmt.Errorf("read body: %w", err))
		return
	}
	if n > r.opts.MaxBodySize {
		r.reject(w, msg, http.StatusRequestEntityTooLarge, "too_large", fmt.Errorf("body larger than %d bytes", r.opts.MaxBodySize))
		return
	}
	b.raw, err = remote.Decompress(b.raw[:0], b.body, enc, r.opts.MaxDecodedSize)
	if err != nil {
		r.decodeError(w, msg, err)
		return
	}
	var rw *remote.Request
	if msg == remote.MessageV2 {
		rw, err = remote.DecodeV2(b.raw, r.opts.Limits)
	} else {
		rw, err = remote.DecodeV1(b.raw, r.opts.Limits)
	}
	if err != nil {
		r.decodeError(w, msg, err)
		return
	}
	counts := rw.Count()
	if msg == remote.MessageV1 {
		attachFamilyMetadata(rw)
	}
	if code, err := r.accept(rw, msg, b, counts); err != nil {
		r.reject(w, msg, code, "storage", err)
		r.logger.Error("Could not store received data; the client will retry", "err", err)
		return
	}
	r.m.requests.WithLabelValues(string(msg)).Inc()
	r.m.samples.Add(float64(counts.Samples))
	r.m.histograms.Add(float64(counts.Histograms))
	r.m.exemplars.Add(float64(counts.Exemplars))
	if msg == remote.MessageV2 {
		remote.SetWrittenHeaders(w.Header(), counts)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *Receiver) decodeError(w http.ResponseWriter, msg remote.Message, err error) {
	switch {
	case errors.Is(err, remote.ErrTooLarge):
		r.reject(w, msg, http.StatusRequestEntityTooLarge, "too_large", err)
	case errors.Is(err, remote.ErrUnsupported):
		r.reject(w, msg, http.StatusUnsupportedMediaType, "content_encoding", err)
	default:
		r.reject(w, msg, http.StatusBadRequest, "invalid", err)
	}
}

// accept stores a decoded request: in the log, durably, in relay mode; in
// the inspection table otherwise.
func (r *Receiver) accept(rw *remote.Request, msg remote.Message, b *buffers, c remote.Counts) (int, error) {
	if r.opts.Mode == ModeInspect {
		r.Inspect.Update(rw)
		return 0, nil
	}
	// An RW2 body that decoded cleanly is stored as received; RW1 is
	// converted once, here, so the log holds one format.
	payload := b.raw
	if msg != remote.MessageV2 {
		b.enc = record.AppendBatch(b.enc[:0], rw, &b.st)
		payload = b.enc
	}
	total := c.Samples + c.Histograms
	pos, err := r.opts.Log.Append(wal.Entry{Kind: record.KindBatch, Count: uint32(total), Data: payload})
	if err != nil {
		return http.StatusServiceUnavailable, fmt.Errorf("append to log: %w", err)
	}
	if err := r.opts.Log.Sync(pos); err != nil {
		return http.StatusServiceUnavailable, fmt.Errorf("sync log: %w", err)
	}
	return 0, nil
}

// attachFamilyMetadata copies RW1's per-family metadata onto the series of
// each family, so it survives being stored and forwarded as RW2.
func attachFamilyMetadata(rw *remote.Request) {
	if len(rw.FamilyMetadata) == 0 {
		return
	}
	byName := make(map[string]remote.Metadata, len(rw.FamilyMetadata))
	for _, m := range rw.FamilyMetadata {
		byName[m.MetricFamilyName] = m.Metadata
	}
	for i := range rw.Series {
		s := &rw.Series[i]
		if !s.Metadata.IsZero() {
			continue
		}
		name := s.Labels.Get("__name__")
		if m, ok := byName[name]; ok {
			s.Metadata = m
			continue
		}
		for _, suffix := range []string{"_total", "_bucket", "_count", "_sum", "_created", "_info"} {
			if n := len(name) - len(suffix); n > 0 && name[n:] == suffix {
				if m, ok := byName[name[:n]]; ok {
					s.Metadata = m
					break
				}
			}
		}
	}
}

type metrics struct {
	requests   *prometheus.CounterVec
	rejected   *prometheus.CounterVec
	samples    prometheus.Counter
	histograms prometheus.Counter
	exemplars  prometheus.Counter
	duration   prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_receiver_requests_total", Help: "Remote-write requests accepted, by message.",
		}, []string{"message"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_receiver_rejected_requests_total", Help: "Remote-write requests refused, by reason.",
		}, []string{"reason"}),
		samples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ferry_receiver_samples_total", Help: "Samples accepted.",
		}),
		histograms: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ferry_receiver_histograms_total", Help: "Histogram samples accepted.",
		}),
		exemplars: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ferry_receiver_exemplars_total", Help: "Exemplars accepted.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ferry_receiver_request_duration_seconds", Help: "Time to handle a remote-write request, fsync included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9),
		}),
	}
	if reg != nil {
		m.requests = register(reg, m.requests)
		m.rejected = register(reg, m.rejected)
		m.samples = register(reg, m.samples)
		m.histograms = register(reg, m.histograms)
		m.exemplars = register(reg, m.exemplars)
		m.duration = register(reg, m.duration)
	}
	return m
}

// register registers c, or returns the collector already registered in its
// place: a receiver rebuilt by a configuration reload keeps counting into
// the same metrics.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}
