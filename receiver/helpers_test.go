package receiver

import (
	"context"
	"math"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/wal"
	"github.com/ferrymetrics/ferry/wal/vfs"
)

// relayEnv is a receiver in relay mode over a real log on disk (through a
// file system that can inject faults), served over HTTP on 127.0.0.1.
type relayEnv struct {
	fs  *vfs.Faulty
	log *wal.Log
	cur *wal.Reader
	rcv *Receiver
	srv *httptest.Server
	reg *prometheus.Registry
	// read counts the records read through cur.
	read uint64
}

// newRelayEnv starts a relay receiver; opts.Mode, Log, Logger and
// Registerer are filled in.
func newRelayEnv(t testing.TB, opts Options) *relayEnv {
	e := &relayEnv{fs: vfs.NewFaulty(vfs.OS), reg: prometheus.NewRegistry()}
	var err error
	e.log, err = wal.Open(t.TempDir(), wal.Options{FS: e.fs, Logger: quiet()})
	require.NoError(t, err)
	t.Cleanup(func() { e.log.Close() })
	e.cur, err = e.log.OpenCursor("test")
	require.NoError(t, err)
	opts.Mode, opts.Log, opts.Logger, opts.Registerer = ModeRelay, e.log, quiet(), e.reg
	e.rcv, err = New(opts)
	require.NoError(t, err)
	e.srv = httptest.NewServer(e.rcv)
	t.Cleanup(e.srv.Close)
	return e
}

// stored is one record the receiver appended, decoded.
type stored struct {
	count  uint32
	tenant string
	batch  record.Batch
}

// records returns the records appended since the last call. Appends are
// synced before the response, so they are all there already.
func (e *relayEnv) records(t testing.TB) []stored {
	var out []stored
	for e.read < e.log.Stats().Records {
		out = append(out, e.next(t))
	}
	return out
}

// next reads and decodes the next record, which must exist.
func (e *relayEnv) next(t testing.TB) stored {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rec, err := e.cur.Next(ctx)
	require.NoError(t, err)
	e.read++
	require.Equal(t, record.KindBatch, rec.Kind)
	s := stored{count: rec.Count}
	require.NoError(t, record.NewDecoder(nil).Decode(rec, &s.batch))
	s.tenant, err = record.BatchTenant(rec.Data)
	require.NoError(t, err)
	return s
}

// counter returns the value of one of the receiver's counters.
func (e *relayEnv) counter(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }

// pb builds protobuf messages by hand, valid or not, for hostile inputs.
type pb []byte

func (b pb) msg(num protowire.Number, parts ...pb) pb {
	var inner []byte
	for _, p := range parts {
		inner = append(inner, p...)
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, inner)
}

func (b pb) str(num protowire.Number, s string) pb {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func (b pb) varint(num protowire.Number, v uint64) pb {
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
}

func (b pb) double(num protowire.Number, v float64) pb {
	return protowire.AppendFixed64(protowire.AppendTag(b, num, protowire.Fixed64Type), math.Float64bits(v))
}

func (b pb) packed(num protowire.Number, vs ...uint64) pb {
	var inner []byte
	for _, v := range vs {
		inner = protowire.AppendVarint(inner, v)
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, inner)
}

// rw1Series is an RW1 TimeSeries with the given label pairs, in the order
// given, and one sample.
func rw1Series(kv ...string) pb {
	var parts []pb
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, pb(nil).str(1, kv[i]).str(2, kv[i+1]))
	}
	var ts pb
	for _, p := range parts {
		ts = ts.msg(1, p)
	}
	ts = ts.msg(2, pb(nil).double(1, 1).varint(2, 1000))
	return pb(nil).msg(1, ts)
}

// rw2Request is an RW2 request with the given symbols and one series whose
// labels_refs are refs, plus extra fields in the series.
func rw2Request(symbols []string, refs []uint64, extra ...pb) pb {
	var b pb
	for _, s := range symbols {
		b = b.str(4, s)
	}
	ts := pb(nil).packed(1, refs...)
	for _, e := range extra {
		ts = append(ts, e...)
	}
	return b.msg(5, ts)
}

// rw2Sample is an RW2 Sample field of a TimeSeries.
func rw2Sample() pb { return pb(nil).msg(2, pb(nil).double(1, 1).varint(2, 1000)) }
