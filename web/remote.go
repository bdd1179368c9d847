package web

import (
	"net/http"
	"net/url"

	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/sender"
	"github.com/ferrymetrics/ferry/wal"
)

// destView is one destination as the remote-write page shows it: the
// sender's own state, its cursor in the log, and what its metrics say.
type destView struct {
	sender.Status
	// URL is the destination's address with any password hidden.
	URL string
	// Protocol names the message in use after any fallback.
	Protocol string
	// Cursor is the destination's position in the log; nil if the log
	// has none (the sender has not opened it yet).
	Cursor *wal.CursorStats
	// Behind says how far behind the newest data the destination is.
	Behind string
	// SamplesPerSec and BytesPerSec are acknowledged samples and sent
	// bytes per second over the meter's window.
	SamplesPerSec, BytesPerSec string
	// Latency is the mean request duration over the window.
	Latency string
	// Requests by outcome since start: acknowledged, retried after a
	// retryable error, refused for good.
	RequestsOK, RequestsRetried, RequestsRejected float64
	// Drops lists every reason samples were not delivered, zeros included.
	Drops        []reasonCount
	TotalDropped float64
}

// reasonCount is a counter by reason, with what the reason means.
type reasonCount struct {
	Reason  string
	Count   float64
	Meaning string
}

// destDrops lists every way a destination's samples can end up not
// delivered: the reasons ferry knows always, so that a zero is visible as a
// zero, then any other reason the sender has counted.
func destDrops(s snapshot, name string) []reasonCount {
	dropped := s.by("prometheus_remote_storage_samples_dropped_total", "reason", "remote_name", name)
	limits := s.by("ferry_log_dropped_samples_total", "reason", "remote_name", name)
	out := []reasonCount{
		{"write_relabel", dropped["write_relabel"], "Dropped on purpose by write_relabel_configs."},
		{"too_old", dropped["too_old"], "Older than the destination accepts (sample_age_limit)."},
		{"rejected", s.sum("prometheus_remote_storage_samples_failed_total", "remote_name", name), "Refused for good by the destination (a 4xx other than 429)."},
		{"max_size", limits["max_size"], "Deleted from the log by ferry.storage.max_size before they were sent."},
		{"max_age", limits["max_age"], "Deleted from the log by ferry.storage.max_age before they were sent."},
		{"undecodable", s.sum("ferry_remote_undecodable_samples_total", "remote_name", name), "In a corrupt log record, so never sent."},
	}
	for _, reason := range sortedKeysF(dropped) {
		if reason != "write_relabel" && reason != "too_old" {
			out = append(out, reasonCount{reason, dropped[reason], "Not sent on purpose (see prometheus_remote_storage_samples_dropped_total)."})
		}
	}
	return out
}

func (h *handler) destinations() []destView {
	if h.opts.Sources.Senders == nil {
		return nil
	}
	cursors := map[string]wal.CursorStats{}
	var log wal.Stats
	if h.opts.Sources.Log != nil {
		log = h.opts.Sources.Log()
		for _, c := range log.Cursors {
			cursors[c.Name] = c
		}
	}
	v := h.meter.view()
	var out []destView
	for _, st := range h.opts.Sources.Senders() {
		d := destView{Status: st, URL: hidePassword(st.URL), Protocol: protocolName(st.Message)}
		d.Behind = "-"
		if c, ok := cursors[st.Name]; ok {
			d.Cursor = &c
			d.Behind = behind(c, log)
		}
		match := []string{"remote_name", st.Name}
		d.SamplesPerSec = perSecond(v.rate("prometheus_remote_storage_samples_total", match...))
		bps, ok := v.rate("prometheus_remote_storage_bytes_total", match...)
		d.BytesPerSec = "-"
		if ok {
			d.BytesPerSec = humanBytes(int64(bps)) + "/s"
		}
		d.Latency = seconds(v.mean("prometheus_remote_storage_sent_batch_duration_seconds", match...))
		outcomes := v.now.by("ferry_remote_requests_total", "outcome", match...)
		d.RequestsOK, d.RequestsRetried, d.RequestsRejected = outcomes["ok"], outcomes["retry"], outcomes["rejected"]
		d.Drops = destDrops(v.now, st.Name)
		for _, r := range d.Drops {
			d.TotalDropped += r.Count
		}
		out = append(out, d)
	}
	return out
}

func (h *handler) remote(w http.ResponseWriter, r *http.Request) {
	h.render(w, "remote", map[string]any{"Destinations": h.destinations(), "Window": h.meter.window})
}

// behind says how far a destination is behind the newest data. A
// destination that has delivered nothing yet is behind by the age span of
// what the log holds for it, which the cursor's own lag (measured from the
// last delivered record) cannot tell.
func behind(c wal.CursorStats, log wal.Stats) string {
	secs := c.LagSeconds
	if c.CommittedTime == 0 && c.LagRecords > 0 && log.OldestTime > 0 {
		secs = float64(log.NewestTime-log.OldestTime) / 1000
		return formatSeconds(secs) + " (nothing delivered yet)"
	}
	return formatSeconds(secs)
}

// protocolName says which Remote-Write version a message is.
func protocolName(m remote.Message) string {
	switch m {
	case remote.MessageV2:
		return "Remote-Write 2.0"
	case remote.MessageV1:
		return "Remote-Write 1.0"
	}
	return string(m)
}

// hidePassword hides the password of a URL's user info, which would
// otherwise be shown to anyone who can read the page.
func hidePassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable URL>"
	}
	return u.Redacted()
}
