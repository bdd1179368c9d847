package sender

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

// tenantRecorder is a remote-write endpoint that remembers, per tenant
// header value, the metric names it received.
type tenantRecorder struct {
	mu      sync.Mutex
	header  string
	names   map[string]map[string]bool
	samples int
	srv     *httptest.Server
}

func newTenantRecorder(t *testing.T, header string) *tenantRecorder {
	tr := &tenantRecorder{header: header, names: map[string]map[string]bool{}}
	tr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		raw, err := remote.Decompress(nil, body, remote.EncodingSnappy, 64<<20)
		require.NoError(t, err)
		req, err := remote.DecodeV1(raw, remote.Limits{})
		require.NoError(t, err)
		tenant := r.Header.Get(header)
		tr.mu.Lock()
		defer tr.mu.Unlock()
		if tr.names[tenant] == nil {
			tr.names[tenant] = map[string]bool{}
		}
		for _, s := range req.Series {
			tr.names[tenant][s.Labels.Get("__name__")] = true
			tr.samples += len(s.Samples)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(tr.srv.Close)
	return tr
}

func (tr *tenantRecorder) total() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.samples
}

func appendBatch(t *testing.T, l *wal.Log, tenant string, series ...string) {
	req := &remote.Request{}
	for _, s := range series {
		req.Series = append(req.Series, remote.Series{Labels: labels.FromStrings("__name__", s, "job", "edge"), Samples: []remote.Sample{{Value: 1, Timestamp: time.Now().UnixMilli()}}})
	}
	data := record.AppendBatch(nil, req, &remote.SymbolTable{})
	if tenant != "" {
		data = record.AppendBatchTenant(data, tenant)
	}
	_, err := l.Append(wal.Entry{Kind: record.KindBatch, Count: uint32(len(series)), Data: data})
	require.NoError(t, err)
}

func TestReceivedTenantsAreSentInTheirOwnRequests(t *testing.T) {
	tr := newTenantRecorder(t, "X-Scope-OrgID")
	l := openLog(t, t.TempDir())
	defer l.Close()
	s := startSender(t, l, rwConfig(t, tr.srv.URL, nil), Options{})
	appendBatch(t, l, "team-a", "a1", "a2")
	appendBatch(t, l, "team-b", "b1")
	appendBatch(t, l, "", "n1")
	appendBatch(t, l, "team-a", "a3")
	require.Eventually(t, func() bool { return tr.total() >= 5 }, 10*time.Second, 10*time.Millisecond)
	s.Stop(time.Second)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	require.Equal(t, map[string]map[string]bool{
		"team-a": {"a1": true, "a2": true, "a3": true},
		"team-b": {"b1": true},
		"":       {"n1": true}, // received without a tenant: sent without one
	}, tr.names)
}

// TestTenantFromALabel splits one scrape across tenants by a label, in the
// header the destination names, and never mixes two tenants in a request.
func TestTenantFromALabel(t *testing.T) {
	tr := newTenantRecorder(t, "X-Tenant")
	l := openLog(t, t.TempDir())
	defer l.Close()
	s := startSender(t, l, rwConfig(t, tr.srv.URL, nil), Options{TenantHeader: "X-Tenant", TenantLabel: "team"})
	enc := record.NewStreamEncoder(1)
	enc.Begin(time.Now().UnixMilli(), l.ActiveSegment())
	for i, team := range []string{"red", "blue", "red", "", "blue"} {
		kv := []string{"__name__", fmt.Sprint("m", i), "job", "app"}
		if team != "" {
			kv = append(kv, "team", team)
		}
		enc.Add(enc.Define(labels.FromStrings(kv...), "", remote.Metadata{}), float64(i))
	}
	data, n := enc.Finish()
	_, err := l.Append(wal.Entry{Kind: record.KindStream, Count: n, Data: data, Segment: enc.Segment()})
	require.NoError(t, err)
	enc.Done(true)
	require.Eventually(t, func() bool { return tr.total() >= 5 }, 10*time.Second, 10*time.Millisecond)
	s.Stop(time.Second)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	require.Equal(t, map[string]map[string]bool{
		"red":  {"m0": true, "m2": true},
		"blue": {"m1": true, "m4": true},
		"":     {"m3": true},
	}, tr.names)
}
