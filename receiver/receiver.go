// Package receiver is ferry's ingestion endpoint: Remote-Write 1.0 and 2.0
// on POST /api/v1/write, and text or OpenMetrics expositions pushed by
// batch jobs on /metrics/job/<job>/... (see push.go).
//
// In relay mode every accepted request is validated, written to the log as
// one batch record and fsynced before the response: a 2xx means the data is
// durable, and it is then forwarded to every destination like scraped data.
// In inspect mode nothing is written: the receiver validates what arrives and
// keeps the latest sample of each series in memory for display, which is how
// the quickstart shows the whole pipeline without any other service.
//
// Status codes follow the Remote-Write specifications: 204 on success, 400
// for a malformed body or invalid data, 401 without the configured bearer
// token, 413 for a body over the limits, 415 for an unsupported content
// type or encoding, 429 with Retry-After when too many requests are in
// progress, 5xx when the log cannot take the data (the client retries).
// RW2 responses always carry the *-Written headers.
//
// A request whose tenant, message and decompressed body equal those of a
// request accepted within the duplicate window (by default the last 4096
// requests, for at most 10 minutes) is a client's retry: it is answered as
// the first was and not stored again.
package receiver

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
	// Accepted lists the remote-write messages accepted; both when empty.
	Accepted []remote.Message
	// MaxBodySize bounds the compressed body; default 32 MiB.
	MaxBodySize int64
	// MaxDecodedSize bounds the decompressed body; default 128 MiB.
	MaxDecodedSize int
	// MaxConcurrent bounds requests in progress; more get 429. Default 16.
	// Memory in use is at most about MaxConcurrent times (MaxBodySize +
	// MaxDecodedSize + the decoded request).
	MaxConcurrent int
	// Limits bound one request's series, labels and samples.
	Limits remote.Limits
	// BearerToken returns the token requests must present as
	// "Authorization: Bearer <token>"; "" and no error means none is
	// required. It is called at most once a second, so a rotated token
	// file takes effect without a reload. An error refuses every request.
	BearerToken func() (string, error)
	// TenantHeader names the request header whose value is the tenant of
	// the data, stored with it in the log; DefaultTenantHeader if empty.
	TenantHeader string
	// DedupRequests is how many accepted requests are remembered to
	// recognise retries; DefaultDedupRequests if 0, none if negative.
	DedupRequests int
	// DedupWindow is how long an accepted request is remembered at most;
	// DefaultDedupWindow if 0.
	DedupWindow time.Duration
	// Now returns the time, which stamps pushed samples that have none.
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Receiver handles remote-write and push requests.
type Receiver struct {
	opts     Options
	logger   *slog.Logger
	m        *metrics
	slots    chan struct{}
	auth     *bearerAuth
	dedup    *dedup
	fp       fingerprinter
	families *families
	Inspect  *Table

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
	if opts.TenantHeader == "" {
		opts.TenantHeader = DefaultTenantHeader
	}
	if opts.DedupRequests == 0 {
		opts.DedupRequests = DefaultDedupRequests
	}
	if opts.DedupWindow <= 0 {
		opts.DedupWindow = DefaultDedupWindow
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	r := &Receiver{
		opts: opts, logger: opts.Logger, m: newMetrics(opts.Registerer),
		slots: make(chan struct{}, opts.MaxConcurrent), fp: newFingerprinter(), families: newFamilies(),
	}
	if opts.BearerToken != nil {
		r.auth = &bearerAuth{source: opts.BearerToken, now: opts.Now}
	}
	if opts.DedupRequests > 0 {
		r.dedup = newDedup(opts.DedupRequests, opts.DedupWindow, opts.Now)
	}
	if opts.Mode == ModeInspect {
		r.Inspect = NewTable(100_000)
	}
	return r, nil
}

// buffers is the per-request scratch memory, pooled between requests.
type buffers struct {
	body, raw, enc []byte
	st             remote.SymbolTable // pushed expositions
	tr             remote.Transcoder  // relayed RW1
	check          remote.DictScratch // relayed RW2
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
	if isPushPath(req.URL.Path) {
		r.servePush(w, req)
		return
	}
	r.serveWrite(w, req)
}

// admit runs the checks every request passes before its body is read:
// credentials, tenant and a free slot. It returns the tenant and a
// function that frees the slot, or ok == false after answering.
func (r *Receiver) admit(w http.ResponseWriter, req *http.Request, msg remote.Message) (tenant string, release func(), ok bool) {
	if r.auth != nil {
		res, err := r.auth.check(req)
		switch res {
		case authUnavailable:
			r.logger.Error("Cannot read the receiver's bearer token; refusing every request", "err", err)
			r.reject(w, msg, http.StatusInternalServerError, "auth_unavailable", errors.New("the receiver cannot check credentials"))
			return "", nil, false
		case authMissing, authWrong:
			w.Header().Set("WWW-Authenticate", `Bearer realm="ferry"`)
			r.reject(w, msg, http.StatusUnauthorized, "unauthorized", errors.New("missing or wrong bearer token"))
			return "", nil, false
		}
	}
	tenant, err := tenantOf(req, r.opts.TenantHeader)
	if err != nil {
		r.reject(w, msg, http.StatusBadRequest, "tenant", err)
		return "", nil, false
	}
	select {
	case r.slots <- struct{}{}:
		return tenant, func() { <-r.slots }, true
	default:
		w.Header().Set("Retry-After", "1")
		r.reject(w, msg, http.StatusTooManyRequests, "overloaded", errors.New("too many concurrent requests"))
		return "", nil, false
	}
}

// readBody reads at most MaxBodySize bytes of the request body into b.body.
func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request, msg remote.Message, b *buffers) bool {
	var err error
	b.body, err = readLimited(b.body, req.Body, r.opts.MaxBodySize, req.ContentLength)
	switch {
	case errors.Is(err, errOverLimit):
		r.reject(w, msg, http.StatusRequestEntityTooLarge, "too_large", fmt.Errorf("body larger than %d bytes", r.opts.MaxBodySize))
		return false
	case err != nil:
		r.reject(w, msg, http.StatusBadRequest, "read", fmt.Errorf("read body: %w", err))
		return false
	}
	return true
}

func (r *Receiver) getBuffers() *buffers {
	b, _ := r.bufs.Get().(*buffers)
	if b == nil {
		b = &buffers{}
	}
	return b
}
