package receiver

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
)

// Limits of the receiver in the status tests: small, so that every limit
// can be crossed with small requests.
var statusOpts = Options{
	MaxBodySize: 64 << 10, MaxDecodedSize: 1 << 20,
	Limits: remote.Limits{MaxSeries: 10, MaxLabels: 8, MaxSamples: 100},
}

func snappyOf(t testing.TB, b []byte) []byte {
	out, err := remote.Compress(nil, b, remote.EncodingSnappy)
	require.NoError(t, err)
	return out
}

// zstdOfZeros is a zstd frame of n zero bytes, made without holding them.
func zstdOfZeros(t testing.TB, n int64) []byte {
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedFastest))
	require.NoError(t, err)
	_, err = io.CopyN(zw, zeros{}, n)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// requestAt is a valid request whose samples are at ts, so that requests
// made at different ts differ.
func requestAt(ts int64) *remote.Request {
	return &remote.Request{Series: []remote.Series{
		{Labels: labels.FromStrings("__name__", "up", "job", "a"), Samples: []remote.Sample{{Value: 1, Timestamp: ts}}},
	}}
}

// statusCase is one request and the status it must get.
type statusCase struct {
	name string
	msg  remote.Message
	enc  string
	body []byte
	hdr  http.Header // added to the request
	code int
	why  string // in the reason, when set
}

func badRequestCases(t *testing.T) []statusCase {
	v1 := func(b pb) []byte { return snappyOf(t, b) }
	valid := remote.AppendV1(nil, requestAt(1000))
	manyLabels := []string{"__name__", "x"}
	for i := range 9 {
		manyLabels = append(manyLabels, "l"+string(rune('a'+i)), "v")
	}
	var manySeries pb
	for i := range 11 {
		manySeries = append(manySeries, rw1Series("__name__", "s", "i", string(rune('a'+i)))...)
	}
	series := pb(nil).msg(1, pb(nil).str(1, "__name__").str(2, "x"))
	for i := range 101 {
		series = series.msg(2, pb(nil).double(1, 1).varint(2, uint64(i+1)))
	}
	manySamples := pb(nil).msg(1, series)
	nested := append(bytes.Repeat([]byte{0x4b}, 20_000), bytes.Repeat([]byte{0x4c}, 20_000)...)
	histo := pb(nil).msg(3, pb(nil).varint(1, 1).varint(6, 1))
	return []statusCase{
		{"RW1 without Content-Type and Content-Encoding", "", "", snappyOf(t, remote.AppendV1(nil, requestAt(1))), nil, 204, ""},
		{"RW1 snappy", remote.MessageV1, "snappy", snappyOf(t, remote.AppendV1(nil, requestAt(2))), nil, 204, ""},
		{"RW2 zstd", remote.MessageV2, "zstd", zstdOf(t, remote.AppendV2(nil, requestAt(3), nil)), nil, 204, ""},

		{"unknown content encoding", remote.MessageV1, "br", []byte("x"), nil, 415, ""},
		{"gzip is not a remote-write encoding", remote.MessageV2, "gzip", []byte("x"), nil, 415, ""},

		{"body over max_body_size", remote.MessageV1, "snappy", make([]byte, 64<<10+1), nil, 413, ""},
		{"snappy block claiming 4 GiB", remote.MessageV2, "snappy", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, nil, 413, ""},
		{"snappy block claiming more than its bytes can hold", remote.MessageV1, "snappy", []byte{0x80, 0x80, 0x20, 0, 0}, nil, 400, ""},
		{"zstd bomb", remote.MessageV2, "zstd", zstdOfZeros(t, 16<<20), nil, 413, ""},
		{"corrupt snappy", remote.MessageV1, "snappy", []byte("definitely not snappy"), nil, 400, ""},
		{"corrupt zstd", remote.MessageV1, "zstd", []byte{0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff}, nil, 400, ""},

		{"truncated protobuf", remote.MessageV1, "snappy", snappyOf(t, valid[:len(valid)-3]), nil, 400, ""},
		{"deeply nested groups", remote.MessageV1, "snappy", snappyOf(t, nested), nil, 400, ""},
		{"unsorted labels", remote.MessageV1, "snappy", v1(rw1Series("z", "1", "a", "2")), nil, 400, ""},
		{"duplicate label names", remote.MessageV1, "snappy", v1(rw1Series("__name__", "x", "a", "1", "a", "2")), nil, 400, ""},
		{"empty label name", remote.MessageV1, "snappy", v1(rw1Series("", "x")), nil, 400, ""},
		{"empty label value", remote.MessageV1, "snappy", v1(rw1Series("__name__", "x", "a", "")), nil, 400, ""},
		{"series without labels", remote.MessageV1, "snappy", v1(rw1Series()), nil, 400, ""},
		{"invalid UTF-8 label value", remote.MessageV1, "snappy", v1(rw1Series("__name__", "x", "a", "\xff\xfe")), nil, 400, ""},
		{"invalid UTF-8 symbol", remote.MessageV2, "snappy", v1(rw2Request([]string{"", "__name__", "\xff"}, []uint64{1, 2}, rw2Sample())), nil, 400, ""},
		{"first symbol not empty", remote.MessageV2, "snappy", v1(rw2Request([]string{"x", "__name__", "up"}, []uint64{1, 2}, rw2Sample())), nil, 400, ""},
		{"symbol reference out of range", remote.MessageV2, "snappy", v1(rw2Request([]string{"", "__name__", "up"}, []uint64{1, 7}, rw2Sample())), nil, 400, ""},
		{"odd number of label references", remote.MessageV2, "snappy", v1(rw2Request([]string{"", "__name__", "up"}, []uint64{1, 2, 1}, rw2Sample())), nil, 400, ""},
		{"series with samples and histograms", remote.MessageV2, "snappy", v1(rw2Request([]string{"", "__name__", "up"}, []uint64{1, 2}, rw2Sample(), histo)), nil, 400, "both samples and histograms"},

		{"more labels than the limit", remote.MessageV1, "snappy", v1(rw1Series(sortedPairs(manyLabels)...)), nil, 413, ""},
		{"more series than the limit", remote.MessageV1, "snappy", v1(manySeries), nil, 413, ""},
		{"more samples than the limit", remote.MessageV1, "snappy", v1(manySamples), nil, 413, ""},

		{"tenant with a non-ASCII byte", remote.MessageV2, "snappy", snappyOf(t, remote.AppendV2(nil, requestAt(4), nil)),
			http.Header{"X-Scope-Orgid": {"t\u00e9"}}, 400, ""},
		{"tenant too long", remote.MessageV1, "snappy", snappyOf(t, remote.AppendV1(nil, requestAt(5))),
			http.Header{"X-Scope-Orgid": {strings.Repeat("t", 257)}}, 400, ""},
		{"two tenants", remote.MessageV1, "snappy", snappyOf(t, remote.AppendV1(nil, requestAt(6))),
			http.Header{"X-Scope-Orgid": {"a", "b"}}, 400, ""},
	}
}

