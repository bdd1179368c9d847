package sender

import "github.com/ferrymetrics/ferry/remote"

// interleave reorders the batch so that the first series of every piece
// come first, then the second series of every piece, and so on. Targets of
// one job usually expose the same series in the same order, so this puts
// the same series of different targets next to each other: their encoded
// forms differ only in the target's labels, the timestamp and the value,
// and the compressor codes each as a short literal and a match at a
// repeated offset. On ten scrapes of the end-to-end benchmark's load
// (loadgenBatch(10)), the zstd-compressed RW2 request is 18% smaller (6.62 instead of
// 8.06 bytes per sample); on series whose values all differ between
// targets it is 6% larger (BenchmarkInterleavedRequest). It costs
// nothing beyond gathering the series into the request, which any order
// needs: they stay in their pieces until now. Only a batch that was
// gathered, because a piece shared a slot with an earlier one, already
// holds its series and is reordered with one more copy. The request
// holds pointers to the series, which stay in their pieces until the
// batch is done.
//
// Each series still appears once in the request and a piece's samples of
// one series stay in order, so nothing a receiver checks changes; only the
// order of series within the request, which carries no meaning.
func (l *lane) interleave() {
	if l.gathered {
		// The request holds the batch piece after piece, between the
		// pieces' ends; the spare receives the new order and the old
		// order's slice becomes the spare.
		runs := l.gatheredRuns[:0]
		start := 0
		for _, end := range l.ends {
			if end > start {
				runs = append(runs, l.series[start:end])
			}
			start = end
		}
		if len(runs) >= 2 {
			out := byRank(l.spare[:0], runs, func(p **remote.Series) *remote.Series { return *p })
			clear(l.series)
			l.spare, l.series = l.series[:0], out
		}
		clear(runs)
		l.gatheredRuns = runs[:0]
		return
	}
	// Not gathered, the series are still in their pieces and the request
	// is empty.
	runs := l.runs[:0]
	for _, p := range l.pieces {
		if len(p.series) > 0 {
			runs = append(runs, p.series)
		}
	}
	l.series = byRank(l.series[:0], runs, func(s *remote.Series) *remote.Series { return s })
	// The scratch must not keep the batch's series alive after the batch
	// is done.
	clear(runs)
	l.runs = runs[:0]
}

// byRank appends to out the first series of every run, then the second
// series of every run, and so on. It uses runs as scratch.
func byRank[T any](out []*remote.Series, runs [][]T, at func(*T) *remote.Series) []*remote.Series {
	for len(runs) > 0 {
		live := runs[:0]
		for _, r := range runs {
			out = append(out, at(&r[0]))
			if len(r) > 1 {
				live = append(live, r[1:])
			}
		}
		runs = live
	}
	return out
}
