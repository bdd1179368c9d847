package scrape

import (
	"bytes"
	stdgzip "compress/gzip"
	"io"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

// BenchmarkGunzipScrapeBody compares the standard library's gzip reader
// with klauspost/compress's on a gzip-compressed 1000-series exposition,
// the decompression every scrape with Accept-Encoding: gzip pays.
func BenchmarkGunzipScrapeBody(b *testing.B) {
	plain := nodeExposition(1000, 3)
	var z bytes.Buffer
	zw := stdgzip.NewWriter(&z)
	zw.Write(plain)
	zw.Close()
	var out bytes.Buffer
	b.Run("stdlib", func(b *testing.B) {
		zr, _ := stdgzip.NewReader(bytes.NewReader(z.Bytes()))
		b.SetBytes(int64(len(plain)))
		b.ReportAllocs()
		for b.Loop() {
			zr.Reset(bytes.NewReader(z.Bytes()))
			out.Reset()
			io.Copy(&out, zr)
		}
	})
	// What a scrape reads from is an HTTP body, not a bytes.Reader: the
	// inflater then reads through a bufio.Reader of its own.
	b.Run("klauspost-stream", func(b *testing.B) {
		zr, _ := kgzip.NewReader(bytes.NewReader(z.Bytes()))
		b.SetBytes(int64(len(plain)))
		b.ReportAllocs()
		for b.Loop() {
			zr.Reset(struct{ io.Reader }{bytes.NewReader(z.Bytes())})
			out.Reset()
			out.ReadFrom(zr)
		}
	})
	// The compressed body read into a buffer first, then inflated from it.
	b.Run("klauspost-buffered", func(b *testing.B) {
		zr, _ := kgzip.NewReader(bytes.NewReader(z.Bytes()))
		var in bytes.Buffer
		b.SetBytes(int64(len(plain)))
		b.ReportAllocs()
		for b.Loop() {
			in.Reset()
			in.ReadFrom(struct{ io.Reader }{bytes.NewReader(z.Bytes())})
			zr.Reset(bytes.NewReader(in.Bytes()))
			out.Reset()
			out.ReadFrom(zr)
		}
	})
	b.Run("klauspost", func(b *testing.B) {
		zr, _ := kgzip.NewReader(bytes.NewReader(z.Bytes()))
		b.SetBytes(int64(len(plain)))
		b.ReportAllocs()
		for b.Loop() {
			zr.Reset(bytes.NewReader(z.Bytes()))
			out.Reset()
			out.ReadFrom(zr)
		}
	})
}
