package receiver

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/remote"
)

// PushPathPrefix starts the paths of the push endpoint, which has the
// Pushgateway's form: /metrics/job/<job>{/<label>/<value>}, where a label
// name ending in @base64 has a base64url-encoded value (for values with a
// slash, or empty ones).
const PushPathPrefix = "/metrics/job"

// isPushPath reports whether a request path is the push endpoint's.
func isPushPath(p string) bool {
	return strings.HasPrefix(p, PushPathPrefix+"/") || strings.HasPrefix(p, PushPathPrefix+"@base64/")
}

// defaultPushContentType is assumed for a push in another format than
// OpenMetrics or protobuf, as the Pushgateway assumes it: `curl
// --data-binary` sends text as application/x-www-form-urlencoded.
const defaultPushContentType = "text/plain; version=0.0.4"

// pushContentType returns the content type to parse a push with.
func pushContentType(ct string) string {
	switch mt, _, _ := mime.ParseMediaType(ct); mt {
	case "text/plain", "application/openmetrics-text", "application/vnd.google.protobuf":
		return ct
	}
	return defaultPushContentType
}

// servePush takes an exposition from a batch job: its samples without a
// timestamp get the time of receipt, its series the labels of the path, and
// it is stored like a remote-write request. It answers 200, as the
// Pushgateway does, which is what push clients expect.
func (r *Receiver) servePush(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost && req.Method != http.MethodPut {
		w.Header().Set("Allow", "POST, PUT")
		r.reject(w, "", http.StatusMethodNotAllowed, "method", fmt.Errorf("method %s not allowed: push with POST or PUT", req.Method))
		return
	}
	tenant, release, ok := r.admit(w, req, "")
	if !ok {
		return
	}
	defer release()
	grouping, err := pushLabels(req.URL.EscapedPath())
	if err != nil {
		r.reject(w, "", http.StatusBadRequest, "invalid", err)
		return
	}
	ct := pushContentType(req.Header.Get("Content-Type"))
	b := r.getBuffers()
	defer r.bufs.Put(b)
	if !r.readBody(w, req, "", b) {
		return
	}
	body, err := r.decodePushBody(req.Header.Get("Content-Encoding"), b)
	if err != nil {
		code, reason := decodeStatus(err)
		r.reject(w, "", code, reason, err)
		return
	}
	rw, err := ParseExposition(body, ct, ExpositionOptions{
		Timestamp: r.opts.Now().UnixMilli(), Labels: grouping, Limits: r.opts.Limits,
	})
	if err != nil {
		code, reason := decodeStatus(err)
		r.reject(w, "", code, reason, err)
		return
	}
	counts := rw.Count()
	b.enc = record.AppendBatch(b.enc[:0], rw, &b.st)
	// What is stored must decode when it is sent on. An exposition parser
	// accepts things remote write does not (its own fuzz test found some),
	// so the record is decoded once here as the sender will decode it.
	if _, err := remote.DecodeV2(b.enc, remote.NoLimits); err != nil {
		r.reject(w, "", http.StatusBadRequest, "invalid", fmt.Errorf("pushed data cannot be forwarded: %w", err))
		return
	}
	b.enc = record.AppendBatchTenant(b.enc, tenant)
	if _, _, err := r.store(rw, b.enc, counts); err != nil {
		r.logger.Error("Could not store pushed data; the client may retry", "err", err)
		r.reject(w, "", http.StatusServiceUnavailable, "storage", err)
		return
	}
	r.m.requests.WithLabelValues("push").Inc()
	r.m.samples.Add(float64(counts.Samples))
	r.m.histograms.Add(float64(counts.Histograms))
	r.m.exemplars.Add(float64(counts.Exemplars))
	w.WriteHeader(http.StatusOK)
}

// decodePushBody returns the body in b.body decompressed: pushes are plain
// or gzip, and a gzip body may not expand beyond MaxDecodedSize.
func (r *Receiver) decodePushBody(encoding string, b *buffers) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		return b.body, nil
	case "gzip":
	default:
		return nil, fmt.Errorf("%w: content encoding %q (want gzip or none)", remote.ErrUnsupported, encoding)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b.body))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %v", remote.ErrInvalid, err)
	}
	b.raw, err = readLimited(b.raw, zr, int64(r.opts.MaxDecodedSize), 0)
	switch {
	case errors.Is(err, errOverLimit):
		return nil, fmt.Errorf("%w: gzip body decodes to more than %d bytes", remote.ErrTooLarge, r.opts.MaxDecodedSize)
	case err != nil:
		return nil, fmt.Errorf("%w: gzip: %v", remote.ErrInvalid, err)
	}
	return b.raw, nil
}

// pushLabels reads the grouping labels from an escaped push path.
func pushLabels(escaped string) (labels.Labels, error) {
	parts := strings.Split(strings.TrimPrefix(escaped, "/metrics/"), "/")
	if len(parts)%2 != 0 {
		return labels.EmptyLabels(), fmt.Errorf("push path %q: labels come in name/value pairs", escaped)
	}
	b := labels.NewScratchBuilder(len(parts) / 2)
	for i := 0; i < len(parts); i += 2 {
		// Components are query-escaped, as the Pushgateway's clients
		// write them ("+" for a space).
		name, err := url.QueryUnescape(parts[i])
		if err != nil {
			return labels.EmptyLabels(), fmt.Errorf("push path %q: %w", escaped, err)
		}
		value, err := url.QueryUnescape(parts[i+1])
		if err != nil {
			return labels.EmptyLabels(), fmt.Errorf("push path %q: %w", escaped, err)
		}
		if n, ok := strings.CutSuffix(name, "@base64"); ok {
			name = n
			if value, err = decodeBase64Segment(value); err != nil {
				return labels.EmptyLabels(), fmt.Errorf("push path %q: label %s: %w", escaped, name, err)
			}
		}
		if name == "" || strings.HasPrefix(name, "__") || !utf8.ValidString(name) || !utf8.ValidString(value) {
			return labels.EmptyLabels(), fmt.Errorf("push path %q: %q is not a valid label name with a UTF-8 value", escaped, name)
		}
		b.Add(name, value)
	}
	b.Sort()
	ls := b.Labels()
	if dup, ok := ls.HasDuplicateLabelNames(); ok {
		return labels.EmptyLabels(), fmt.Errorf("push path %q: label %s given twice", escaped, dup)
	}
	if ls.Get("job") == "" {
		return labels.EmptyLabels(), errors.New("push path: the job must not be empty")
	}
	return ls, nil
}

// decodeBase64Segment decodes a base64url value, padded or not; "=" is the
// empty value, as in the Pushgateway.
func decodeBase64Segment(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return "", fmt.Errorf("bad base64url value: %w", err)
	}
	return string(b), nil
}
