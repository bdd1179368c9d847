package remote

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// A tiny protobuf writer for hand-made test inputs, valid or not.

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// fMsg is a length-delimited field holding the concatenation of parts.
func fMsg(num protowire.Number, parts ...[]byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, cat(parts...))
}

func fStr(num protowire.Number, s string) []byte { return fMsg(num, []byte(s)) }

func fVarint(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

func fFixed64(num protowire.Number, v uint64) []byte {
	return protowire.AppendFixed64(protowire.AppendTag(nil, num, protowire.Fixed64Type), v)
}

func fDouble(num protowire.Number, v float64) []byte { return fFixed64(num, math.Float64bits(v)) }

func fFixed32(num protowire.Number, v uint32) []byte {
	return protowire.AppendFixed32(protowire.AppendTag(nil, num, protowire.Fixed32Type), v)
}

// fGroup is a (proto2) group field holding parts.
func fGroup(num protowire.Number, parts ...[]byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.StartGroupType)
	b = append(b, cat(parts...)...)
	return protowire.AppendTag(b, num, protowire.EndGroupType)
}

// fPacked is a packed repeated varint field.
func fPacked(num protowire.Number, vs ...uint64) []byte {
	var content []byte
	for _, v := range vs {
		content = protowire.AppendVarint(content, v)
	}
	return fMsg(num, content)
}

// v1Label is an RW1 Label field (number num) with name and value.
func v1Label(num protowire.Number, name, value string) []byte {
	return fMsg(num, fStr(labelName, name), fStr(labelValue, value))
}

// v1Series is an RW1 timeseries field with the given labels (name, value,
// ...) and one sample, plus extra fields.
func v1Series(kv []string, extra ...[]byte) []byte {
	var parts [][]byte
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, v1Label(v1Labels, kv[i], kv[i+1]))
	}
	parts = append(parts, fMsg(v1Samples, fDouble(sampleValue, 1), fVarint(sampleTimestamp, 1000)))
	parts = append(parts, extra...)
	return fMsg(v1Timeseries, parts...)
}

// v2Syms is the symbols part of an RW2 request.
func v2Syms(symbols ...string) []byte {
	var b []byte
	for _, s := range symbols {
		b = append(b, fStr(v2Symbols, s)...)
	}
	return b
}

// v2Sample is an RW2 samples field.
func v2Sample() []byte {
	return fMsg(v2Samples, fDouble(sampleValue, 1), fVarint(sampleTimestamp, 1000))
}
