package agent

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http/httptest"
	"path/filepath"
	"testing"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	promremote "github.com/prometheus/prometheus/storage/remote"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	tsdbrecord "github.com/prometheus/prometheus/tsdb/record"
	"github.com/prometheus/prometheus/tsdb/wlog"
	"github.com/stretchr/testify/require"
)

// fullReferenceStore is Prometheus' write handler and TSDB with everything
// a relay must carry switched on: exemplar storage, start timestamps
// ingested as zero samples, and metadata written to the TSDB's WAL.
type fullReferenceStore struct {
	dir string
	db  *tsdb.DB
	srv *httptest.Server
}

func newFullReferenceStore(t *testing.T) *fullReferenceStore {
	dir := t.TempDir()
	opts := tsdb.DefaultOptions()
	opts.EnableExemplarStorage = true
	opts.MaxExemplars = 10_000
	db, err := tsdb.Open(dir, quiet(), nil, opts, nil)
	require.NoError(t, err)
	h := promremote.NewWriteHandler(quiet(), prometheus.NewRegistry(), db,
		remoteapi.MessageTypes{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType}, true, false, true)
	rs := &fullReferenceStore{dir: dir, db: db, srv: httptest.NewServer(h)}
	t.Cleanup(func() { rs.close() })
	return rs
}

// close stops the handler and closes the TSDB, flushing its WAL.
func (rs *fullReferenceStore) close() {
	rs.srv.Close()
	rs.db.Close()
}

// storedPoint is one float sample or histogram read back from the TSDB.
type storedPoint struct {
	T  int64
	V  uint64 // float bits, so that NaNs compare
	H  *histogram.Histogram
	FH *histogram.FloatHistogram
}

// points returns every series of the TSDB with its points.
func (rs *fullReferenceStore) points(t *testing.T) map[string][]storedPoint {
	q, err := rs.db.Querier(math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	defer q.Close()
	set := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	out := map[string][]storedPoint{}
	for set.Next() {
		s := set.At()
		it := s.Iterator(nil)
		var pts []storedPoint
		for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
			switch vt {
			case chunkenc.ValFloat:
				ts, v := it.At()
				pts = append(pts, storedPoint{T: ts, V: math.Float64bits(v)})
			case chunkenc.ValHistogram:
				ts, h := it.AtHistogram(nil)
				pts = append(pts, storedPoint{T: ts, H: h})
			case chunkenc.ValFloatHistogram:
				ts, fh := it.AtFloatHistogram(nil)
				pts = append(pts, storedPoint{T: ts, FH: fh})
			}
		}
		require.NoError(t, it.Err())
		out[s.Labels().String()] = pts
	}
	require.NoError(t, set.Err())
	return out
}

// exemplars returns the exemplars of every series.
func (rs *fullReferenceStore) exemplars(t *testing.T) map[string][]exemplar.Exemplar {
	q, err := rs.db.ExemplarQuerier(context.Background())
	require.NoError(t, err)
	res, err := q.Select(math.MinInt64, math.MaxInt64, []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")})
	require.NoError(t, err)
	out := map[string][]exemplar.Exemplar{}
	for _, r := range res {
		out[r.SeriesLabels.String()] = r.Exemplars
	}
	return out
}

// metadata reads the TSDB's WAL, where Prometheus keeps the metadata it
// received, and returns the latest metadata of every series. Call it after
// close.
func (rs *fullReferenceStore) metadata(t *testing.T) map[string]metadata.Metadata {
	sr, err := wlog.NewSegmentsReader(filepath.Join(rs.dir, "wal"))
	require.NoError(t, err)
	defer sr.Close()
	r := wlog.NewReader(sr)
	dec := tsdbrecord.NewDecoder(labels.NewSymbolTable(), quiet())
	series := map[uint64]string{}
	out := map[string]metadata.Metadata{}
	for r.Next() {
		rec := r.Record()
		switch dec.Type(rec) {
		case tsdbrecord.Series:
			ss, err := dec.Series(rec, nil)
			require.NoError(t, err)
			for _, s := range ss {
				series[uint64(s.Ref)] = s.Labels.String()
			}
		case tsdbrecord.Metadata:
			ms, err := dec.Metadata(rec, nil)
			require.NoError(t, err)
			for _, m := range ms {
				out[series[uint64(m.Ref)]] = metadata.Metadata{Type: tsdbrecord.ToMetricType(m.Type), Help: m.Help, Unit: m.Unit}
			}
		}
	}
	if err := r.Err(); err != nil && !errors.Is(err, io.EOF) {
		require.NoError(t, err)
	}
	return out
}
