package sender

// interleave reorders the batch so that the first series of every piece
// come first, then the second series of every piece, and so on. Targets of
// one job usually expose the same series in the same order, so this puts
// the same series of different targets next to each other: their encoded
// forms differ only in the target's labels, the timestamp and the value,
// and the compressor codes each as a short literal and a match at a
// repeated offset. On the end-to-end benchmark's load, ten scrapes to a
// request, the zstd-compressed RW2 request is 8% smaller (7.42 instead of
// 8.08 bytes per sample); on series whose values all differ between
// targets it is 4% larger (BenchmarkInterleavedRequest). The cost is one
// copy of the series entries.
//
// Each series still appears once in the request and a piece's samples of
// one series stay in order, so nothing a receiver checks changes; only the
// order of series within the request, which carries no meaning.
func (l *lane) interleave() {
	if len(l.ends) < 2 {
		return
	}
	// spans holds the unconsumed range of each piece that still has one.
	spans := l.spans[:0]
	start := 0
	for _, end := range l.ends {
		if end > start {
			spans = append(spans, span{start, end})
		}
		start = end
	}
	l.spans = spans
	if len(spans) < 2 {
		return
	}
	out := l.spare[:0]
	for len(spans) > 0 {
		live := spans[:0]
		for _, sp := range spans {
			out = append(out, l.req.Series[sp.next])
			if sp.next++; sp.next < sp.end {
				live = append(live, sp)
			}
		}
		spans = live
	}
	// The old order's slice becomes the spare; it must not keep the
	// batch's labels and samples alive after the batch is done.
	clear(l.req.Series)
	l.spare, l.req.Series = l.req.Series[:0], out
}

// span is the part of a piece's series interleave has not yet placed.
type span struct{ next, end int }
