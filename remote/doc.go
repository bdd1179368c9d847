// Package remote is the Prometheus Remote-Write wire protocol, versions 1.0
// (RW1) and 2.0 (RW2), without any I/O: it turns a Request into protobuf
// bytes and back, compresses and decompresses bodies, and reads and writes
// the protocol's HTTP headers. The sender and the receiver do the I/O.
//
// # Usage
//
// A sender encodes into reused buffers, so steady-state sending does not
// allocate:
//
//	var st remote.SymbolTable
//	body = remote.AppendV2(body[:0], req, &st)
//	wire, err = remote.Compress(wire[:0], body, remote.EncodingSnappy)
//	// POST wire with Content-Type remote.ContentTypeV2,
//	// Content-Encoding snappy, X-Prometheus-Remote-Write-Version 2.0.0.
//
// A receiver maps each error class to a status code:
//
//	msg, err := remote.ParseContentType(r.Header.Get("Content-Type"))     // ErrUnsupported: 415
//	enc, err := remote.ParseContentEncoding(r.Header.Get("Content-Encoding"))
//	body, err := remote.Decompress(body[:0], wire, enc, maxBodySize)     // ErrTooLarge: 413
//	req, err := remote.DecodeV2(body, remote.Limits{})                   // ErrInvalid: 400
//
// A relay that stores RW2 needs less than a decoded Request: CheckV2 makes
// DecodeV2's checks without building label sets, and a Transcoder turns
// RW1 into RW2 in one pass with DecodeV1's checks. Both give the same
// errors as the decoders and allocate nothing in steady state.
//
// # Decoding hostile input
//
// DecodeV1 and DecodeV2 (and CheckV2, TranscodeV1 and DecodeStoredV2, which
// share their code) never panic and allocate memory in proportion to
// the bytes they are given, never to a count or length the input claims.
// They are strict: an error says what was wrong and where ("series 12:
// labels not sorted: "b" after "c"") and wraps ErrInvalid or, for Limits,
// ErrTooLarge. Unknown fields are skipped, as proto3 requires, and repeated
// scalar fields are accepted packed or not. Both protocols require, of every
// label set: at least one label (exemplars may have none), names sorted
// byte-wise and unique, no empty name or value, valid UTF-8 (any UTF-8 in
// names). Histograms must not mix integer and float fields, and their spans
// must cover exactly their buckets; further validation is
// histogram.Histogram.Validate's. DecodeStoredV2, which reads requests
// back from the log that were checked when they were stored, trusts them
// on label sets and UTF-8 and has no Limits, but refuses anything it
// could not read safely.
//
// # RW1: prometheus.WriteRequest
//
// The supported fields, with their numbers, are those of prompb/remote.proto
// and prompb/types.proto in Prometheus:
//
//	WriteRequest    timeseries=1 (TimeSeries)  metadata=3 (MetricMetadata)
//	TimeSeries      labels=1 (Label)  samples=2 (Sample)  exemplars=3 (Exemplar)
//	                histograms=4 (Histogram)
//	Label           name=1  value=2
//	Sample          value=1 (double)  timestamp=2 (int64, ms)
//	Exemplar        labels=1 (Label)  value=2 (double)  timestamp=3 (int64)
//	MetricMetadata  type=1 (enum, as MetricType)  metric_family_name=2
//	                help=4  unit=5
//	Histogram       see below, fields 1 to 16
//
// RW1 has no start timestamps and no per-series metadata: AppendV1 drops
// Sample.StartTimestamp, Histogram.StartTimestamp and Series.Metadata and
// writes Request.FamilyMetadata; DecodeV1 leaves them zero. The field
// reserved 2 is skipped like any unknown field. AppendV1's output is
// byte-for-byte what Prometheus' generated code writes for the same data.
//
// # RW2: io.prometheus.write.v2.Request
//
// The supported fields are those of prompb/io/prometheus/write/v2/types.proto:
//
//	Request     symbols=4 (string, symbols[0] must be "")  timeseries=5 (TimeSeries)
//	TimeSeries  labels_refs=1 (packed uint32 name/value pairs)  samples=2 (Sample)
//	            histograms=3 (Histogram)  exemplars=4 (Exemplar)  metadata=5 (Metadata)
//	Sample      value=1 (double)  timestamp=2 (int64)  start_timestamp=3 (int64, 0 = unset)
//	Exemplar    labels_refs=1 (packed uint32)  value=2 (double)  timestamp=3 (int64)
//	Metadata    type=1 (enum, as MetricType)  help_ref=3  unit_ref=4
//	Histogram   see below, fields 1 to 17
//
// A TimeSeries carries samples or histograms, never both; one with only
// exemplars is accepted, as Prometheus sends those. Request.FamilyMetadata
// has no place in RW2: AppendV2 ignores it and DecodeV2 leaves it empty.
// AppendV2 writes a series' Metadata only when it is not zero.
//
// # Histogram (both protocols)
//
//	count_int=1 (uint64) | count_float=2 (double)      one of; its kind decides H or FH
//	sum=3 (double)  schema=4 (sint32)  zero_threshold=5 (double)
//	zero_count_int=6 (uint64) | zero_count_float=7 (double)
//	negative_spans=8 (BucketSpan)  negative_deltas=9 (packed sint64)  negative_counts=10 (packed double)
//	positive_spans=11 (BucketSpan) positive_deltas=12 (packed sint64) positive_counts=13 (packed double)
//	reset_hint=14 (enum, as histogram.CounterResetHint)  timestamp=15 (int64)
//	custom_values=16 (packed double, bounds of schema -53)
//	start_timestamp=17 (int64, RW2 only)
//	BucketSpan  offset=1 (sint32)  length=2 (uint32)
//
// An integer histogram (Histogram.H) is written with count_int,
// zero_count_int and the *_deltas fields; a float histogram (Histogram.FH)
// with count_float, zero_count_float and the *_counts fields. The two
// count fields are always written, even when zero, because they tell the
// kinds apart.
//
// Every double is written and read bit for bit: the stale marker NaN
// 0x7ff0000000000002 and -0 survive a round trip.
//
// # Compression and headers
//
// Bodies are compressed with snappy in the block format (never framed) or
// with zstd (Encoding, Compress, Decompress). The Content-Type,
// X-Prometheus-Remote-Write-Version and the three
// X-Prometheus-Remote-Write-*-Written headers are in headers.go.
package remote
