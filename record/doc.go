// Package record is the codec between series data and log records: what the
// scraper and the receiver append to the wal, and what a sender decodes back.
//
// There are two record kinds.
//
// # KindStream: one scrape of one target
//
// Successive scrapes of a target form a stream. The first record of a stream
// in a segment is a keyframe that defines every series it uses; later records
// define only new series and refer to the others by their index in the
// stream. Values are stored as the XOR with the series' previous value, so an
// unchanged value costs one byte before compression and almost nothing after.
// A decoder therefore needs the stream's earlier records in the same segment;
// the wal replays a segment from its start for that reason, and a keyframe is
// forced at every segment start, after every failed append, and every
// KeyframeInterval records so that a corrupt record costs a bounded number of
// scrapes of one target.
//
// Integers are unsigned LEB128 varints (uvarint) unless marked zigzag
// (signed varint). A string is a uvarint length followed by its bytes.
//
//	field           encoding
//	stream id       uvarint; unique per target within one ferry process,
//	                non-zero; its low StreamSlotBits bits are derived from
//	                the target's identity (see StreamSlotBits)
//	sequence        uvarint; 0 on a keyframe, then 1, 2, ... per record
//	flags           byte: bit 0 keyframe, 1 per-sample timestamps,
//	                2 start timestamps, 3 histograms, 4 exemplars;
//	                bits 5-7 must be zero in this version
//	timestamp       zigzag; milliseconds, the timestamp of every sample
//	                unless per-sample timestamps are present
//	definitions     uvarint count, then per new series (its index is the
//	                next unused one, starting at 0 on a keyframe):
//	                  uvarint label count, then name and value strings,
//	                  sorted by name;
//	                  byte metric type (remote.MetricType);
//	                  string help; string unit;
//	                  string metric family name as exposed ("" if unknown)
//	sample count    uvarint n (float samples)
//	runs            uvarint count, then per run: zigzag start (relative to
//	                the end of the previous run, 0 at first) and uvarint
//	                length. The runs list the series index of each of the n
//	                samples in order.
//	controls        n bytes, one per sample: high nibble = leading zero
//	                bytes L of x, low nibble = trailing zero bytes T, where
//	                x = bits(value) XOR bits(previous value of the series),
//	                the previous value being 0 for a newly defined series.
//	                x == 0 is written as 0x80.
//	value bytes     per sample, the 8-L-T middle bytes of x, big endian
//	timestamps      flag bit 1: per sample, zigzag of
//	                (sample timestamp - record timestamp)
//	start times     flag bit 2: per sample, zigzag of (start timestamp -
//	                the series' previous start timestamp), the previous one
//	                being 0 after a definition; a start timestamp of 0 means
//	                unknown. Without the flag, samples have none and the
//	                per-series base is unchanged.
//	histograms      flag bit 3: uvarint count, then per native histogram
//	                sample: uvarint series index and the histogram as laid
//	                out in histogram.go (appendHistogram)
//	exemplars       flag bit 4: uvarint count, then per exemplar: uvarint
//	                series index, uvarint label count, name and value
//	                strings, 8-byte little-endian float64 value, zigzag
//	                (exemplar timestamp - record timestamp)
//
// The wal compresses the whole payload with zstd; the columns are laid out so
// that it finds the runs of 0x80 control bytes of unchanged values.
//
// # KindBatch: one received request
//
// The payload is a Remote-Write 2.0 request (io.prometheus.write.v2.Request)
// as encoded by package remote, self-contained and decodable on its own.
//
// The receiver ends every payload with one more protobuf field that RW2
// does not define, the tenant the data was received for (AppendBatchTenant,
// BatchTenant):
//
//	field           encoding
//	tag             uvarint (1000 << 3 | 2) = 0xc2 0x3e
//	tenant          uvarint length, then that many bytes of UTF-8
//	                (at most MaxTenantLen); empty when the request named
//	                no tenant
//
// RW2 decoders skip the field as unknown, so payloads without it (written
// before it existed) and decoders that ignore it both keep working. Only the
// last occurrence counts: a client that put field 1000 in the request it
// sent cannot pick the tenant of its data.
package record
