package remote

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// Symbols used by the RW2 cases: 0 "", 1 "__name__", 2 "up", 3 "job",
// 4 "node", 5 "b", 6 "c".
var testSymbols = v2Syms("", "__name__", "up", "job", "node", "b", "c")

func TestDecodeRefusesMalformedInput(t *testing.T) {
	validV1 := v1Series([]string{"__name__", "up", "job", "node"})
	upJob := fPacked(v2LabelsRefs, 1, 2, 3, 4)

	tests := []struct {
		name    string
		v2      bool
		lim     Limits
		in      []byte
		kind    error
		message string // a part of the error message
	}{
		// Protobuf framing.
		{name: "truncated series", in: validV1[:len(validV1)-3], kind: ErrInvalid, message: "truncated"},
		{name: "length claiming 4 GiB", in: []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}, kind: ErrInvalid, message: "byte 0: truncated"},
		{name: "varint overflow", in: cat([]byte{0x08}, []byte(strings.Repeat("\xff", 10)), []byte{0x01}), kind: ErrInvalid, message: "overflow"},
		{name: "field number zero", in: []byte{0x02, 0x00}, kind: ErrInvalid, message: "invalid field number"},
		{name: "stray end-group", in: []byte{0x0c}, kind: ErrInvalid, message: "malformed protobuf"},
		{name: "reserved wire type", in: []byte{0x0e}, kind: ErrInvalid, message: "malformed protobuf"},
		{name: "timeseries as varint", in: fVarint(v1Timeseries, 5), kind: ErrInvalid, message: "series 0: timeseries: wire type varint, want bytes"},
		{name: "timeseries as group", in: fGroup(v1Timeseries), kind: ErrInvalid, message: "series 0: timeseries: wire type start-group, want bytes"},
		{name: "sample value as varint", in: fMsg(v1Timeseries, v1Label(v1Labels, "a", "b"), fMsg(v1Samples, fVarint(sampleValue, 3))),
			kind: ErrInvalid, message: "series 0: sample 0: value: wire type varint, want fixed64"},
		{name: "packed doubles of odd length", in: v1Series([]string{"a", "b"}, fMsg(v1Histograms, fDouble(hCountFloat, 1), fMsg(hPosCounts, make([]byte, 7)))),
			kind: ErrInvalid, message: "series 0: histogram 0: positive_counts: packed length 7 is not a multiple of 8"},
		{name: "sint32 schema overflow", in: v1Series([]string{"a", "b"}, fMsg(v1Histograms, fVarint(hSchema, 1<<33))),
			kind: ErrInvalid, message: "histogram 0: schema: 8589934592 overflows sint32"},
		{name: "span length overflow", in: v1Series([]string{"a", "b"}, fMsg(v1Histograms, fMsg(hPosSpans, fVarint(2, 1<<32)))),
			kind: ErrInvalid, message: "positive_spans: length: 4294967296 overflows uint32"},

		// Label rules, RW1.
		{name: "labels not sorted", in: v1Series([]string{"job", "node", "__name__", "up"}), kind: ErrInvalid, message: `series 0: label 1: labels not sorted: "__name__" after "job"`},
		{name: "duplicate label name", in: v1Series([]string{"job", "a", "job", "b"}), kind: ErrInvalid, message: `duplicate label name "job"`},
		{name: "empty label name", in: v1Series([]string{"", "x"}), kind: ErrInvalid, message: "empty label name"},
		{name: "empty label value", in: v1Series([]string{"__name__", "up", "job", ""}), kind: ErrInvalid, message: `label "job" has an empty value`},
		{name: "invalid UTF-8 in label name", in: v1Series([]string{"a\xffb", "x"}), kind: ErrInvalid, message: `label name "a\xffb" is not valid UTF-8`},
		{name: "invalid UTF-8 in label value", in: v1Series([]string{"a", "\xc3\x28"}), kind: ErrInvalid, message: `value "\xc3(" is not valid UTF-8`},
		{name: "series without labels", in: cat(validV1, v1Series(nil)), kind: ErrInvalid, message: "series 1: no labels"},
		{name: "exemplar labels not sorted", in: v1Series([]string{"a", "b"}, fMsg(v1Exemplars, v1Label(exemplarLabels, "trace_id", "1"), v1Label(exemplarLabels, "span_id", "2"))),
			kind: ErrInvalid, message: `series 0: exemplar 0: label 1: labels not sorted: "span_id" after "trace_id"`},
		{name: "invalid UTF-8 in help", in: fMsg(v1Metadata, fStr(v1MetaHelp, "\xff")), kind: ErrInvalid, message: "metadata 0: help"},

		// Histograms and enums.
		{name: "integer histogram with float buckets", in: v1Series([]string{"a", "b"}, fMsg(v1Histograms, fVarint(hCountInt, 1), fMsg(hPosSpans, fVarint(2, 1)), fMsg(hPosCounts, make([]byte, 8)))),
			kind: ErrInvalid, message: "histogram 0: integer histogram has float fields"},
		{name: "float histogram with integer zero count", in: v1Series([]string{"a", "b"}, fMsg(v1Histograms, fDouble(hCountFloat, 1), fVarint(hZeroCountInt, 1))),
			kind: ErrInvalid, message: "float histogram has integer fields"},
		{name: "spans not matching buckets", in: v1Series([]string{"a", "b"}, fMsg(v1Histograms, fVarint(hCountInt, 1), fMsg(hPosSpans, fVarint(2, 2)), fPacked(hPosDeltas, 2))),
			kind: ErrInvalid, message: "positive spans cover 2 buckets, but 1 bucket values are given"},
		{name: "unknown reset hint", in: v1Series([]string{"a", "b"}, fMsg(v1Histograms, fVarint(hResetHint, 4))), kind: ErrInvalid, message: "reset_hint: unknown value 4"},
		{name: "unknown metric type", in: fMsg(v1Metadata, fVarint(v1MetaType, 8)), kind: ErrInvalid, message: "metadata 0: type: unknown value 8"},
		{name: "negative metric type", in: fMsg(v1Metadata, fVarint(v1MetaType, ^uint64(0))), kind: ErrInvalid, message: "type: unknown value -1"},

		// Limits, RW1.
		{name: "too many series", lim: Limits{MaxSeries: 1}, in: cat(validV1, validV1), kind: ErrTooLarge, message: "2 series, limit 1"},
		{name: "too many metadata entries", lim: Limits{MaxSeries: 1}, in: cat(fMsg(v1Metadata), fMsg(v1Metadata)), kind: ErrTooLarge, message: "2 metadata entries, limit 1"},
		{name: "too many labels", lim: Limits{MaxLabels: 2}, in: v1Series([]string{"a", "1", "b", "2", "c", "3"}), kind: ErrTooLarge, message: "series 0: more than 2 labels"},
		{name: "too many samples", lim: Limits{MaxSamples: 2}, in: cat(validV1, validV1, validV1), kind: ErrTooLarge, message: "3 samples, histograms and exemplars, limit 2"},

		// RW2.
		{name: "symbols[0] not empty", v2: true, in: v2Syms("x", "y"), kind: ErrInvalid, message: `symbols[0] is "x", must be empty`},
		{name: "symbols as varint", v2: true, in: cat(testSymbols, fVarint(v2Symbols, 1)), kind: ErrInvalid, message: "symbols: wire type varint, want bytes"},
		{name: "invalid UTF-8 in symbol", v2: true, in: v2Syms("", "ok", "\xed\xa0\x80"), kind: ErrInvalid, message: "symbols[2]"},
		{name: "label reference out of range", v2: true, in: cat(testSymbols, fMsg(v2Timeseries, fPacked(v2LabelsRefs, 1, 7), v2Sample())),
			kind: ErrInvalid, message: "series 0: labels_refs[1] = 7 is out of range (7 symbols)"},
		{name: "references without symbols", v2: true, in: fMsg(v2Timeseries, fPacked(v2LabelsRefs, 0, 0)), kind: ErrInvalid, message: "labels_refs[0] = 0 is out of range (0 symbols)"},
		{name: "odd-length labels_refs", v2: true, in: cat(testSymbols, fMsg(v2Timeseries, fPacked(v2LabelsRefs, 1, 2, 3), v2Sample())),
			kind: ErrInvalid, message: "series 0: labels_refs has odd length 3"},
		{name: "labels_refs overflowing uint32", v2: true, in: cat(testSymbols, fMsg(v2Timeseries, fPacked(v2LabelsRefs, 1<<32+1, 2))),
			kind: ErrInvalid, message: "labels_refs: 4294967297 overflows uint32"},
		{name: "truncated packed labels_refs", v2: true, in: cat(testSymbols, fMsg(v2Timeseries, fMsg(v2LabelsRefs, []byte{0x01, 0x82}))),
			kind: ErrInvalid, message: "series 0: labels_refs: truncated"},
		{name: "labels not sorted (refs)", v2: true, in: cat(testSymbols, fMsg(v2Timeseries, fPacked(v2LabelsRefs, 6, 2, 5, 2), v2Sample())),
			kind: ErrInvalid, message: `series 0: labels not sorted: "b" after "c"`},
		{name: "empty label value (ref 0)", v2: true, in: cat(testSymbols, fMsg(v2Timeseries, fPacked(v2LabelsRefs, 1, 2, 3, 0), v2Sample())),
			kind: ErrInvalid, message: `label "job" has an empty value`},
		{name: "empty label name (ref 0)", v2: true, in: cat(testSymbols, fMsg(v2Timeseries, fPacked(v2LabelsRefs, 0, 2), v2Sample())),
			kind: ErrInvalid, message: "empty label name"},
		// A second series with the names of the first, which passed:
		// only its values are checked, with the same errors.
		{name: "empty label value after a series with the same names", v2: true, in: cat(testSymbols, fMsg(v2Timeseries, upJob, v2Sample()), fMsg(v2Timeseries, fPacked(v2LabelsRefs, 1, 2, 3, 0), v2Sample())),
			kind: ErrInvalid, message: `series 1: label "job" has an empty value`},
		// As many labels as the first series, other names: all checked.
		{name: "labels not sorted after a series of as many labels", v2: true, in: cat(testSymbols, fMsg(v2Timeseries, upJob, v2Sample()), fMsg(v2Timeseries, fPacked(v2LabelsRefs, 3, 4, 1, 2), v2Sample())),
			kind: ErrInvalid, message: `series 1: labels not sorted: "__name__" after "job"`},
		{name: "duplicate name after a series of as many labels", v2: true, in: cat(testSymbols, fMsg(v2Timeseries, upJob, v2Sample()), fMsg(v2Timeseries, fPacked(v2LabelsRefs, 1, 2, 1, 4), v2Sample())),
			kind: ErrInvalid, message: `series 1: duplicate label name "__name__"`},
		{name: "name reference out of range after a series of as many labels", v2: true, in: cat(testSymbols, fMsg(v2Timeseries, upJob, v2Sample()), fMsg(v2Timeseries, fPacked(v2LabelsRefs, 9, 2, 3, 4), v2Sample())),
			kind: ErrInvalid, message: "series 1: labels_refs[0] = 9 is out of range (7 symbols)"},
		{name: "value reference out of range after a series with the same names", v2: true, in: cat(testSymbols, fMsg(v2Timeseries, upJob, v2Sample()), fMsg(v2Timeseries, fPacked(v2LabelsRefs, 1, 9, 3, 4), v2Sample())),
			kind: ErrInvalid, message: "series 1: labels_refs[1] = 9 is out of range (7 symbols)"},
		{name: "series without labels (RW2)", v2: true, in: cat(testSymbols, fMsg(v2Timeseries, v2Sample())), kind: ErrInvalid, message: "series 0: no labels"},
		{name: "samples and histograms in one series", v2: true, in: cat(testSymbols, fMsg(v2Timeseries, upJob, v2Sample(), fMsg(v2Histograms, fVarint(hCountInt, 0)))),
			kind: ErrInvalid, message: "series 0: both samples and histograms"},
		{name: "help_ref out of range", v2: true, in: cat(testSymbols, fMsg(v2Timeseries, upJob, v2Sample(), fMsg(v2Metadata, fVarint(v2MetaHelpRef, 9)))),
			kind: ErrInvalid, message: "series 0: metadata: help_ref = 9 is out of range"},
		{name: "unit_ref as fixed32", v2: true, in: cat(testSymbols, fMsg(v2Timeseries, upJob, v2Sample(), fMsg(v2Metadata, fFixed32(v2MetaUnitRef, 1)))),
			kind: ErrInvalid, message: "metadata: unit_ref: wire type fixed32, want varint"},
		{name: "exemplar reference out of range", v2: true, in: cat(testSymbols, fMsg(v2Timeseries, upJob, v2Sample(), fMsg(v2Exemplars, fPacked(exemplarLabels, 5, 70)))),
			kind: ErrInvalid, message: "series 0: exemplar 0: labels_refs[1] = 70 is out of range"},
		{name: "exemplar with odd labels_refs", v2: true, in: cat(testSymbols, fMsg(v2Timeseries, upJob, v2Sample(), fMsg(v2Exemplars, fPacked(exemplarLabels, 5)))),
			kind: ErrInvalid, message: "exemplar 0: labels_refs has odd length 1"},
		{name: "sample start_timestamp as fixed64", v2: true, in: cat(testSymbols, fMsg(v2Timeseries, upJob, fMsg(v2Samples, fFixed64(sampleStart, 1)))),
			kind: ErrInvalid, message: "series 0: sample 0: start_timestamp: wire type fixed64, want varint"},
		// The metadata memo: a series whose first metadata has the bytes of
		// the last series' still has a second one checked.
		{name: "help_ref out of range in a second metadata after a remembered one", v2: true, in: cat(testSymbols,
			fMsg(v2Timeseries, upJob, v2Sample(), fMsg(v2Metadata, fVarint(v2MetaType, 1))),
			fMsg(v2Timeseries, upJob, v2Sample(), fMsg(v2Metadata, fVarint(v2MetaType, 1)), fMsg(v2Metadata, fVarint(v2MetaHelpRef, 9)))),
			kind: ErrInvalid, message: "series 1: metadata: help_ref = 9 is out of range"},
		{name: "metadata refused after other metadata was remembered", v2: true, in: cat(testSymbols,
			fMsg(v2Timeseries, upJob, v2Sample(), fMsg(v2Metadata, fVarint(v2MetaType, 1))),
			fMsg(v2Timeseries, upJob, v2Sample(), fMsg(v2Metadata, fVarint(v2MetaType, 9)))),
			kind: ErrInvalid, message: "series 1: metadata: type: unknown value 9"},
		// The samples' fast path: what looks like value and timestamp at
		// first, but is not only that.
		{name: "sample whose timestamp is truncated", v2: true, in: cat(testSymbols,
			fMsg(v2Timeseries, upJob, fMsg(v2Samples, fFixed64(sampleValue, 1), []byte{0x10, 0x80, 0x80}))),
			kind: ErrInvalid, message: "series 0: sample 0: truncated"},
		{name: "sample with a start timestamp of the wrong type after its timestamp", v2: true, in: cat(testSymbols,
			fMsg(v2Timeseries, upJob, fMsg(v2Samples, fFixed64(sampleValue, 1), fVarint(sampleTimestamp, 1<<40), fFixed64(sampleStart, 1)))),
			kind: ErrInvalid, message: "series 0: sample 0: start_timestamp: wire type fixed64, want varint"},
		{name: "too many labels (refs)", v2: true, lim: Limits{MaxLabels: 1}, in: cat(testSymbols, fMsg(v2Timeseries, upJob, v2Sample())),
			kind: ErrTooLarge, message: "labels_refs: more than 3 entries"},
		{name: "too many series (RW2)", v2: true, lim: Limits{MaxSeries: 1}, in: cat(testSymbols, fMsg(v2Timeseries, upJob, v2Sample()), fMsg(v2Timeseries, upJob, v2Sample())),
			kind: ErrTooLarge, message: "2 series, limit 1"},
		{name: "too many samples (RW2)", v2: true, lim: Limits{MaxSamples: 1}, in: cat(testSymbols, fMsg(v2Timeseries, upJob, v2Sample(), v2Sample())),
			kind: ErrTooLarge, message: "2 samples, histograms and exemplars, limit 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decode := DecodeV1
			if tt.v2 {
				decode = DecodeV2
			}
			req, err := decode(tt.in, tt.lim)
			if err == nil {
				t.Fatalf("decoded without error:\n%s", dump(req))
			}
			shortcuts = false
			_, plain := decode(tt.in, tt.lim)
			shortcuts = true
			if plain == nil || plain.Error() != err.Error() {
				t.Errorf("without the shortcuts: %v, with them: %v", plain, err)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("error %q does not wrap %q", err, tt.kind)
			}
			for _, other := range []error{ErrInvalid, ErrTooLarge, ErrUnsupported} {
				if other != tt.kind && errors.Is(err, other) {
					t.Errorf("error %q also wraps %q", err, other)
				}
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not say %q", err, tt.message)
			}
		})
	}
}

