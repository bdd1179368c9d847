package scrape

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestParseValueMatchesParseFloat compares parseValue with
// strconv.ParseFloat bit for bit on values of every shape parseShortDecimal
// takes and on the ones it leaves to strconv.
func TestParseValueMatchesParseFloat(t *testing.T) {
	inputs := []string{"0", "-0", "+0", "1", "1.", ".5", "-.5", "+.5", "0.1", "0.3", "123456789012345",
		"1234567890123456", "99999999999999.9", "0.000000000000001", "1e3", "1.5e-05", "NaN", "+Inf", "-Inf",
		"inf", "0x1p3", "1_000", ".", "-", "+", "", "1..2", "--1", "1a", "007", "00000000000000000001"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		digits := 1 + rng.IntN(16)
		b := make([]byte, 0, 20)
		if rng.IntN(4) == 0 {
			b = append(b, '-')
		}
		dot := rng.IntN(digits + 2)
		for i := range digits {
			if i == dot {
				b = append(b, '.')
			}
			b = append(b, byte('0'+rng.IntN(10)))
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		got, ok := parseValue([]byte(in))
		want, err := strconv.ParseFloat(in, 64)
		if in == "0x1p3" || in == "1_000" {
			require.False(t, ok, in) // the text format refuses these
			continue
		}
		require.Equal(t, err == nil, ok, in)
		if ok {
			if math.IsNaN(want) {
				require.True(t, math.IsNaN(got))
				continue
			}
			require.Equal(t, math.Float64bits(want), math.Float64bits(got), in)
		}
	}
}

func BenchmarkParseValue(b *testing.B) {
	values := [][]byte{[]byte("1"), []byte("123456"), []byte("0.25"), []byte("1.5e-05"), []byte("1.8446744073709552e+19")}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok := parseValue(values[i%len(values)]); !ok {
			b.Fatal("not parsed")
		}
	}
}

// TestKnownTextReadsASteadyExposition checks that a node_exporter-like
// exposition scraped a second time, with new values, is read entirely
// without the parser, and that a new series in the middle hands the rest
// of the body to the parser without losing or repeating a sample.
func TestKnownTextReadsASteadyExposition(t *testing.T) {
	cfg := scrapeConfig("node")
	l := newLoop(nodeTarget(cfg, "10.0.0.1:9100", "10s"), cfg, fetcher{}, nil, 1, 0, quiet(), newMetrics(nil), nil)
	scrape := func(body []byte, ts int64) {
		l.cache.begin()
		l.samples, l.created = l.samples[:0], l.created[:0]
		_, err := l.parse(body, "text/plain; version=0.0.4", ts)
		require.NoError(t, err)
		l.cache.endScrape()
	}
	scrape(nodeExposition(1000, 1), 0)
	n := len(l.samples)

	body := nodeExposition(1000, 2)
	l.cache.begin()
	l.samples = l.samples[:0]
	cur := int32(-1)
	var res parseResult
	p, err := l.parseKnownText(body, 10_000, &cur, &res)
	require.NoError(t, err)
	require.Nil(t, p, "every line of a steady exposition is known")
	require.Len(t, l.samples, n)
	l.cache.endScrape()

	mid := len(body) / 2
	mid += bytes.IndexByte(body[mid:], '\n') + 1 // a line start
	changed := append(append(append([]byte(nil), body[:mid]...), "node_new_metric 42\n"...), body[mid:]...)
	scrape(changed, 20_000)
	require.Len(t, l.samples, n+1)
	seen := map[int32]bool{}
	for _, s := range l.samples {
		require.False(t, seen[s.e], "a sample appears twice")
		seen[s.e] = true
	}
}
