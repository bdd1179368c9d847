package remote

import (
	"encoding/binary"
	"io"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// This file holds the protobuf primitives shared by the RW1 and RW2 codecs:
// a field reader for decoding and size/append helpers for encoding.

// field is one protobuf field read from the input.
type field struct {
	num protowire.Number
	typ protowire.Type
	u   uint64 // value of a varint, fixed32 or fixed64 field
	b   []byte // value of a length-delimited field; aliases the input
}

// nextField reads the field at the front of b and returns it with the number
// of bytes it occupies. Groups, which proto3 does not use, are skipped whole
// and returned without a value, so callers treat them as unknown fields.
func nextField(b []byte) (field, int, error) {
	// Fast paths for a one-byte tag (field numbers 1..15) followed by a
	// one-byte varint or length, or by a fixed64: nearly every field of a
	// remote-write request.
	if len(b) >= 2 && b[0] < 0x80 && b[0] >= 8 {
		num := protowire.Number(b[0] >> 3)
		switch typ := protowire.Type(b[0] & 7); {
		case typ == protowire.BytesType && b[1] < 0x80:
			if n := 2 + int(b[1]); n <= len(b) {
				return field{num: num, typ: typ, b: b[2:n:n]}, n, nil
			}
		case typ == protowire.VarintType && b[1] < 0x80:
			return field{num: num, typ: typ, u: uint64(b[1])}, 2, nil
		case typ == protowire.Fixed64Type && len(b) >= 9:
			return field{num: num, typ: typ, u: binary.LittleEndian.Uint64(b[1:9])}, 9, nil
		}
	}
	return nextFieldSlow(b)
}

func nextFieldSlow(b []byte) (field, int, error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return field{}, 0, wireError(n)
	}
	f := field{num: num, typ: typ}
	var m int
	switch typ {
	case protowire.VarintType:
		f.u, m = protowire.ConsumeVarint(b[n:])
	case protowire.Fixed64Type:
		f.u, m = protowire.ConsumeFixed64(b[n:])
	case protowire.Fixed32Type:
		var v uint32
		v, m = protowire.ConsumeFixed32(b[n:])
		f.u = uint64(v)
	case protowire.BytesType:
		f.b, m = protowire.ConsumeBytes(b[n:])
	default:
		m = protowire.ConsumeFieldValue(num, typ, b[n:])
	}
	if m < 0 {
		return field{}, 0, wireError(m)
	}
	return f, n + m, nil
}

// wireError turns a negative protowire result into an error wrapping
// ErrInvalid.
func wireError(n int) error {
	err := protowire.ParseError(n)
	if err == io.ErrUnexpectedEOF {
		return invalidf("truncated message")
	}
	return invalidf("malformed protobuf: %s", strings.TrimPrefix(err.Error(), "proto: "))
}

// want checks that f has wire type t; name is the field's name in the
// protobuf definition, for the error message.
func (f *field) want(t protowire.Type, name string) error {
	if f.typ != t {
		return wrongType(name, f.typ, t)
	}
	return nil
}

func wrongType(name string, got, want protowire.Type) error {
	return invalidf("%s: wire type %s, want %s", name, typeName(got), typeName(want))
}

func typeName(t protowire.Type) string {
	switch t {
	case protowire.VarintType:
		return "varint"
	case protowire.Fixed64Type:
		return "fixed64"
	case protowire.BytesType:
		return "bytes"
	case protowire.StartGroupType:
		return "start-group"
	case protowire.EndGroupType:
		return "end-group"
	case protowire.Fixed32Type:
		return "fixed32"
	}
	return "reserved"
}

// int64 returns the value of an int64 varint field.
func (f *field) int64(name string) (int64, error) {
	if err := f.want(protowire.VarintType, name); err != nil {
		return 0, err
	}
	return int64(f.u), nil
}

// uint32 returns the value of a uint32 varint field. Values that do not
// fit are refused rather than truncated: no sane sender produces them.
func (f *field) uint32(name string) (uint32, error) {
	if err := f.want(protowire.VarintType, name); err != nil {
		return 0, err
	}
	if f.u > math.MaxUint32 {
		return 0, invalidf("%s: %d overflows uint32", name, f.u)
	}
	return uint32(f.u), nil
}

// sint32 returns the value of a zigzag-encoded sint32 varint field.
func (f *field) sint32(name string) (int32, error) {
	if err := f.want(protowire.VarintType, name); err != nil {
		return 0, err
	}
	if f.u > math.MaxUint32 {
		return 0, invalidf("%s: %d overflows sint32", name, f.u)
	}
	return int32(protowire.DecodeZigZag(f.u)), nil
}

// double returns the value of a double (fixed64) field, bit for bit.
func (f *field) double(name string) (float64, error) {
	if err := f.want(protowire.Fixed64Type, name); err != nil {
		return 0, err
	}
	return math.Float64frombits(f.u), nil
}

// enum returns the value of an enum field whose known values are 0..max.
// Unknown values are refused: the data they stand for cannot be represented.
func (f *field) enum(name string, max uint64) (uint8, error) {
	if err := f.want(protowire.VarintType, name); err != nil {
		return 0, err
	}
	if f.u > max {
		return 0, invalidf("%s: unknown value %d", name, int64(f.u))
	}
	return uint8(f.u), nil
}

// countVarints returns how many varints the packed bytes b hold: every
// varint ends in exactly one byte without the continuation bit.
func countVarints(b []byte) int {
	n := 0
	for _, c := range b {
		if c < 0x80 {
			n++
		}
	}
	return n
}

