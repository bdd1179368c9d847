package remote

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

// transcodeLookup answers for some families and not others, so both kinds
// of series occur in every corpus.
func transcodeLookup(name string) (Metadata, bool) {
	if len(name)%3 == 0 {
		return Metadata{}, false
	}
	return Metadata{Type: MetricType(len(name) % 8), Help: "help of " + name, Unit: name[:len(name)%4]}, true
}

// expectedTranscode is what TranscodeV1 must write for buf: DecodeV1's
// request with lookup's metadata, encoded by AppendV2 (which writes a
// series holding both samples and histograms as two).
func expectedTranscode(t testing.TB, buf []byte, lim Limits) ([]byte, Counts, error) {
	req, err := DecodeV1(buf, lim)
	if err != nil {
		return nil, Counts{}, err
	}
	for i := range req.Series {
		req.Series[i].Metadata, _ = transcodeLookup(req.Series[i].Labels.Get("__name__"))
	}
	return AppendV2(nil, req, nil), req.Count(), nil
}

// requireSameTranscode checks TranscodeV1 against DecodeV1 and AppendV2:
// the same errors, and byte for byte the same RW2 request.
func requireSameTranscode(t testing.TB, tr *Transcoder, buf []byte, lim Limits) {
	t.Helper()
	want, wantCounts, wantErr := expectedTranscode(t, buf, lim)
	prefix := []byte("prefix")
	got, counts, _, err := tr.TranscodeV1(append([]byte(nil), prefix...), buf, lim, transcodeLookup)
	if wantErr != nil {
		require.Error(t, err)
		require.Equal(t, wantErr.Error(), err.Error())
		return
	}
	require.NoError(t, err)
	require.Equal(t, wantCounts, counts)
	require.True(t, bytes.HasPrefix(got, prefix), "the request is appended to dst")
	if !bytes.Equal(want, got[len(prefix):]) {
		t.Fatalf("transcoded request differs from DecodeV1 + AppendV2\nwant %x\ngot  %x", want, got[len(prefix):])
	}
	// And what it wrote is valid RW2, every series of it.
	_, err = DecodeV2(got[len(prefix):], Limits{MaxSeries: -1, MaxLabels: -1, MaxSamples: -1})
	require.NoError(t, err)
}

func transcodeSeeds() [][]byte {
	mixed := &Request{Series: []Series{{
		Labels:     labels.FromStrings("__name__", "mixed_total", "job", "j"),
		Samples:    []Sample{{Value: 1, Timestamp: 1000}, {Value: 2, Timestamp: 2000}},
		Histograms: []Histogram{{Timestamp: 3000, H: &histogram.Histogram{Count: 3, Sum: 4, ZeroCount: 3, ZeroThreshold: 0.001}}},
		Exemplars:  []Exemplar{{Labels: labels.FromStrings("trace_id", "abc"), Value: 1, Timestamp: 1000}},
	}}, FamilyMetadata: []FamilyMetadata{{MetricFamilyName: "mixed", Metadata: Metadata{Type: MetricTypeCounter, Help: "h"}}}}
	var seeds [][]byte
	for _, r := range append(fuzzSeeds(), mixed) {
		seeds = append(seeds, AppendV1(nil, r))
	}
	return seeds
}

func TestTranscodeV1MatchesDecodeAndAppend(t *testing.T) {
	var tr Transcoder
	inputs := transcodeSeeds()
	// The regression inputs of both decoders' fuzz targets are RW1 and
	// RW2 requests, broken and whole; as RW1 each must transcode exactly
	// as it decodes.
	for _, dir := range []string{"FuzzDecodeV1", "FuzzDecodeV2", "FuzzTranscodeV1"} {
		files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", dir, "*"))
		for _, f := range files {
			inputs = append(inputs, readFuzzInput(t, f))
		}
	}
	require.Greater(t, len(inputs), 10)
	for _, lim := range []Limits{{}, fuzzLimits, {MaxLabels: 3, MaxSamples: 5}} {
		for _, in := range inputs {
			requireSameTranscode(t, &tr, in, lim)
		}
	}
}

// The table refers into the previous request; the next call must not
// find its strings there.
func TestTranscodeV1ForgetsThePreviousRequest(t *testing.T) {
	var tr Transcoder
	buf := AppendV1(nil, nodeExporterRequest(3))
	first, _, _, err := tr.TranscodeV1(nil, buf, Limits{}, nil)
	require.NoError(t, err)
	for i := range buf {
		buf[i] = 0xff // the buffer is reused for something else
	}
	other := AppendV1(nil, &Request{Series: []Series{{Labels: labels.FromStrings("__name__", "x"), Samples: []Sample{{Value: 1}}}}})
	second, _, _, err := tr.TranscodeV1(nil, other, Limits{}, nil)
	require.NoError(t, err)
	req, err := DecodeV2(second, Limits{})
	require.NoError(t, err)
	require.Equal(t, []string{"", "__name__", "x"}, symbolsOf(t, second))
	require.Equal(t, "x", req.Series[0].Labels.Get("__name__"))
	require.NotEqual(t, first, second)
}

