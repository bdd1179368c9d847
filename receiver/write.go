package receiver

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

// serveWrite handles POST /api/v1/write: admission, decompression, the
// duplicate check, then decoding and storing.
func (r *Receiver) serveWrite(w http.ResponseWriter, req *http.Request) {
	msg, ctErr := remote.ParseContentType(req.Header.Get("Content-Type"))
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.reject(w, msg, http.StatusMethodNotAllowed, "method", fmt.Errorf("method %s not allowed", req.Method))
		return
	}
	tenant, release, ok := r.admit(w, req, msg)
	if !ok {
		return
	}
	defer release()
	if ctErr == nil && !slices.Contains(r.opts.Accepted, msg) {
		ctErr = fmt.Errorf("%w: %s is not accepted here", remote.ErrUnsupported, msg)
	}
	if ctErr != nil {
		r.reject(w, msg, http.StatusUnsupportedMediaType, "content_type", ctErr)
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
	b := r.getBuffers()
	defer r.bufs.Put(b)
	if !r.readBody(w, req, msg, b) {
		return
	}
	b.raw, err = remote.Decompress(b.raw[:0], b.body, enc, r.opts.MaxDecodedSize)
	if err != nil {
		r.decodeError(w, msg, err)
		return
	}

	if r.dedup == nil {
		out, code, reason, err := r.handleWrite(tenant, msg, b)
		r.finishWrite(w, msg, out, code, reason, err)
		return
	}
	fp := r.fp.of(tenant, msg, b.raw)
	prev, err := r.dedup.claim(req.Context(), fp)
	if err != nil {
		return // the client has gone
	}
	var (
		out    dedupOutcome
		code   int
		reason string
	)
	switch prev.state {
	case dedupStored:
		r.m.duplicates.Inc()
		r.respond(w, msg, prev.counts)
		return
	case dedupUnsynced:
		// The first attempt's record is in the log; only its sync failed.
		out = prev
		if err = r.opts.Log.Sync(prev.pos); err != nil {
			code, reason, err = http.StatusServiceUnavailable, "storage", fmt.Errorf("sync log: %w", err)
		} else {
			out.state = dedupStored
			r.m.duplicates.Inc()
		}
	default:
		out, code, reason, err = r.handleWrite(tenant, msg, b)
	}
	r.dedup.finish(fp, out)
	r.finishWrite(w, msg, out, code, reason, err)
}

// finishWrite answers a remote-write request once its outcome is known.
func (r *Receiver) finishWrite(w http.ResponseWriter, msg remote.Message, out dedupOutcome, code int, reason string, err error) {
	if err != nil {
		r.reject(w, msg, code, reason, err)
		return
	}
	r.m.requests.WithLabelValues(string(msg)).Inc()
	r.m.samples.Add(float64(out.counts.Samples))
	r.m.histograms.Add(float64(out.counts.Histograms))
	r.m.exemplars.Add(float64(out.counts.Exemplars))
	r.respond(w, msg, out.counts)
}

