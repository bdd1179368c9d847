// Package wal is ferry's durable record log: every scraped or received sample
// is appended here before any destination sees it, and each destination reads
// it back through its own named cursor.
//
// The log stores opaque records. It knows a record's kind (a byte chosen by
// the codec), its append time and a count (the number of samples it holds,
// used to report drops); it knows nothing else about samples.
//
// # Guarantees
//
//   - A record is returned to readers only after it has been written to the
//     segment file. It is on stable storage after the next sync: at least
//     every Options.FsyncInterval, or before Sync returns for its position.
//     Appends, segment rolls and readers never wait for an fsync in
//     progress; only callers of Sync do.
//   - A segment is deleted only when every cursor's persisted position is past
//     it, or when Options.MaxSize or Options.MaxAge forces it; a forced
//     deletion is counted per cursor in records and samples, and logged.
//   - Open never fails because of damaged data: a torn tail is cut, a record
//     with a bad checksum is skipped (readers resynchronise on the next valid
//     frame) and counted, an unreadable segment is skipped and counted.
//     Open refuses, with a clear error, a log written in a newer format.
//   - Inspect reads a log, damaged or not, without changing a byte of it.
//
// # Directory layout
//
//	<dir>/segments/<seq>.seg     segment files; <seq> is 16 hex digits
//	<dir>/cursors/<name>.cursor  one per cursor; <name> is path-escaped
//
// # Segment file
//
// A segment starts with a 32-byte header, followed by frames. All integers
// are little endian. CRC is CRC-32C (Castagnoli).
//
//	offset size field
//	0      4    magic "FRYL"
//	4      2    format version (2; 1 before s2 payloads, read as well)
//	6      2    reserved, zero
//	8      8    segment sequence number (matches the file name)
//	16     8    creation time, Unix milliseconds
//	24     4    reserved, zero
//	28     4    CRC of bytes 0..28
//
// # Frame
//
// Every record is one frame:
//
//	offset size field
//	0      4    CRC of bytes 4..24+N
//	4      4    N, payload length (at most MaxRecordSize)
//	8      8    append time, Unix milliseconds
//	16     4    count: samples carried by the record
//	20     1    kind: 1..254 belong to the codec; 255 is the seal trailer
//	21     1    flags: bit 0 = payload is a zstd frame; bit 1 = payload is
//	            an s2 block (Entry.Fast); at most one of the two is set,
//	            and other bits are zero
//	22     2    reserved, zero
//	24     N    payload
//
// Because the CRC covers the length, a reader that meets a bad frame can scan
// forward for the next offset where a header with plausible fields and a
// matching CRC starts, and continue there.
//
// # Seal trailer
//
// When a segment is closed in good order its last frame is a trailer of kind
// 255 with a 40-byte payload, so Open learns a sealed segment's statistics by
// reading its last 64 bytes instead of scanning it:
//
//	offset size field
//	0      8    records in the segment, trailer excluded
//	8      8    sum of the records' counts
//	16     8    append time of the first record, Unix ms (0 when empty)
//	24     8    append time of the last record, Unix ms (0 when empty)
//	32     8    file offset at which the trailer starts
//
// # Cursor file
//
// A cursor file holds two 64-byte slots. Commits alternate between them, so a
// write torn by a crash always leaves the other slot intact; Open takes the
// valid slot with the higher generation.
//
//	offset size field
//	0      4    magic "FRYC"
//	4      2    format version (2; 1 is read as well)
//	6      2    reserved, zero
//	8      8    generation, incremented by every write
//	16     8    segment sequence number of the position
//	24     8    byte offset of the position within that segment
//	32     8    append time of the last committed record, Unix ms
//	40     20   reserved, zero
//	60     4    CRC of bytes 0..60
//
// A position is the offset of the next record to deliver: everything before
// it has been acknowledged by the destination.
package wal
