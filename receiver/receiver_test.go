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
	return postHeaders(t, url, msg, enc, b, nil)
}

// postHeaders sends a remote-write body with the protocol's headers and
// extra ones, and returns the response with its body read.
func postHeaders(t *testing.T, url string, msg remote.Message, enc string, b []byte, h http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	require.NoError(t, err)
	for k, vs := range h {
		req.Header[k] = vs
	}
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
