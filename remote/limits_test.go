package remote

import (
	"errors"
	"testing"
)

func TestLimitsZeroMeansDefaultNegativeMeansNone(t *testing.T) {
	series := fMsg(v1Timeseries, v1Label(v1Labels, "a", "b"))
	in := cat(repeat(series, DefaultMaxSeries+1)...)
	if _, err := DecodeV1(in, Limits{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("%d series with zero Limits: got %v, want ErrTooLarge", DefaultMaxSeries+1, err)
	}
	if _, err := DecodeV1(in, Limits{MaxSeries: -1}); err != nil {
		t.Errorf("%d series with MaxSeries -1: %v", DefaultMaxSeries+1, err)
	}
	if _, err := DecodeV1(in, Limits{MaxSeries: DefaultMaxSeries + 1}); err != nil {
		t.Errorf("%d series with MaxSeries %d: %v", DefaultMaxSeries+1, DefaultMaxSeries+1, err)
	}
}
