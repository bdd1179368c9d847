package remote

import (
	"errors"
	"net/http"
	"testing"
)

func TestParseContentTypeFollowsRW2(t *testing.T) {
	tests := []struct {
		ct   string
		want Message // "" means refused with ErrUnsupported
	}{
		{"", MessageV1},
		{"application/x-protobuf", MessageV1},
		{ContentTypeV1, MessageV1},
		{ContentTypeV2, MessageV2},
		{"application/x-protobuf;proto=prometheus.WriteRequest", MessageV1},
		{"Application/X-Protobuf; proto=io.prometheus.write.v2.Request", MessageV2},
		{`application/x-protobuf; proto="io.prometheus.write.v2.Request"`, MessageV2},
		{"application/x-protobuf; charset=utf-8", MessageV1},
		{"application/x-protobuf;proto=io.prometheus.write.v3.Request", ""},
		{"application/x-protobuf;proto=", ""},
		{"application/json", ""},
		{"text/plain; proto=io.prometheus.write.v2.Request", ""},
		{"application/x-protobuf;;", ""},
	}
	for _, tt := range tests {
		got, err := ParseContentType(tt.ct)
		switch {
		case tt.want == "" && !errors.Is(err, ErrUnsupported):
			t.Errorf("ParseContentType(%q) = %q, %v; want ErrUnsupported", tt.ct, got, err)
		case tt.want != "" && (err != nil || got != tt.want):
			t.Errorf("ParseContentType(%q) = %q, %v; want %q", tt.ct, got, err, tt.want)
		}
	}
}

func TestMessageHeadersRoundTrip(t *testing.T) {
	for _, m := range []Message{MessageV1, MessageV2} {
		if got, err := ParseContentType(m.ContentType()); err != nil || got != m {
			t.Errorf("%s: ParseContentType(%q) = %q, %v", m, m.ContentType(), got, err)
		}
	}
	if MessageV1.Version() != "0.1.0" || MessageV2.Version() != "2.0.0" {
		t.Errorf("versions: %s, %s", MessageV1.Version(), MessageV2.Version())
	}
}

func TestParseContentEncoding(t *testing.T) {
	tests := []struct {
		ce   string
		want Encoding // "" means refused with ErrUnsupported
	}{
		{"", EncodingSnappy},
		{"snappy", EncodingSnappy},
		{" Snappy ", EncodingSnappy},
		{"zstd", EncodingZstd},
		{"gzip", ""},
		{"snappy, gzip", ""},
		{"identity", ""},
	}
	for _, tt := range tests {
		got, err := ParseContentEncoding(tt.ce)
		switch {
		case tt.want == "" && !errors.Is(err, ErrUnsupported):
			t.Errorf("ParseContentEncoding(%q) = %q, %v; want ErrUnsupported", tt.ce, got, err)
		case tt.want != "" && (err != nil || got != tt.want):
			t.Errorf("ParseContentEncoding(%q) = %q, %v; want %q", tt.ce, got, err, tt.want)
		}
	}
}

func TestWrittenHeaders(t *testing.T) {
	h := http.Header{}
	SetWrittenHeaders(h, Counts{Samples: 2000, Histograms: 3, Exemplars: 0})
	if got := h.Get("X-Prometheus-Remote-Write-Samples-Written"); got != "2000" {
		t.Errorf("samples header = %q", got)
	}
	if got, ok := ParseWrittenHeaders(h); !ok || got != (Counts{Samples: 2000, Histograms: 3}) {
		t.Errorf("ParseWrittenHeaders after Set = %+v, %v", got, ok)
	}

	// An RW1-only receiver answers 2xx without the headers: the sender
	// must be able to tell.
	if _, ok := ParseWrittenHeaders(http.Header{"Content-Length": {"0"}}); ok {
		t.Error("absent headers reported as present")
	}

	// Any one header shows an RW2 receiver; missing or bad ones count 0.
	h = http.Header{}
	h.Set("x-prometheus-remote-write-histograms-written", "7")
	h.Set(HeaderSamplesWritten, "lots")
	h.Set(HeaderExemplarsWritten, "")
	if got, ok := ParseWrittenHeaders(h); !ok || got != (Counts{Histograms: 7}) {
		t.Errorf("ParseWrittenHeaders = %+v, %v; want {Histograms:7}, true", got, ok)
	}
}
