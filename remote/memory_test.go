package remote

import (
	"testing"
)

// TestDecodeMemoryIsBoundedByInput: however a request is shaped, decoding
// allocates a bounded multiple of its size, never what its counts or
// lengths claim.
func TestDecodeMemoryIsBoundedByInput(t *testing.T) {
	const n = 100_000
	series := fMsg(v1Timeseries, v1Label(v1Labels, "a", "b"))
	tests := []struct {
		name string
		v2   bool
		in   []byte
	}{
		{"many tiny series", false, cat(repeat(series, n)...)},
		{"many empty samples", false, fMsg(v1Timeseries, v1Label(v1Labels, "a", "b"), cat(repeat(fMsg(v1Samples), n)...))},
		{"many empty histograms", false, fMsg(v1Timeseries, v1Label(v1Labels, "a", "b"), cat(repeat(fMsg(v1Histograms), n)...))},
		{"many empty symbols", true, cat(repeat(fStr(v2Symbols, ""), n)...)},
		{"huge claimed length", true, cat(testSymbols, []byte{0x2a, 0xff, 0xff, 0xff, 0xff, 0x07})},
		{"huge packed list", true, cat(testSymbols, fMsg(v2Timeseries, fMsg(v2LabelsRefs, make([]byte, n))))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decode := DecodeV1
			if tt.v2 {
				decode = DecodeV2
			}
			alloc := totalAlloc(func() { decode(tt.in, Limits{MaxSeries: -1, MaxSamples: -1}) })
			// Generous bound: a 2-byte empty histogram becomes a
			// histogram.Histogram of some 200 bytes.
			if limit := 150*uint64(len(tt.in)) + 1<<20; alloc > limit {
				t.Errorf("decoding %d bytes allocated %d bytes (limit %d)", len(tt.in), alloc, limit)
			}
			t.Logf("%d input bytes, %d allocated (%.1fx)", len(tt.in), alloc, float64(alloc)/float64(len(tt.in)))
		})
	}
}

func repeat(b []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}