// readUint32s appends the values of a repeated uint32 field, packed or
// not, to dst. It refuses to let dst grow beyond max elements and reports
// that with ErrTooLarge before allocating.
func readUint32s(dst []uint32, f field, name string, max int) ([]uint32, error) {
	switch f.typ {
	case protowire.VarintType:
		v, err := f.uint32(name)
		if err != nil {
			return dst, err
		}
		if len(dst) >= max {
			return dst, tooLargef("%s: more than %d entries", name, max)
		}
		return append(dst, v), nil
	case protowire.BytesType:
		n := countVarints(f.b)
		if n > max-len(dst) {
			return dst, tooLargef("%s: more than %d entries", name, max)
		}
		dst = slices.Grow(dst, n)
		for b := f.b; len(b) > 0; {
			if b[0] < 0x80 { // most references are under 128
				dst = append(dst, uint32(b[0]))
				b = b[1:]
				continue
			}
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return dst, errAt(name, wireError(m))
			}
			if v > math.MaxUint32 {
				return dst, invalidf("%s: %d overflows uint32", name, v)
			}
			dst = append(dst, uint32(v))
			b = b[m:]
		}
		return dst, nil
	}
	return dst, invalidf("%s: wire type %s, want bytes or varint", name, typeName(f.typ))
}

// readSint64s appends the values of a repeated sint64 field, packed or
// not, to dst.
func readSint64s(dst []int64, f field, name string) ([]int64, error) {
	switch f.typ {
	case protowire.VarintType:
		return append(dst, protowire.DecodeZigZag(f.u)), nil
	case protowire.BytesType:
		dst = slices.Grow(dst, countVarints(f.b))
		for b := f.b; len(b) > 0; {
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return dst, errAt(name, wireError(m))
			}
			dst = append(dst, protowire.DecodeZigZag(v))
			b = b[m:]
		}
		return dst, nil
	}
	return dst, invalidf("%s: wire type %s, want bytes or varint", name, typeName(f.typ))
}

// readDoubles appends the values of a repeated double field, packed or
// not, to dst.
func readDoubles(dst []float64, f field, name string) ([]float64, error) {
	switch f.typ {
	case protowire.Fixed64Type:
		return append(dst, math.Float64frombits(f.u)), nil
	case protowire.BytesType:
		if len(f.b)%8 != 0 {
			return dst, invalidf("%s: packed length %d is not a multiple of 8", name, len(f.b))
		}
		dst = slices.Grow(dst, len(f.b)/8)
		for b := f.b; len(b) > 0; b = b[8:] {
			v, _ := protowire.ConsumeFixed64(b)
			dst = append(dst, math.Float64frombits(v))
		}
		return dst, nil
	}
	return dst, invalidf("%s: wire type %s, want bytes or fixed64", name, typeName(f.typ))
}

// Encoding helpers. Scalar fields equal to their proto3 default are left
// out, as every protobuf encoder does; a double is left out only when its
// bits are zero, so -0 and every NaN payload survive.

func sizeVarint(num protowire.Number, v uint64) int {
	if v == 0 {
		return 0
	}
	return protowire.SizeTag(num) + sizeUvarint(v)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = appendTag(b, num, protowire.VarintType)
	return appendUvarint(b, v)
}

func sizeDouble(num protowire.Number, v float64) int {
	if math.Float64bits(v) == 0 {
		return 0
	}
	return protowire.SizeTag(num) + 8
}

func appendDouble(b []byte, num protowire.Number, v float64) []byte {
	if math.Float64bits(v) == 0 {
		return b
	}
	b = appendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(v))
}

func sizeString(num protowire.Number, s string) int {
	if s == "" {
		return 0
	}
	return sizeBytesField(num, len(s))
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = appendTag(b, num, protowire.BytesType)
	b = appendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// sizeBytesField is the size of a length-delimited field (an embedded
// message, a string or a packed list) whose content is n bytes.
func sizeBytesField(num protowire.Number, n int) int {
	return protowire.SizeTag(num) + sizeUvarint(uint64(n)) + n
}

// appendBytesHeader appends the tag and length of a length-delimited field
// whose n content bytes the caller appends next.
func appendBytesHeader(b []byte, num protowire.Number, n int) []byte {
	b = appendTag(b, num, protowire.BytesType)
	return appendUvarint(b, uint64(n))
}

// beginMessage appends the tag of an embedded message field and one byte
// for its length, and returns where that byte is; endMessage writes the
// length once the message is written. A message is then written once,
// without a pass to compute its size first; one byte of length is the
// common case, and a longer length moves the message up by a byte or two.
func beginMessage(b []byte, num protowire.Number) ([]byte, int) {
	b = appendTag(b, num, protowire.BytesType)
	return append(b, 0), len(b)
}

func endMessage(b []byte, at int) []byte {
	n := len(b) - at - 1
	if n < 0x80 {
		b[at] = byte(n)
		return b
	}
	k := protowire.SizeVarint(uint64(n))
	b = append(b, make([]byte, k-1)...)
	copy(b[at+k:], b[at+1:at+1+n])
	protowire.AppendVarint(b[at:at], uint64(n))
	return b
}

// appendTag appends a field's tag; field numbers below 16 take one byte.
func appendTag(b []byte, num protowire.Number, typ protowire.Type) []byte {
	if num < 16 {
		return append(b, byte(num)<<3|byte(typ))
	}
	return protowire.AppendVarint(b, protowire.EncodeTag(num, typ))
}

// appendUvarint and sizeUvarint are protowire's, with the one-byte case,
// the usual one for lengths and references, inlined.
func appendUvarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return protowire.AppendVarint(b, v)
}

func sizeUvarint(v uint64) int {
	if v < 0x80 {
		return 1
	}
	return protowire.SizeVarint(v)
}