// respond answers a request that was stored, or had been.
func (r *Receiver) respond(w http.ResponseWriter, msg remote.Message, c remote.Counts) {
	if msg == remote.MessageV2 {
		remote.SetWrittenHeaders(w.Header(), c)
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleWrite checks the decompressed request in b.raw and stores it: in
// the log in relay mode, in the inspection table otherwise. On failure it
// returns the status code, the reason label and the error, and an outcome
// that says whether the request's record is in the log anyway.
func (r *Receiver) handleWrite(tenant string, msg remote.Message, b *buffers) (out dedupOutcome, code int, reason string, err error) {
	switch {
	case r.opts.Mode == ModeRelay && msg == remote.MessageV1:
		return r.relayV1(tenant, b)
	case r.opts.Mode == ModeRelay:
		return r.relayV2(tenant, b)
	}
	var rw *remote.Request
	if msg == remote.MessageV2 {
		rw, err = remote.DecodeV2(b.raw, r.opts.Limits)
	} else {
		rw, err = remote.DecodeV1(b.raw, r.opts.Limits)
	}
	if err != nil {
		code, reason := decodeStatus(err)
		return dedupOutcome{}, code, reason, err
	}
	if msg == remote.MessageV1 {
		r.families.learn(tenant, rw.FamilyMetadata)
		r.families.attach(tenant, rw)
	}
	r.Inspect.Update(rw)
	return dedupOutcome{state: dedupStored, counts: rw.Count()}, 0, "", nil
}

// relayV2 stores an RW2 request as it came, once checked.
func (r *Receiver) relayV2(tenant string, b *buffers) (out dedupOutcome, code int, reason string, err error) {
	var series int
	if out.counts, series, err = remote.CheckV2(b.raw, r.opts.Limits, &b.check); err != nil {
		code, reason := decodeStatus(err)
		return dedupOutcome{}, code, reason, err
	}
	b.raw = record.AppendBatchTenant(b.raw, tenant)
	return r.relay(b.raw, out, series)
}

// relayV1 stores an RW1 request converted to RW2, so the log holds one
// format: in one pass, with the metadata its families announced.
func (r *Receiver) relayV1(tenant string, b *buffers) (out dedupOutcome, code int, reason string, err error) {
	fms := remote.FamilyMetadataV1(b.raw)
	var series int
	b.enc, out.counts, series, err = b.tr.TranscodeV1(b.enc[:0], b.raw, r.opts.Limits, r.families.lookup(tenant, fms))
	if err != nil {
		code, reason := decodeStatus(err)
		return dedupOutcome{}, code, reason, err
	}
	r.families.learn(tenant, fms)
	b.enc = record.AppendBatchTenant(b.enc, tenant)
	return r.relay(b.enc, out, series)
}

// relay appends a checked request's record, ending in its tenant, and
// syncs it. A request without series (RW1 metadata on its own, remembered
// for later series) leaves no record. Series without data still make one:
// their metadata reaches the senders, which announce it to RW1
// destinations.
func (r *Receiver) relay(payload []byte, out dedupOutcome, series int) (dedupOutcome, int, string, error) {
	if series == 0 {
		out.state = dedupStored
		return out, 0, "", nil
	}
	var err error
	out.state, out.pos, err = r.append(payload, out.counts)
	return r.stored(out, err)
}

// stored completes handleWrite once the request's record is stored, or
// could not be.
func (r *Receiver) stored(out dedupOutcome, err error) (dedupOutcome, int, string, error) {
	if err != nil {
		r.logger.Error("Could not store received data; the client will retry", "err", err)
		return out, http.StatusServiceUnavailable, "storage", err
	}
	return out, 0, "", nil
}

// store keeps a pushed exposition: in the log, durably, in relay mode,
// with payload (ending in its tenant) as its record; in the inspection
// table otherwise. A request without series leaves no record. The state
// says whether the record is in the log (dedupStored), in it but not
// synced (dedupUnsynced, with its position), or not in it at all.
func (r *Receiver) store(rw *remote.Request, payload []byte, c remote.Counts) (dedupState, wal.Pos, error) {
	if r.opts.Mode == ModeInspect {
		r.Inspect.Update(rw)
		return dedupStored, wal.Pos{}, nil
	}
	if len(rw.Series) == 0 {
		return dedupStored, wal.Pos{}, nil
	}
	return r.append(payload, c)
}

// append writes a batch record and syncs it.
func (r *Receiver) append(payload []byte, c remote.Counts) (dedupState, wal.Pos, error) {
	pos, err := r.opts.Log.Append(wal.Entry{Kind: record.KindBatch, Count: uint32(c.Samples + c.Histograms), Data: payload, Fast: true, ReadSoon: true})
	if err != nil {
		return dedupFresh, pos, fmt.Errorf("append to log: %w", err)
	}
	if err := r.opts.Log.Sync(pos); err != nil {
		return dedupUnsynced, pos, fmt.Errorf("sync log: %w", err)
	}
	return dedupStored, pos, nil
}

func (r *Receiver) decodeError(w http.ResponseWriter, msg remote.Message, err error) {
	code, reason := decodeStatus(err)
	r.reject(w, msg, code, reason, err)
}

// decodeStatus maps a decoding error to its status code and reason label.
func decodeStatus(err error) (int, string) {
	switch {
	case errors.Is(err, remote.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "too_large"
	case errors.Is(err, remote.ErrUnsupported):
		return http.StatusUnsupportedMediaType, "content_encoding"
	}
	return http.StatusBadRequest, "invalid"
}
