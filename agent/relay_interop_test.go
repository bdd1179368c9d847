package agent

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	config_util "github.com/prometheus/common/config"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/metadata"
	promremote "github.com/prometheus/prometheus/storage/remote"
	"github.com/prometheus/prometheus/util/compression"
	"github.com/stretchr/testify/require"
)

// TestRelayFromPrometheusClientToPrometheusTSDBKeepsEverything puts ferry
// between Prometheus' own remote-write client and Prometheus' own write
// handler and TSDB, for every pair of protocols, and reads back what the
// TSDB stored: float samples (a stale marker included), integer, float and
// custom-bucket native histograms, exemplars, metadata and start
// timestamps are what the client sent, except what a protocol on the way
// cannot carry (start timestamps over RW1) or the reference receiver
// ignores (metadata over RW1).
func TestRelayFromPrometheusClientToPrometheusTSDBKeepsEverything(t *testing.T) {
	msgs := []remoteapi.WriteMessageType{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType}
	for _, up := range msgs {
		for _, down := range msgs {
			t.Run(fmt.Sprintf("%s to %s", up, down), func(t *testing.T) {
				testRelayKeepsEverything(t, up, down)
			})
		}
	}
}

func testRelayKeepsEverything(t *testing.T, up, down remoteapi.WriteMessageType) {
	ref := newFullReferenceStore(t)
	ra := startRelay(t, t.TempDir(), relayConfig(ref.srv.URL+"/api/v1/write", string(down), 2, ""), "")
	client := prometheusWriteClient(t, ra.url("/api/v1/write"), up, config_util.HTTPClientConfig{})

	fx := newRelayFixture(4)
	if up == remoteapi.WriteV1MessageType {
		storeRW1(t, client, fx.rw1Metadata())
	}
	for i := range fx.requests {
		if up == remoteapi.WriteV1MessageType {
			storeRW1(t, client, fx.rw1(i))
			continue
		}
		pb, err := fx.rw2(i).Marshal()
		require.NoError(t, err)
		rs := store(t, client, pb)
		s, h, e := fx.counts(i)
		require.Equal(t, promremote.WriteResponseStats{Samples: s, Histograms: h, Exemplars: e, Confirmed: true}, rs,
			"ferry reports what it accepted in the RW2 *-Written headers")
	}

	withST := up == remoteapi.WriteV2MessageType && down == remoteapi.WriteV2MessageType
	want := expectedPoints(fx, withST, down == remoteapi.WriteV2MessageType)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && !samePointCount(ref.points(t), want) {
		time.Sleep(20 * time.Millisecond)
	}
	requireSamePoints(t, want, ref.points(t))
	require.Positive(t, ra.metric(t, "ferry_log_records_read_from_memory_total"),
		"the sender read received requests back from the log's memory")

	ex := ref.exemplars(t)
	wantEx := map[string][]exemplar.Exemplar{}
	for _, req := range fx.requests {
		for _, it := range req {
			if it.ex != nil {
				wantEx[it.lset.String()] = append(wantEx[it.lset.String()], *it.ex)
			}
		}
	}
	require.Equal(t, wantEx, ex, "exemplars")

	ra.stop(t)
	ref.close()
	if down != remoteapi.WriteV2MessageType {
		return // Prometheus' RW1 handler does not store metadata
	}
	wantMeta := map[string]metadata.Metadata{}
	for key := range want {
		for _, it := range fx.requests[0] {
			if it.lset.String() == key {
				_, wantMeta[key] = fx.familyOf(it.lset.Get("__name__"))
			}
		}
	}
	require.Equal(t, wantMeta, ref.metadata(t), "metadata of every series")
}

func storeRW1(t *testing.T, c promremote.WriteClient, req interface{ Marshal() ([]byte, error) }) {
	t.Helper()
	pb, err := req.Marshal()
	require.NoError(t, err)
	store(t, c, pb)
}

// store sends one protobuf body, snappy-compressed, and requires a 2xx.
func store(t *testing.T, c promremote.WriteClient, pb []byte) promremote.WriteResponseStats {
	t.Helper()
	body, err := compression.Encode(compression.Snappy, pb, nil)
	require.NoError(t, err)
	rs, err := c.Store(context.Background(), body, 0)
	require.NoError(t, err)
	return rs
}

// expectedPoints is what the TSDB must hold per series: every float
// sample and histogram, after a zero sample at the start timestamp when
// start timestamps travel the whole way. Histograms with custom buckets
// need RW2 on the way out: Remote-Write 1.0 does not define them, and
// ferry's sender drops and counts them there as Prometheus does.
func expectedPoints(fx *relayFixture, withST, withNHCB bool) map[string][]storedPoint {
	want := map[string][]storedPoint{}
	for _, req := range fx.requests {
		for _, it := range req {
			if it.ex != nil || !withNHCB && it.h != nil && it.h.UsesCustomBuckets() {
				continue
			}
			k := it.lset.String()
			if withST && it.st != 0 && len(want[k]) == 0 {
				zero := storedPoint{T: it.st}
				switch {
				case it.h != nil:
					zero.H = &histogram.Histogram{}
				case it.fh != nil:
					zero.FH = &histogram.FloatHistogram{}
				}
				want[k] = append(want[k], zero)
			}
			want[k] = append(want[k], storedPoint{T: it.t, V: math.Float64bits(it.v), H: it.h, FH: it.fh})
		}
	}
	return want
}

func samePointCount(got, want map[string][]storedPoint) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		if len(got[k]) != len(w) {
			return false
		}
	}
	return true
}

// requireSamePoints compares what the TSDB holds with what was sent. A
// zero sample written for a start timestamp is compared by its count
// only, and histograms ignore the counter-reset hint, which the TSDB
// derives itself.
func requireSamePoints(t *testing.T, want, got map[string][]storedPoint) {
	t.Helper()
	require.Len(t, got, len(want), "series in the TSDB")
	for k, w := range want {
		g := got[k]
		require.Len(t, g, len(w), "points of %s", k)
		for i := range w {
			require.Equal(t, w[i].T, g[i].T, "%s point %d timestamp", k, i)
			switch {
			case w[i].H != nil || w[i].FH != nil:
				require.Equal(t, w[i].H != nil, g[i].H != nil, "%s point %d is an integer histogram or a float one, as sent", k, i)
				want, got := asFloatHistogram(w[i]), asFloatHistogram(g[i])
				require.NotNil(t, got, "%s point %d is a histogram", k, i)
				if want.Count == 0 {
					require.Zero(t, got.Count, "%s: zero histogram at the start timestamp", k)
					continue
				}
				got.CounterResetHint = want.CounterResetHint
				require.True(t, want.Equals(got), "%s point %d: sent %s, stored %s", k, i, want, got)
			default:
				require.Equal(t, w[i].V, g[i].V, "%s point %d value bits (%g vs %g)", k, i, math.Float64frombits(w[i].V), math.Float64frombits(g[i].V))
			}
		}
	}
}

// asFloatHistogram returns a copy of a point's histogram as a float
// histogram, or nil if it has none.
func asFloatHistogram(p storedPoint) *histogram.FloatHistogram {
	switch {
	case p.H != nil:
		return p.H.ToFloat(nil)
	case p.FH != nil:
		return p.FH.Copy()
	}
	return nil
}