func FuzzTranscodeV1(f *testing.F) {
	for _, s := range transcodeSeeds() {
		f.Add(s)
	}
	var tr Transcoder
	f.Fuzz(func(t *testing.T, buf []byte) {
		requireSameTranscode(t, &tr, buf, fuzzLimits)
	})
}

// readFuzzInput reads the []byte of a `go test fuzz v1` corpus file.
func readFuzzInput(t testing.TB, path string) []byte {
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	v, err := parseFuzzBytes(raw)
	require.NoError(t, err, path)
	return v
}

// parseFuzzBytes reads a corpus file holding one []byte value.
func parseFuzzBytes(raw []byte) ([]byte, error) {
	lines := strings.SplitN(strings.TrimSpace(string(raw)), "\n", 2)
	if len(lines) != 2 || lines[0] != "go test fuzz v1" {
		return nil, fmt.Errorf("not a fuzz corpus file")
	}
	v := lines[1]
	if !strings.HasPrefix(v, "[]byte(") || !strings.HasSuffix(v, ")") {
		return nil, fmt.Errorf("not a []byte value: %q", v)
	}
	s, err := strconv.Unquote(v[len("[]byte(") : len(v)-1])
	return []byte(s), err
}

// symbolsOf returns the symbols of an RW2 request.
func symbolsOf(t testing.TB, buf []byte) []string {
	var out []string
	for len(buf) > 0 {
		f, n, err := nextField(buf)
		require.NoError(t, err)
		buf = buf[n:]
		if f.num == v2Symbols {
			out = append(out, string(f.b))
		}
	}
	return out
}

// The Transcoder has no counting pass: it checks the limits as it reads.
// It must still refuse what DecodeV1 refuses, with DecodeV1's message
// (which counts the whole request first), and stop reading a series that
// takes it over the limit rather than collect all of its samples.
func TestTranscodeV1ChecksLimitsAsItReads(t *testing.T) {
	series := func(name string, samples int) Series {
		s := Series{Labels: labels.FromStrings("__name__", name)}
		for i := range samples {
			s.Samples = append(s.Samples, Sample{Value: float64(i), Timestamp: int64(i)})
		}
		return s
	}
	meta := FamilyMetadata{MetricFamilyName: "a", Metadata: Metadata{Type: MetricTypeGauge}}
	lim := Limits{MaxSeries: 3, MaxSamples: 100}
	broken := []byte{0x2a, 0x05, 0x01} // a timeseries field cut short
	// A timeseries field, and a series' samples field, of the varint
	// type: not counted by a counting pass, refused by the strict one.
	seriesVarint := []byte{0x08, 0x01}
	one := AppendV1(nil, &Request{Series: []Series{series("z", 0)}}) // 0x0a, its length, the series' labels
	inner := append(append([]byte(nil), one[2:]...), 0x10, 0x01)
	samplesVarint := append([]byte{0x0a, byte(len(inner))}, inner...)
	for _, c := range []struct {
		name string
		buf  []byte
	}{
		{"at the limits", AppendV1(nil, &Request{Series: []Series{series("a", 50), series("b", 50), series("c", 0)}})},
		{"one series over the sample limit", AppendV1(nil, &Request{Series: []Series{series("a", 10_000)}})},
		{"over the sample limit in the last series", AppendV1(nil, &Request{Series: []Series{series("a", 60), series("b", 41)}})},
		{"over the series limit", AppendV1(nil, &Request{Series: []Series{series("a", 1), series("b", 1), series("c", 1), series("d", 1)}})},
		{"over the metadata limit", AppendV1(nil, &Request{FamilyMetadata: []FamilyMetadata{meta, meta, meta, meta}})},
		{"broken, and over a limit before the break", append(AppendV1(nil, &Request{Series: []Series{series("a", 101)}}), broken...)},
		{"broken, and over a limit after the break", append(broken, AppendV1(nil, &Request{Series: []Series{series("a", 101)}})...)},
		{"broken within the limits", append(AppendV1(nil, &Request{Series: []Series{series("a", 3)}}), broken...)},
		{"a series of the wrong type once the series limit is reached", append(AppendV1(nil, &Request{Series: []Series{series("a", 1), series("b", 1), series("c", 1)}}), seriesVarint...)},
		{"samples of the wrong type once the sample limit is reached", append(AppendV1(nil, &Request{Series: []Series{series("a", 100)}}), samplesVarint...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			var tr Transcoder
			requireSameTranscode(t, &tr, c.buf, lim)
			require.LessOrEqual(t, cap(tr.d.samples), 2*lim.MaxSamples, "samples collected past the limit")
		})
	}
}
