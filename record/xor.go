package record

import (
	"errors"
	"math/bits"
)

// appendXOR encodes x, the XOR of a value with the series' previous value,
// as a control byte (leading and trailing zero bytes) and the bytes between.
func appendXOR(controls, mids []byte, x uint64) ([]byte, []byte) {
	if x == 0 {
		return append(controls, 0x80), mids
	}
	lead := bits.LeadingZeros64(x) / 8
	trail := bits.TrailingZeros64(x) / 8
	c := byte(lead<<4 | trail)
	for i := 7 - lead; i >= trail; i-- {
		mids = append(mids, byte(x>>(8*i)))
	}
	return append(controls, c), mids
}

var errBadControl = errors.New("bad value control byte")

// midLen returns how many middle bytes a control byte announces.
func midLen(c byte) (int, error) {
	lead, trail := int(c>>4), int(c&0x0f)
	if lead+trail > 8 || (lead == 8 && c != 0x80) {
		return 0, errBadControl
	}
	return 8 - lead - trail, nil
}

// readXOR rebuilds x from a control byte and its middle bytes.
func readXOR(c byte, mid []byte) uint64 {
	trail := int(c & 0x0f)
	var x uint64
	for _, b := range mid {
		x = x<<8 | uint64(b)
	}
	return x << (8 * trail)
}
