package remote

import (
	"fmt"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withDict returns a copy of req whose series carry ids into a new Dict.
func withDict(req *Request) *Request {
	d := NewDict()
	out := &Request{}
	for _, s := range req.Series {
		c := s
		c.Dict = d
		s.Labels.Range(func(l labels.Label) {
			c.Names, c.Values = append(c.Names, d.Intern(l.Name)), append(c.Values, d.Intern(l.Value))
		})
		c.Names = append(c.Names, d.Intern(s.Metadata.Help), d.Intern(s.Metadata.Unit))
		out.Series = append(out.Series, c)
	}
	return out
}

func TestDictEncodingDecodesToTheSameRequest(t *testing.T) {
	req := &Request{}
	for i := 0; i < 50; i++ {
		req.Series = append(req.Series, Series{
			Labels:    labels.FromStrings("__name__", fmt.Sprint("m", i%7), "instance", fmt.Sprint("h", i%3), "job", "j"),
			Samples:   []Sample{{Value: float64(i), Timestamp: int64(i)}},
			Metadata:  Metadata{Type: MetricTypeGauge, Help: fmt.Sprint("help ", i%7), Unit: map[bool]string{true: "seconds"}[i%2 == 0]},
			Exemplars: []Exemplar{{Labels: labels.FromStrings("trace_id", fmt.Sprint(i)), Value: 1, Timestamp: int64(i)}},
		})
	}
	var st SymbolTable
	plain, err := DecodeV2(AppendV2(nil, req, &st), Limits{})
	require.NoError(t, err)
	// The same table, reused: a previous request's dictionary mappings
	// must not leak into the next.
	dreq := withDict(req)
	for round := 0; round < 3; round++ {
		viaDict, err := DecodeV2(AppendV2(nil, dreq, &st), Limits{})
		require.NoError(t, err)
		require.Equal(t, len(plain.Series), len(viaDict.Series))
		for i := range plain.Series {
			require.Equal(t, plain.Series[i].Labels.String(), viaDict.Series[i].Labels.String())
			require.Equal(t, plain.Series[i].Metadata, viaDict.Series[i].Metadata)
			require.Equal(t, plain.Series[i].Samples, viaDict.Series[i].Samples)
			require.Equal(t, plain.Series[i].Exemplars[0].Labels.String(), viaDict.Series[i].Exemplars[0].Labels.String())
		}
	}
}

func TestDictIsSafeForOneWriterAndConcurrentReaders(t *testing.T) {
	d := NewDict()
	ids := make(chan uint32, 100)
	done := make(chan struct{})
	nameID := d.Intern("name")
	go func() {
		// assert, not require: the reader must keep draining ids, or a
		// failure would block the writer instead of failing the test.
		defer close(done)
		for id := range ids {
			assert.Equal(t, fmt.Sprint("s", id-1), d.String(id))
			// A reader folds hashes the writer stored, while it goes on
			// interning into new chunks.
			s := Series{Dict: d, Names: []uint32{nameID, 0, 0}, Values: []uint32{id}}
			assert.Equal(t, LabelsHash(labels.FromStrings("name", d.String(id))), SeriesHash(&s))
		}
	}()
	for i := 0; i < 3*dictChunk; i++ {
		ids <- d.Intern(fmt.Sprint("s", i))
	}
	close(ids)
	<-done
	require.Equal(t, 3*dictChunk+1, d.Len())
	require.Equal(t, uint32(6), d.Intern("s5"), "interning is idempotent")
}

// DecodeStoredV2 reads symbols in place; nothing it returns may still point
// into the buffer, which the log reader reuses for the next record.
func TestDecodeStoredV2KeepsNothingOfTheBuffer(t *testing.T) {
	req := richRequest()
	buf := AppendV2(nil, req, nil)
	want, err := DecodeV2(buf, Limits{})
	require.NoError(t, err)
	d := NewDict()
	series, _, err := DecodeStoredV2(buf, d, nil, nil, nil)
	require.NoError(t, err)
	for i := range buf {
		buf[i] = 'X'
	}
	require.Len(t, series, len(want.Series))
	for i := range series {
		require.Equal(t, want.Series[i].Labels.String(), series[i].LabelSet().String())
		require.Equal(t, want.Series[i].Metadata, series[i].Metadata)
		require.Equal(t, len(want.Series[i].Exemplars), len(series[i].Exemplars))
		for j := range series[i].Exemplars {
			require.Equal(t, want.Series[i].Exemplars[j].Labels.String(), series[i].Exemplars[j].Labels.String())
		}
	}
}
