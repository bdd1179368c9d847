package remote

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// HTTP header names and values of the remote-write protocol.
const (
	// HeaderVersion carries the protocol version of a request.
	HeaderVersion = "X-Prometheus-Remote-Write-Version"
	// VersionV1 and VersionV2 are the values of HeaderVersion.
	VersionV1 = "0.1.0"
	VersionV2 = "2.0.0"

	// ContentTypeV1 is the Content-Type of an RW1 body. RW1 receivers
	// predate the proto parameter, so senders leave it out.
	ContentTypeV1 = "application/x-protobuf"
	// ContentTypeV2 is the Content-Type of an RW2 body.
	ContentTypeV2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request"

	// The response headers in which an RW2 receiver reports how much of
	// the request it wrote, successful or not.
	HeaderSamplesWritten    = "X-Prometheus-Remote-Write-Samples-Written"
	HeaderHistogramsWritten = "X-Prometheus-Remote-Write-Histograms-Written"
	HeaderExemplarsWritten  = "X-Prometheus-Remote-Write-Exemplars-Written"
)

// ContentType returns the Content-Type of a body carrying m.
func (m Message) ContentType() string {
	if m == MessageV2 {
		return ContentTypeV2
	}
	return ContentTypeV1
}

// Version returns the value of HeaderVersion for a request carrying m.
func (m Message) Version() string {
	if m == MessageV2 {
		return VersionV2
	}
	return VersionV1
}

const protobufMediaType = "application/x-protobuf"

// ParseContentType returns the message a request with Content-Type ct
// carries, as RW2 specifies: an empty value or application/x-protobuf
// without a proto parameter is RW1; a proto parameter names the message.
// Another media type or an unknown message is refused with an error
// wrapping ErrUnsupported (HTTP 415).
func ParseContentType(ct string) (Message, error) {
	if strings.TrimSpace(ct) == "" {
		return MessageV1, nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", unsupportedf("content type %s: %v", quote(ct), err)
	}
	if mt != protobufMediaType {
		return "", unsupportedf("content type %s is not %s", quote(ct), protobufMediaType)
	}
	proto, ok := params["proto"]
	switch {
	case !ok || Message(proto) == MessageV1:
		return MessageV1, nil
	case Message(proto) == MessageV2:
		return MessageV2, nil
	}
	return "", unsupportedf("content type %s: unknown proto %s (want %s or %s)", quote(ct), quote(proto), MessageV1, MessageV2)
}

// SetWrittenHeaders sets the three *-Written response headers to c.
func SetWrittenHeaders(h http.Header, c Counts) {
	h.Set(HeaderSamplesWritten, strconv.Itoa(c.Samples))
	h.Set(HeaderHistogramsWritten, strconv.Itoa(c.Histograms))
	h.Set(HeaderExemplarsWritten, strconv.Itoa(c.Exemplars))
}

// ParseWrittenHeaders reads the *-Written response headers. It returns
// false if none is present: the receiver does not speak RW2, and a 2xx
// from it to an RW2 request means it did not understand the body. An
// absent, empty or malformed header among present ones counts as 0.
func ParseWrittenHeaders(h http.Header) (Counts, bool) {
	var c Counts
	found := false
	for _, x := range []struct {
		name string
		n    *int
	}{
		{HeaderSamplesWritten, &c.Samples},
		{HeaderHistogramsWritten, &c.Histograms},
		{HeaderExemplarsWritten, &c.Exemplars},
	} {
		vs, ok := h[x.name]
		if !ok || len(vs) == 0 {
			continue
		}
		found = true
		if v, err := strconv.Atoi(strings.TrimSpace(vs[0])); err == nil && v > 0 {
			*x.n = v
		}
	}
	return c, found
}
