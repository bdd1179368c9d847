package remote

import (
	"bytes"
	"fmt"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// nextField's fast paths read what nextFieldSlow reads: every tag of
// fields 1 to 15, followed by every pair of bytes, then by enough bytes for
// any short length or fixed64.
func TestNextFieldFastPathsMatchTheSlowPath(t *testing.T) {
	buf := make([]byte, 3+255)
	for num := protowire.Number(1); num <= 15; num++ {
		for _, typ := range []protowire.Type{protowire.VarintType, protowire.Fixed64Type, protowire.BytesType, protowire.Fixed32Type} {
			buf[0] = byte(protowire.EncodeTag(num, typ))
			for b1 := 0; b1 < 256; b1++ {
				for b2 := 0; b2 < 256; b2++ {
					buf[1], buf[2] = byte(b1), byte(b2)
					for _, n := range []int{2, 3, len(buf)} {
						in := buf[:n]
						f, m, err := nextField(in)
						g, k, gerr := nextFieldSlow(in)
						if fmt.Sprint(err) != fmt.Sprint(gerr) || m != k || f.num != g.num || f.typ != g.typ || f.u != g.u || !bytes.Equal(f.b, g.b) {
							t.Fatalf("% x: fast %+v %d %v, slow %+v %d %v", in[:min(n, 3)], f, m, err, g, k, gerr)
						}
					}
				}
			}
		}
	}
}
