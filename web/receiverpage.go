package web

import (
	"net/http"

	"github.com/ferrymetrics/ferry/receiver"
	"github.com/ferrymetrics/ferry/remote"
)

// receiverView is the receiver part of the received page: how much arrives
// and what is refused, in both modes, and the table of series in inspect
// mode.
type receiverView struct {
	Enabled bool
	// Mode is "relay" or "inspect".
	Mode string
	// RequestRate and SampleRate are accepted requests and samples per
	// second over the meter's window; RejectRate is refused requests.
	RequestRate, SampleRate, RejectRate string
	// Latency is the mean time to handle a request over the window.
	Latency string
	// Accepted is requests accepted since start by message.
	Accepted []reasonCount
	// Rejected is requests refused since start by reason.
	Rejected []reasonCount
	// Q and Snapshot are the inspect-mode table and its filter.
	Q        string
	Snapshot *receiver.Snapshot
}

// rejectMeanings explains the receiver's reject reasons.
var rejectMeanings = map[string]string{
	"method":           "Not a POST.",
	"overloaded":       "Too many requests at once (answered 429 with Retry-After).",
	"content_type":     "Unsupported or not accepted protobuf message (415).",
	"content_encoding": "Unsupported compression (415).",
	"read":             "The body could not be read.",
	"too_large":        "Body over max_body_size or max_decoded_size (413).",
	"storage":          "The log could not take the data (5xx; the client retries).",
	"invalid":          "Malformed or invalid data (400).",
}

func (h *handler) receiverView(q string) receiverView {
	v := receiverView{Q: q}
	if h.opts.Sources.Receiver == nil || h.opts.Sources.Receiver() == nil {
		return v
	}
	v.Enabled, v.Mode = true, "relay"
	if h.opts.Sources.Inspect != nil {
		if t := h.opts.Sources.Inspect(); t != nil {
			v.Mode = "inspect"
			snap := t.Snapshot(q, 2000)
			v.Snapshot = &snap
		}
	}
	r := h.meter.view()
	v.RequestRate = perSecond(r.rate("ferry_receiver_requests_total"))
	v.SampleRate = perSecond(r.rate("ferry_receiver_samples_total"))
	v.RejectRate = perSecond(r.rate("ferry_receiver_rejected_requests_total"))
	v.Latency = seconds(r.mean("ferry_receiver_request_duration_seconds"))
	accepted := r.now.by("ferry_receiver_requests_total", "message")
	for _, m := range sortedKeysF(accepted) {
		v.Accepted = append(v.Accepted, reasonCount{Reason: m, Count: accepted[m], Meaning: protocolName(remote.Message(m))})
	}
	rejected := r.now.by("ferry_receiver_rejected_requests_total", "reason")
	for _, reason := range sortedKeysF(rejected) {
		v.Rejected = append(v.Rejected, reasonCount{Reason: reason, Count: rejected[reason], Meaning: rejectMeanings[reason]})
	}
	return v
}

func (h *handler) received(w http.ResponseWriter, r *http.Request) {
	h.render(w, "received", h.receiverView(r.URL.Query().Get("q")))
}
