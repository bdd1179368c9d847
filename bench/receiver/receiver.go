package receiver

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferrymetrics/ferry/remote"
)

// Limits of one request; generous, since an agent catching up after an
// outage sends its largest requests.
const (
	maxWireBytes    = 64 << 20
	maxDecodedBytes = 512 << 20
)

// Fault is the misbehaviour the receiver shows while it is set.
type Fault struct {
	// Status, when not 0, answers every request with this code instead of
	// accepting it (503 for an outage, 429 for back-pressure).
	Status int
	// RetryAfter is sent as Retry-After (whole seconds, rounded up) with
	// Status.
	RetryAfter time.Duration
	// Latency is added before every answer.
	Latency time.Duration
}

// Receiver is an http.Handler for remote-write requests that counts and
// checks what it accepts. The zero value is not usable; call New.
type Receiver struct {
	ledger *ledger
	fault  atomic.Pointer[Fault]
	now    func() time.Time

	requests, accepted      atomic.Int64
	wireBytes, wireAll      atomic.Int64 // compressed body bytes: accepted, all
	decodedBytes            atomic.Int64
	samplesIn, histogramsIn atomic.Int64 // data points in accepted requests, duplicates included
	metadataIn              atomic.Int64
	// busyNanos is the time spent handling accepted requests, from the
	// end of reading the body to the answer: the receiver's share of a
	// sender's round trip.
	busyNanos atomic.Int64

	mu       sync.Mutex
	byStatus map[int]int64
	byFormat map[string]int64 // "rw2/zstd", ...
}

// New returns a receiver with no fault set.
func New() *Receiver {
	return &Receiver{ledger: newLedger(), now: time.Now, byStatus: map[int]int64{}, byFormat: map[string]int64{}}
}

// SetFault makes the receiver misbehave as f says until the next call; the
// zero Fault restores normal service.
func (r *Receiver) SetFault(f Fault) { r.fault.Store(&f) }

// ServeHTTP accepts one remote-write request.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	status, msg := r.serve(w, req)
	r.mu.Lock()
	r.byStatus[status]++
	r.mu.Unlock()
	if status/100 != 2 {
		http.Error(w, msg, status)
		return
	}
	w.WriteHeader(status)
}

// serve handles a request and returns the status to answer with. It sets
// RW2's *-Written headers itself.
func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) (int, string) {
	r.requests.Add(1)
	received := r.now()
	wire, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxWireBytes))
	if err != nil {
		return http.StatusRequestEntityTooLarge, err.Error()
	}
	read := time.Now()
	r.wireAll.Add(int64(len(wire)))
	msg, err := remote.ParseContentType(req.Header.Get("Content-Type"))
	if err != nil {
		return http.StatusUnsupportedMediaType, err.Error()
	}
	v2 := msg == remote.MessageV2
	if v2 {
		// Error answers carry the headers too, reporting nothing written.
		remote.SetWrittenHeaders(w.Header(), remote.Counts{})
	}
	if f := r.fault.Load(); f != nil {
		if f.Latency > 0 {
			select {
			case <-time.After(f.Latency):
			case <-req.Context().Done():
				return http.StatusServiceUnavailable, "client went away"
			}
		}
		if f.Status != 0 {
			if f.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
			}
			return f.Status, "fault injected by the benchmark"
		}
	}
	enc, err := remote.ParseContentEncoding(req.Header.Get("Content-Encoding"))
	if err != nil {
		return http.StatusUnsupportedMediaType, err.Error()
	}
	body, err := remote.Decompress(nil, wire, enc, maxDecodedBytes)
	if err != nil {
		return statusOf(err), err.Error()
	}
	lim := remote.Limits{MaxSeries: -1, MaxSamples: -1}
	var rq *remote.Request
	if v2 {
		rq, err = remote.DecodeV2(body, lim)
	} else {
		rq, err = remote.DecodeV1(body, lim)
	}
	if err != nil {
		return statusOf(err), err.Error()
	}

	nowMs := received.UnixMilli()
	for i := range rq.Series {
		r.ledger.add(&rq.Series[i], nowMs)
	}
	c := rq.Count()
	r.accepted.Add(1)
	r.wireBytes.Add(int64(len(wire)))
	r.decodedBytes.Add(int64(len(body)))
	r.samplesIn.Add(int64(c.Samples))
	r.histogramsIn.Add(int64(c.Histograms))
	meta := len(rq.FamilyMetadata)
	for i := range rq.Series {
		if !rq.Series[i].Metadata.IsZero() {
			meta++
		}
	}
	r.metadataIn.Add(int64(meta))
	r.mu.Lock()
	r.byFormat[formatName(msg, enc)]++
	r.mu.Unlock()
	if v2 {
		remote.SetWrittenHeaders(w.Header(), c)
	}
	r.busyNanos.Add(int64(time.Since(read)))
	return http.StatusNoContent, ""
}

// statusOf maps a decoding error to the status a real receiver answers.
func statusOf(err error) int {
	switch {
	case errors.Is(err, remote.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, remote.ErrUnsupported):
		return http.StatusUnsupportedMediaType
	}
	return http.StatusBadRequest
}

func formatName(m remote.Message, e remote.Encoding) string {
	v := "rw1"
	if m == remote.MessageV2 {
		v = "rw2"
	}
	return fmt.Sprintf("%s/%s", v, e)
}
