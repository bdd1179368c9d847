package record

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

// A keyframe later in the same segment (every KeyframeInterval records, or
// after a failed append) redefines a stream's series, possibly in another
// order. Series decoded from earlier records may still wait in a lane, so
// their dictionary ids must not change under them.
func TestKeyframeLeavesEarlierSeriesAlone(t *testing.T) {
	enc := NewStreamEncoder(1)
	d := NewDecoder(nil)
	a := labels.FromStrings("__name__", "a", "job", "j")
	b := labels.FromStrings("__name__", "b", "job", "j")
	c := labels.FromStrings("__name__", "c_with_a_longer_name", "job", "j", "zone", "z")

	enc.Begin(1000, 1)
	enc.Add(enc.Define(a, "a", remote.Metadata{}), 1)
	enc.Add(enc.Define(b, "b", remote.Metadata{}), 2)
	data, _ := enc.Finish()
	rec1 := append([]byte(nil), data...)
	enc.Done(true)
	var first Batch
	require.NoError(t, d.Decode(wal.Record{Kind: KindStream, Data: rec1, Pos: wal.Pos{Segment: 1}}, &first))
	require.Equal(t, a, first.Series[0].LabelSet())
	require.Equal(t, b, first.Series[1].LabelSet())

	enc.Begin(2000, 1)
	enc.Done(false) // a failed append: the next record is a keyframe
	enc.Begin(2000, 1)
	enc.Add(enc.Define(c, "c", remote.Metadata{}), 3)
	enc.Add(enc.Define(a, "a", remote.Metadata{}), 4)
	data, _ = enc.Finish()
	rec2 := append([]byte(nil), data...)
	enc.Done(true)
	var second Batch
	require.NoError(t, d.Decode(wal.Record{Kind: KindStream, Data: rec2, Pos: wal.Pos{Segment: 1}}, &second))

	require.Equal(t, a, first.Series[0].LabelSet(), "an earlier record's series changed labels")
	require.Equal(t, b, first.Series[1].LabelSet(), "an earlier record's series changed labels")
	require.Equal(t, c, second.Series[0].LabelSet())
	require.Equal(t, a, second.Series[1].LabelSet())
}
