package agent

import (
	"context"
	"math"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage/remote"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/require"
)

// referenceStore is Prometheus' own remote-write handler in front of a real
// Prometheus TSDB, which rejects out-of-order samples.
type referenceStore struct {
	db  *tsdb.DB
	srv *httptest.Server
}

func newReferenceStore(t *testing.T) *referenceStore {
	opts := tsdb.DefaultOptions()
	db, err := tsdb.Open(t.TempDir(), quiet(), nil, opts, nil)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	h := remote.NewWriteHandler(quiet(), prometheus.NewRegistry(), db,
		remoteapi.MessageTypes{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType}, false, false, false)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &referenceStore{db: db, srv: srv}
}

type point struct {
	t int64
	v float64
}

// query returns every series matching name with its samples.
func (rs *referenceStore) query(t *testing.T, name string) map[string][]point {
	q, err := rs.db.Querier(math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	defer q.Close()
	set := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", name))
	out := map[string][]point{}
	for set.Next() {
		s := set.At()
		it := s.Iterator(nil)
		var pts []point
		for it.Next() == chunkenc.ValFloat {
			ts, v := it.At()
			pts = append(pts, point{ts, v})
		}
		require.NoError(t, it.Err())
		out[s.Labels().String()] = pts
	}
	require.NoError(t, set.Err())
	return out
}

// TestInteropWithPrometheusWriteHandlerAndTSDB sends ferry's data to
// Prometheus' own receiver and reads it back from Prometheus' TSDB: what the
// target exposed is what the TSDB holds.
func TestInteropWithPrometheusWriteHandlerAndTSDB(t *testing.T) {
	for _, msg := range []string{"prometheus.WriteRequest", "io.prometheus.write.v2.Request"} {
		t.Run(msg, func(t *testing.T) {
			target := newCountingTarget(t, math.MaxInt)
			ref := newReferenceStore(t)
			dir := t.TempDir()
			stop := startAgent(t, writeConfig(t, dir, testConfig(target.addr(), ref.srv.URL+"/api/v1/write", msg)), filepath.Join(dir, "data"))
			require.Eventually(t, func() bool { return target.scrapes() >= 6 }, 20*time.Second, 10*time.Millisecond)
			stop()
			served := target.scrapes()

			lbl := func(name string, extra ...string) string {
				return labels.FromStrings(append([]string{"__name__", name, "instance", target.addr(), "job", "app", "site", "test"}, extra...)...).String()
			}
			reqs := ref.query(t, "requests_total")
			require.Len(t, reqs, 2)
			a := reqs[lbl("requests_total", "path", "/a")]
			b := reqs[lbl("requests_total", "path", "/b")]
			temp := ref.query(t, "temperature_celsius")[lbl("temperature_celsius")]
			require.GreaterOrEqual(t, len(a), served-1)
			require.Len(t, b, len(a))
			require.Len(t, temp, len(a))
			for i := range a {
				n := float64(i + 1)
				require.Equal(t, n, a[i].v, "scrape %d", i+1)
				require.Equal(t, 2*n, b[i].v)
				require.Equal(t, 20+n/10, temp[i].v)
				require.Equal(t, a[i].t, b[i].t, "one scrape, one timestamp")
				require.Equal(t, a[i].t, temp[i].t)
			}
			up := ref.query(t, "up")[lbl("up")]
			require.Len(t, up, len(a))
			for _, p := range up {
				require.Equal(t, 1.0, p.v)
			}
			require.Len(t, ref.query(t, "scrape_series_added"), 1, "report series stored")
		})
	}
}
