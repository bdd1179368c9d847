package remote

import (
	"math/bits"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/prometheus/model/labels"
)

// LabelsHash is the hash a sender routes and merges a series by. It folds
// the xxhash of each label name and value, in order, rather than hashing
// the label set's bytes: a decoder whose dictionary already holds every
// string's hash (Dict) then combines a series' hash from them without
// reading its strings again. Every decoder path of one series must give
// the same value, or a series could change routing slot between records.
func LabelsHash(ls labels.Labels) uint64 {
	h := uint64(hashSeed)
	ls.Range(func(l labels.Label) {
		h = foldLabel(h, xxhash.Sum64String(l.Name), xxhash.Sum64String(l.Value))
	})
	return finishHash(h)
}

// SeriesHash is LabelsHash of s's labels. A series with dictionary ids
// has it folded from the dictionary's string hashes, without reading a
// string; any goroutine that may read s may call it.
func SeriesHash(s *Series) uint64 {
	if !s.Labels.IsEmpty() || !s.hasIDs() {
		return LabelsHash(s.Labels)
	}
	h := uint64(hashSeed)
	for i, v := range s.Values {
		h = foldLabel(h, s.Dict.hash(s.Names[i]), s.Dict.hash(v))
	}
	return finishHash(h)
}

// The constants are xxhash64's primes; the fold is its accumulator round,
// applied to the name's hash and then to the value's, so a label's name
// and value cannot trade places, nor two labels' positions, unnoticed.
const (
	hashSeed   = 0x9E3779B185EBCA87
	hashPrime2 = 0xC2B2AE3D27D4EB4F
	hashPrime3 = 0x165667B19E3779F9
)

func foldLabel(h, name, value uint64) uint64 {
	h = bits.RotateLeft64(h+name*hashPrime2, 31) * hashSeed
	return bits.RotateLeft64(h+value*hashPrime2, 31) * hashSeed
}

// finishHash mixes the high bits into the low ones, which pick a series'
// routing slot.
func finishHash(h uint64) uint64 {
	h ^= h >> 33
	h *= hashPrime2
	h ^= h >> 29
	h *= hashPrime3
	return h ^ h>>32
}
