package receiver

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testRequest() *remote.Request {
	return &remote.Request{
		Series: []remote.Series{
			{Labels: labels.FromStrings("__name__", "up", "job", "a"), Samples: []remote.Sample{{Value: 1, Timestamp: 1000}, {Value: 0, Timestamp: 2000}}},
			{Labels: labels.FromStrings("__name__", "http_requests_total", "job", "a"), Samples: []remote.Sample{{Value: 5, Timestamp: 1000}}},
		},
		FamilyMetadata: []remote.FamilyMetadata{{MetricFamilyName: "http_requests", Metadata: remote.Metadata{Type: remote.MetricTypeCounter, Help: "Requests."}}},
	}
}

func body(t *testing.T, msg remote.Message, enc remote.Encoding, req *remote.Request) []byte {
	var pb []byte
	if msg == remote.MessageV2 {
		pb = remote.AppendV2(nil, req, &remote.SymbolTable{})
	} else {
		pb = remote.AppendV1(nil, req)
	}
	out, err := remote.Compress(nil, pb, enc)
	require.NoError(t, err)
	return out
}

func post(t *testing.T, url string, msg remote.Message, enc string, b []byte) *http.Response {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", msg.ContentType())
	req.Header.Set("Content-Encoding", enc)
	req.Header.Set(remote.HeaderVersion, msg.Version())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestRelayedRequestIsInTheLogBeforeTheResponse(t *testing.T) {
	for _, msg := range []remote.Message{remote.MessageV1, remote.MessageV2} {
		t.Run(string(msg), func(t *testing.T) {
			l, err := wal.Open(t.TempDir(), wal.Options{Logger: quiet()})
			require.NoError(t, err)
			defer l.Close()
			cur, err := l.OpenCursor("dest")
			require.NoError(t, err)
			rcv, err := New(Options{Mode: ModeRelay, Log: l, Logger: quiet()})
			require.NoError(t, err)
			srv := httptest.NewServer(rcv)
			defer srv.Close()

			resp := post(t, srv.URL, msg, "snappy", body(t, msg, remote.EncodingSnappy, testRequest()))
			require.Equal(t, http.StatusNoContent, resp.StatusCode)
			if msg == remote.MessageV2 {
				c, ok := remote.ParseWrittenHeaders(resp.Header)
				require.True(t, ok)
				require.Equal(t, remote.Counts{Samples: 3}, c)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			rec, err := cur.Next(ctx)
			require.NoError(t, err)
			require.Equal(t, record.KindBatch, rec.Kind)
			require.Equal(t, uint32(3), rec.Count)
			var b record.Batch
			require.NoError(t, record.NewDecoder(nil).Decode(rec, &b))
			require.Len(t, b.Series, 2)
			if msg == remote.MessageV1 {
				require.Equal(t, remote.MetricTypeCounter, b.Series[1].Metadata.Type, "RW1 family metadata survives as per-series metadata")
			}
		})
	}
}

func TestStatusCodes(t *testing.T) {
	l, err := wal.Open(t.TempDir(), wal.Options{Logger: quiet()})
	require.NoError(t, err)
	defer l.Close()
	rcv, err := New(Options{Mode: ModeRelay, Log: l, Logger: quiet(), MaxBodySize: 4096, MaxDecodedSize: 1 << 20, Accepted: []remote.Message{remote.MessageV1, remote.MessageV2}})
	require.NoError(t, err)
	srv := httptest.NewServer(rcv)
	defer srv.Close()

	big := make([]byte, 8192)
	bomb := []byte{0xff, 0xff, 0xff, 0xff, 0x0f} // snappy header claiming ~4 GiB

	cases := []struct {
		name string
		msg  remote.Message
		enc  string
		body []byte
		code int
	}{
		{"ok v1", remote.MessageV1, "snappy", body(t, remote.MessageV1, remote.EncodingSnappy, testRequest()), 204},
		{"ok v2 zstd", remote.MessageV2, "zstd", body(t, remote.MessageV2, remote.EncodingZstd, testRequest()), 204},
		{"unknown encoding", remote.MessageV1, "br", []byte("x"), 415},
		{"not snappy", remote.MessageV1, "snappy", []byte("definitely not snappy"), 400},
		{"unsorted labels", remote.MessageV1, "snappy", unsortedV1(t), 400},
		{"body too large", remote.MessageV1, "snappy", big, 413},
		{"decompression bomb", remote.MessageV2, "snappy", bomb, 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := post(t, srv.URL, c.msg, c.enc, c.body)
			require.Equal(t, c.code, resp.StatusCode)
			if c.msg == remote.MessageV2 {
				_, ok := remote.ParseWrittenHeaders(resp.Header)
				require.True(t, ok, "RW2 responses always carry the written headers")
			}
		})
	}
	t.Run("unknown proto", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader([]byte("x")))
		req.Header.Set("Content-Type", "application/x-protobuf;proto=io.prometheus.write.v3.Request")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 415, resp.StatusCode)
	})
	t.Run("GET", func(t *testing.T) {
		resp, err := http.Get(srv.URL)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 405, resp.StatusCode)
	})
}

func TestInspectModeKeepsLatestValuePerSeries(t *testing.T) {
	rcv, err := New(Options{Mode: ModeInspect, Logger: quiet()})
	require.NoError(t, err)
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	resp := post(t, srv.URL, remote.MessageV1, "snappy", body(t, remote.MessageV1, remote.EncodingSnappy, testRequest()))
	require.Equal(t, 204, resp.StatusCode)
	snap := rcv.Inspect.Snapshot("", 0)
	require.Equal(t, 2, snap.Total)
	require.Equal(t, `{__name__="http_requests_total", job="a"}`, snap.Rows[0].Labels.String())
	require.Equal(t, 0.0, snap.Rows[1].Value, "latest sample of up")
	require.Equal(t, int64(2000), snap.Rows[1].Timestamp)
	require.Equal(t, 2, snap.Rows[1].Samples)
	require.Len(t, rcv.Inspect.Snapshot("http", 0).Rows, 1)
}

// unsortedV1 hand-encodes an RW1 request whose labels are out of order,
// which no well-behaved encoder produces.
func unsortedV1(t *testing.T) []byte {
	label := func(n, v string) []byte {
		var b []byte
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, n)
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		return protowire.AppendString(b, v)
	}
	var ts []byte
	ts = protowire.AppendTag(ts, 1, protowire.BytesType)
	ts = protowire.AppendBytes(ts, label("z", "1"))
	ts = protowire.AppendTag(ts, 1, protowire.BytesType)
	ts = protowire.AppendBytes(ts, label("a", "2"))
	var wr []byte
	wr = protowire.AppendTag(wr, 1, protowire.BytesType)
	wr = protowire.AppendBytes(wr, ts)
	out, err := remote.Compress(nil, wr, remote.EncodingSnappy)
	require.NoError(t, err)
	return out
}
