package wal

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

const (
	frameHeaderSize = 24
	// MaxRecordSize is the largest payload a record may have.
	MaxRecordSize = 256 << 20

	// KindTrailer is the frame kind of the seal trailer. Codec kinds are 1..254.
	KindTrailer     = 255
	trailerPayload  = 40
	trailerSize     = frameHeaderSize + trailerPayload
	flagZstd        = 1 << 0
	flagS2          = 1 << 1
	knownFrameFlags = flagZstd | flagS2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameHeader is the decoded fixed part of a frame.
type frameHeader struct {
	crc   uint32
	size  uint32
	time  int64
	count uint32
	kind  uint8
	flags uint8
}

// putFrameHeader writes h (without the CRC, which covers the payload too) into b[:24].
func putFrameHeader(b []byte, size uint32, time int64, count uint32, kind, flags uint8) {
	binary.LittleEndian.PutUint32(b[4:], size)
	binary.LittleEndian.PutUint64(b[8:], uint64(time))
	binary.LittleEndian.PutUint32(b[16:], count)
	b[20] = kind
	b[21] = flags
	b[22], b[23] = 0, 0
}

// sealFrame computes the CRC over header and payload and stores it. frame
// must hold the header followed by the payload.
func sealFrame(frame []byte) {
	binary.LittleEndian.PutUint32(frame[0:], crc32.Checksum(frame[4:], castagnoli))
}

func parseFrameHeader(b []byte) frameHeader {
	return frameHeader{
		crc:   binary.LittleEndian.Uint32(b[0:]),
		size:  binary.LittleEndian.Uint32(b[4:]),
		time:  int64(binary.LittleEndian.Uint64(b[8:])),
		count: binary.LittleEndian.Uint32(b[16:]),
		kind:  b[20],
		flags: b[21],
	}
}

// plausible reports whether a header could be a real frame header, before its
// CRC is checked. It keeps resynchronisation cheap: random bytes almost never
// pass, so the CRC over a large payload is rarely computed in vain.
func (h frameHeader) plausible(b []byte) bool {
	if h.kind == 0 || h.size > MaxRecordSize || h.flags&^knownFrameFlags != 0 {
		return false
	}
	if b[22] != 0 || b[23] != 0 {
		return false
	}
	if h.kind == KindTrailer && h.size != trailerPayload {
		return false
	}
	return h.time >= 0
}

// frameValid checks the CRC of a complete frame (header and payload).
func frameValid(frame []byte) bool {
	return binary.LittleEndian.Uint32(frame[0:]) == crc32.Checksum(frame[4:], castagnoli)
}

// trailer is the payload of a seal trailer frame.
type trailer struct {
	records   uint64
	count     uint64
	firstTime int64
	lastTime  int64
	offset    int64
}

func (t trailer) frame() []byte {
	b := make([]byte, trailerSize)
	putFrameHeader(b, trailerPayload, t.lastTime, 0, KindTrailer, 0)
	p := b[frameHeaderSize:]
	binary.LittleEndian.PutUint64(p[0:], t.records)
	binary.LittleEndian.PutUint64(p[8:], t.count)
	binary.LittleEndian.PutUint64(p[16:], uint64(t.firstTime))
	binary.LittleEndian.PutUint64(p[24:], uint64(t.lastTime))
	binary.LittleEndian.PutUint64(p[32:], uint64(t.offset))
	sealFrame(b)
	return b
}

var errNoTrailer = errors.New("no valid seal trailer")

// parseTrailer decodes the last trailerSize bytes of a segment of the given size.
func parseTrailer(b []byte, fileSize int64) (trailer, error) {
	if len(b) != trailerSize || !frameValid(b) {
		return trailer{}, errNoTrailer
	}
	h := parseFrameHeader(b)
	if h.kind != KindTrailer || h.size != trailerPayload {
		return trailer{}, errNoTrailer
	}
	p := b[frameHeaderSize:]
	t := trailer{
		records:   binary.LittleEndian.Uint64(p[0:]),
		count:     binary.LittleEndian.Uint64(p[8:]),
		firstTime: int64(binary.LittleEndian.Uint64(p[16:])),
		lastTime:  int64(binary.LittleEndian.Uint64(p[24:])),
		offset:    int64(binary.LittleEndian.Uint64(p[32:])),
	}
	if t.offset != fileSize-trailerSize {
		return trailer{}, errNoTrailer
	}
	return t, nil
}