// TestDecodeAcceptsProtobufVariants: what any protobuf encoder may produce
// and a proto3 decoder must accept.
func TestDecodeAcceptsProtobufVariants(t *testing.T) {
	unknown := cat(fVarint(99, 1), fFixed64(100, 2), fFixed32(101, 3), fStr(102, "x"), fGroup(103, fVarint(1, 1), fGroup(2)))
	tests := []struct {
		name string
		v2   bool
		in   []byte
		want string // dump of the decoded request
	}{
		{
			name: "unknown fields of every wire type are skipped",
			in: cat(unknown, fMsg(v1Timeseries, unknown,
				fMsg(v1Labels, unknown, fStr(labelName, "a"), fStr(labelValue, "b")),
				fMsg(v1Samples, unknown, fDouble(sampleValue, 1), fVarint(sampleStart, 5)),
				fMsg(v1Histograms, unknown, fVarint(hCountInt, 3), fVarint(hStartTimestamp, 7)),
			)),
			want: "series 0: \"a\"=\"b\"\n  sample v=0x3ff0000000000000 t=0 st=0\n  histogram t=0 st=0 int hint=0 schema=0 zt=0x0 zc=0 c=3 sum=0x0 pos=[][] neg=[][] cv=[]\n",
		},
		{
			name: "label with value before name and a long value",
			in: fMsg(v1Timeseries,
				fMsg(v1Labels, fStr(labelValue, strings.Repeat("v", 200)), fStr(labelName, "a")),
				fMsg(v1Labels, fStr(labelName, "b"), fStr(labelValue, "x"), fStr(labelValue, "y")),
			),
			want: "series 0: \"a\"=\"" + strings.Repeat("v", 200) + "\" \"b\"=\"y\"\n",
		},
		{
			name: "fields in any order, last scalar wins",
			in: fMsg(v1Timeseries,
				fMsg(v1Samples, fVarint(sampleTimestamp, 5), fDouble(sampleValue, 1), fVarint(sampleTimestamp, 6)),
				v1Label(v1Labels, "a", "b"),
			),
			want: "series 0: \"a\"=\"b\"\n  sample v=0x3ff0000000000000 t=6 st=0\n",
		},
		{
			name: "unpacked and split repeated scalars",
			v2:   true,
			in: cat(fMsg(v2Timeseries, fVarint(v2LabelsRefs, 1), fPacked(v2LabelsRefs, 2, 3), fVarint(v2LabelsRefs, 4),
				fMsg(v2Histograms, fVarint(hCountInt, 3), fMsg(hPosSpans, fVarint(2, 2)), fVarint(hPosDeltas, protowire.EncodeZigZag(-1)), fPacked(hPosDeltas, 4))),
				testSymbols),
			want: "series 0: \"__name__\"=\"up\" \"job\"=\"node\"\n  histogram t=0 st=0 int hint=0 schema=0 zt=0x0 zc=0 c=3 sum=0x0 pos=[{0 2}][-1 2] neg=[][] cv=[]\n",
		},
		{
			name: "symbols after the series, metadata merged",
			v2:   true,
			in: cat(fMsg(v2Timeseries, fPacked(v2LabelsRefs, 1, 2), v2Sample(),
				fMsg(v2Metadata, fVarint(v2MetaType, 2), fVarint(v2MetaHelpRef, 3)),
				fMsg(v2Metadata, fVarint(v2MetaUnitRef, 4))),
				testSymbols),
			want: "series 0: \"__name__\"=\"up\"\n  metadata type=2 help=\"job\" unit=\"node\"\n  sample v=0x3ff0000000000000 t=1000 st=0\n",
		},
		{
			name: "a remembered metadata merged with a second one",
			v2:   true,
			in: cat(testSymbols,
				fMsg(v2Timeseries, fPacked(v2LabelsRefs, 1, 2), fMsg(v2Metadata, fVarint(v2MetaType, 2), fVarint(v2MetaHelpRef, 3))),
				fMsg(v2Timeseries, fPacked(v2LabelsRefs, 1, 5), fMsg(v2Metadata, fVarint(v2MetaType, 2), fVarint(v2MetaHelpRef, 3)),
					fMsg(v2Metadata, fVarint(v2MetaUnitRef, 4))),
				fMsg(v2Timeseries, fPacked(v2LabelsRefs, 1, 6), fMsg(v2Metadata, fVarint(v2MetaType, 2), fVarint(v2MetaHelpRef, 3)))),
			want: "series 0: \"__name__\"=\"up\"\n  metadata type=2 help=\"job\" unit=\"\"\n" +
				"series 1: \"__name__\"=\"b\"\n  metadata type=2 help=\"job\" unit=\"node\"\n" +
				"series 2: \"__name__\"=\"c\"\n  metadata type=2 help=\"job\" unit=\"\"\n",
		},
		{
			// Series 0's second metadata field decodes merged with its
			// first; series 1's only field has the second one's bytes and
			// must decode to them alone.
			name: "a metadata field with the bytes of another series' second one",
			v2:   true,
			in: cat(testSymbols,
				fMsg(v2Timeseries, fPacked(v2LabelsRefs, 1, 2),
					fMsg(v2Metadata, fVarint(v2MetaType, 2), fVarint(v2MetaHelpRef, 3)),
					fMsg(v2Metadata, fVarint(v2MetaUnitRef, 4))),
				fMsg(v2Timeseries, fPacked(v2LabelsRefs, 1, 5),
					fMsg(v2Metadata, fVarint(v2MetaUnitRef, 4)))),
			want: "series 0: \"__name__\"=\"up\"\n  metadata type=2 help=\"job\" unit=\"node\"\n" +
				"series 1: \"__name__\"=\"b\"\n  metadata type=0 help=\"\" unit=\"node\"\n",
		},
		{
			name: "samples that start like value and timestamp",
			v2:   true,
			in: cat(testSymbols, fMsg(v2Timeseries, fPacked(v2LabelsRefs, 1, 2),
				fMsg(v2Samples, fFixed64(sampleValue, 1), fVarint(sampleTimestamp, 1<<40)),
				fMsg(v2Samples, fFixed64(sampleValue, 2), fVarint(sampleTimestamp, 5), fVarint(sampleStart, 3)),
				fMsg(v2Samples, fFixed64(sampleValue, 3), fVarint(sampleTimestamp, 6), fVarint(sampleTimestamp, 7)),
				fMsg(v2Samples, fFixed64(sampleValue, 4), fVarint(sampleTimestamp, 8), unknown),
			)),
			want: "series 0: \"__name__\"=\"up\"\n  sample v=0x0000000000000001 t=1099511627776 st=0\n  sample v=0x0000000000000002 t=5 st=3\n  sample v=0x0000000000000003 t=7 st=0\n  sample v=0x0000000000000004 t=8 st=0\n",
		},
		{
			name: "exemplar-only series, as Prometheus sends them",
			v2:   true,
			in:   cat(testSymbols, fMsg(v2Timeseries, fPacked(v2LabelsRefs, 1, 2), fMsg(v2Exemplars, fDouble(exemplarValue, 2)))),
			want: "series 0: \"__name__\"=\"up\"\n  exemplar v=0x4000000000000000 t=0\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decode := DecodeV1
			if tt.v2 {
				decode = DecodeV2
			}
			for _, on := range []bool{true, false} {
				shortcuts = on
				req, err := decode(tt.in, Limits{})
				shortcuts = true
				if err != nil {
					t.Fatal(err)
				}
				if got := dump(req); got != tt.want {
					t.Errorf("shortcuts %v: got\n%s\nwant\n%s", on, got, tt.want)
				}
			}
		})
	}
}
