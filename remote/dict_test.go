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

// TestPlainSeriesAreWrittenAsTheGeneralPathWritesThem checks the encoder's
// fast path for a scrape's series (one float sample, dictionary ids)
// against its general path, which writes the same series from their label
// sets: the requests must be equal byte for byte, across the fields' edge
// cases and with symbol references and lengths past one varint byte.
func TestPlainSeriesAreWrittenAsTheGeneralPathWritesThem(t *testing.T) {
	req := &Request{}
	many := labels.NewScratchBuilder(0)
	for i := range maxPlainLabels + 1 {
		many.Add(fmt.Sprintf("label_with_a_long_name_%02d", i), fmt.Sprint("value ", i))
	}
	many.Sort()
	for i := range 400 {
		s := Series{
			Labels:   labels.FromStrings("__name__", fmt.Sprint("metric_", i%40), "instance", fmt.Sprint("host-", i%9, ":9100"), "job", "node", "series", fmt.Sprint(i)),
			Samples:  []Sample{{Value: float64(i) / 3, Timestamp: 1_790_000_000_000 + int64(i)}},
			Metadata: Metadata{Type: MetricType(i % 8), Help: fmt.Sprint("help ", i%13)},
		}
		switch i % 10 {
		case 0:
			s.Metadata.Unit = "bytes"
		case 1:
			s.Samples[0].Value = 0 // not written
		case 2:
			s.Samples[0].StartTimestamp = 1_789_999_000_000 + int64(i)
		case 3:
			s.Samples[0].Timestamp = -int64(i) // ten varint bytes
		case 4:
			s.Metadata = Metadata{} // no metadata field
		case 5:
			s.Metadata.Unit = "seconds"
		case 6:
			s.Metadata.Help = ""
		case 7:
			s.Labels = labels.EmptyLabels()
		case 8:
			s.Labels = many.Labels() // over maxPlainLabels: the general path
		case 9:
			s.Labels = labels.NewBuilder(many.Labels()).Del("label_with_a_long_name_00").Labels() // exactly maxPlainLabels
		}
		req.Series = append(req.Series, s)
	}
	dreq := withDict(req)
	for i := 0; i < len(req.Series); i += 20 {
		// A sender with metadata_config send: false clears the metadata
		// and keeps the ids of help and unit.
		req.Series[i].Metadata.Help, req.Series[i].Metadata.Unit = "", ""
		dreq.Series[i].Metadata = req.Series[i].Metadata
	}
	var general, plain SymbolTable
	want := AppendV2(nil, req, &general)
	got := AppendV2([]byte("prefix"), dreq, &plain)
	require.Equal(t, "prefix", string(got[:6]), "what dst held is kept")
	require.Equal(t, want, got[6:])
	require.Equal(t, general.Symbols(), plain.Symbols())
	// And again with the tables reused, as a lane does.
	require.Equal(t, want, AppendV2(nil, dreq, &plain))
}

// A lane that merges a series' pieces may give the series the metadata of
// another piece when its own had none; its dictionary ids then name no
// help or unit text, and the metadata's texts are still what is sent.
func TestMetadataTheIdsDoNotNameIsSent(t *testing.T) {
	req := &Request{Series: []Series{{
		Labels:  labels.FromStrings("__name__", "m", "job", "j"),
		Samples: []Sample{{Value: 1, Timestamp: 1}, {Value: 2, Timestamp: 2}},
	}}}
	dreq := withDict(req) // help and unit ids name ""
	dreq.Series[0].Metadata = Metadata{Type: MetricTypeCounter, Help: "Merged help.", Unit: "seconds"}
	got, err := DecodeV2(AppendV2(nil, dreq, nil), Limits{})
	require.NoError(t, err)
	require.Equal(t, dreq.Series[0].Metadata, got.Series[0].Metadata)
}

// Series of one shape share their Names array, as the log's decoder gives
// them; the plain path looks their names up once per request and still
// writes what the general path writes: help and unit only for the series
// whose metadata has them, a series of another dictionary with its own
// references, and nothing carried over to the next request.
func TestSeriesSharingTheirNamesAreWrittenAsTheGeneralPathWritesThem(t *testing.T) {
	build := func(d *Dict, names []uint32, from, to int) (general, shared []Series) {
		for i := from; i < to; i++ {
			s := Series{
				Labels:   labels.FromStrings("__name__", "node_cpu_seconds_total", "cpu", fmt.Sprint(i%4), "instance", fmt.Sprint("host-", i/4), "mode", "idle"),
				Samples:  []Sample{{Value: float64(i), Timestamp: 1_790_000_000_000}},
				Metadata: Metadata{Type: MetricTypeCounter, Help: "Seconds the CPUs spent in each mode.", Unit: "seconds"},
			}
			switch i % 3 {
			case 1:
				s.Metadata.Help = "" // metadata_config send: false keeps the ids
			case 2:
				s.Metadata.Unit = ""
			}
			general = append(general, s)
			c := s
			c.Dict, c.Names = d, names
			s.Labels.Range(func(l labels.Label) { c.Values = append(c.Values, d.Intern(l.Value)) })
			shared = append(shared, c)
		}
		return general, shared
	}
	shapeOf := func(d *Dict) []uint32 {
		var names []uint32
		for _, n := range []string{"__name__", "cpu", "instance", "mode", "Seconds the CPUs spent in each mode.", "seconds"} {
			names = append(names, d.Intern(n))
		}
		return names
	}
	// Series of a second dictionary, which numbers the strings
	// differently, come between series of the first.
	d1, d2 := NewDict(), NewDict()
	d2.Intern("shifts every id")
	n1, n2 := shapeOf(d1), shapeOf(d2)
	g1, s1 := build(d1, n1, 0, 24)
	g2, s2 := build(d2, n2, 24, 32)
	general := &Request{Series: append(append(g1[:12:12], g2...), g1[12:]...)}
	shared := &Request{Series: append(append(s1[:12:12], s2...), s1[12:]...)}

	var gt, pt SymbolTable
	want := AppendV2(nil, general, &gt)
	require.Equal(t, want, AppendV2(nil, shared, &pt))
	require.Equal(t, gt.Symbols(), pt.Symbols())
	// The next request on the same table starts with other series of
	// the same shape and the same Names array.
	general.Series, shared.Series = general.Series[20:], shared.Series[20:]
	require.Equal(t, AppendV2(nil, general, &gt), AppendV2(nil, shared, &pt))
	require.Equal(t, gt.Symbols(), pt.Symbols())
	// Series without ids (the general path) among series with them:
	// every string is still one symbol.
	shared.Series = append([]Series{g1[0], s1[1], g1[2]}, s1[3:]...)
	general.Series = g1
	require.Equal(t, AppendV2(nil, general, &gt), AppendV2(nil, shared, &pt))
	require.Equal(t, gt.Symbols(), pt.Symbols())
}