// sortedPairs sorts name/value pairs by name.
func sortedPairs(kv []string) []string {
	var b labels.ScratchBuilder
	for i := 0; i+1 < len(kv); i += 2 {
		b.Add(kv[i], kv[i+1])
	}
	b.Sort()
	var out []string
	b.Labels().Range(func(l labels.Label) { out = append(out, l.Name, l.Value) })
	return out
}

func zstdOf(t testing.TB, b []byte) []byte {
	out, err := remote.Compress(nil, b, remote.EncodingZstd)
	require.NoError(t, err)
	return out
}

// TestEveryBadRequestGetsItsStatusAndNothingElseIsLost sends every kind of
// bad request the specification names, and some it does not, and checks
// the status, a human-readable reason, the RW2 *-Written headers, and that
// the log holds exactly the accepted requests.
func TestEveryBadRequestGetsItsStatusAndNothingElseIsLost(t *testing.T) {
	e := newRelayEnv(t, statusOpts)
	accepted := 0
	for _, c := range badRequestCases(t) {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/write", bytes.NewReader(c.body))
			require.NoError(t, err)
			if c.msg != "" {
				req.Header.Set("Content-Type", c.msg.ContentType())
				req.Header.Set(remote.HeaderVersion, c.msg.Version())
			}
			if c.enc != "" {
				req.Header.Set("Content-Encoding", c.enc)
			}
			for k, vs := range c.hdr {
				req.Header[k] = vs
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			reason, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, c.code, resp.StatusCode, "reason: %s", reason)
			t.Logf("%d %s", resp.StatusCode, bytes.TrimSpace(reason))
			if c.code/100 == 2 {
				accepted++
			} else {
				require.NotEmpty(t, strings.TrimSpace(string(reason)), "an error says why")
			}
			require.Contains(t, string(reason), c.why)
			if c.msg == remote.MessageV2 {
				_, ok := remote.ParseWrittenHeaders(resp.Header)
				require.True(t, ok, "RW2 responses always carry the *-Written headers")
			}
		})
	}
	require.Len(t, e.records(t), accepted, "the log holds the accepted requests and nothing else")
}

func TestOtherStatusCodes(t *testing.T) {
	e := newRelayEnv(t, Options{Accepted: []remote.Message{remote.MessageV1}})
	v2 := snappyOf(t, remote.AppendV2(nil, requestAt(1), nil))
	cases := []struct {
		name, method, ct string
		code             int
	}{
		{"GET", http.MethodGet, remote.ContentTypeV1, 405},
		{"PUT", http.MethodPut, remote.ContentTypeV1, 405},
		{"text is not remote write", http.MethodPost, "text/plain", 415},
		{"unknown proto message", http.MethodPost, "application/x-protobuf;proto=io.prometheus.write.v3.Request", 415},
		{"RW2 when only RW1 is accepted", http.MethodPost, remote.ContentTypeV2, 415},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, e.srv.URL+"/api/v1/write", bytes.NewReader(v2))
			require.NoError(t, err)
			req.Header.Set("Content-Type", c.ct)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, c.code, resp.StatusCode)
			if c.code == 405 {
				require.Equal(t, "POST", resp.Header.Get("Allow"))
			}
			if c.ct == remote.ContentTypeV2 {
				_, ok := remote.ParseWrittenHeaders(resp.Header)
				require.True(t, ok, "an RW2 request refused for its message still gets the *-Written headers")
			}
		})
	}
	require.Empty(t, e.records(t))
}
