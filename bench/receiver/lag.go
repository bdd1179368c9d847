package receiver

import "math/bits"

// lagHistogram counts delivery lags in milliseconds with a relative error
// under 0.2%: values below 1024 ms have a bucket each, larger ones 512
// buckets per power of two. Negative lags (a sample stamped after its
// receipt, which only clock steps cause) count as 0.
type lagHistogram struct {
	buckets []int64
	n       int64
	max     int64
}

const (
	lagLinear  = 1024 // one bucket per millisecond below this
	lagSubBits = 9    // 2^9 = 512 buckets per power of two above it
)

func lagBucket(v int64) int {
	if v < lagLinear {
		return int(v)
	}
	exp := bits.Len64(uint64(v)) - 1 - lagSubBits // >= 1
	mant := int(v>>exp) - (1 << lagSubBits)       // [0, 512)
	return lagLinear + (exp-1)<<lagSubBits + mant
}

// lagBucketLow returns the smallest value of bucket i.
func lagBucketLow(i int) int64 {
	if i < lagLinear {
		return int64(i)
	}
	i -= lagLinear
	exp := i>>lagSubBits + 1
	mant := int64(i&(1<<lagSubBits-1)) + 1<<lagSubBits
	return mant << exp
}

func (h *lagHistogram) add(v int64) {
	v = max(v, 0)
	b := lagBucket(v)
	if b >= len(h.buckets) {
		h.buckets = append(h.buckets, make([]int64, b+1-len(h.buckets))...)
	}
	h.buckets[b]++
	h.n++
	h.max = max(h.max, v)
}

func (h *lagHistogram) merge(o *lagHistogram) {
	if len(o.buckets) > len(h.buckets) {
		h.buckets = append(h.buckets, make([]int64, len(o.buckets)-len(h.buckets))...)
	}
	for i, c := range o.buckets {
		h.buckets[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the lower bound of the bucket holding quantile q.
func (h *lagHistogram) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n-1)) + 1
	var seen int64
	for i, c := range h.buckets {
		seen += c
		if seen >= rank {
			return lagBucketLow(i)
		}
	}
	return h.max
}
