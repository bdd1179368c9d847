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
// targets it is 4% larger (BenchmarkInterleavedRequest). It costs
// nothing beyond gathering the series into the request, which any order
// needs: they stay in their pieces until now. Only a batch that was
// indexed, because a piece shared a slot with an earlier one, already
// holds its series and is reordered with one more copy.
//
// Each series still appears once in the request and a piece's samples of
// one series stay in order, so nothing a receiver checks changes; only the
// order of series within the request, which carries no meaning.
func (l *lane) interleave() {
	// runs holds, per piece, its series interleave has not yet placed:
	// in the piece itself while the batch is not indexed (add left them
	// there), else in the request, between the piece's ends.
	runs := l.runs[:0]
	if l.indexed {
		start := 0
		for _, end := range l.ends {
			if end > start {
				runs = append(runs, l.req.Series[start:end])
			}
			start = end
		}
		if len(runs) < 2 {
			l.runs = runs[:0]
			clear(runs)
			return
		}
	} else {
		for _, p := range l.pieces {
			if len(p.series) > 0 {
				runs = append(runs, p.series)
			}
		}
	}
	// Unindexed, the request is still empty and holds the result;
	// indexed, the spare does, and the old order's slice becomes the
	// spare.
	out := l.req.Series[:0]
	if l.indexed {
		out = l.spare[:0]
	}
	all := runs
	for len(runs) > 0 {
		live := runs[:0]
		for _, r := range runs {
			out = append(out, r[0])
			if len(r) > 1 {
				live = append(live, r[1:])
			}
		}
		runs = live
	}
	// Neither the scratch nor the spare may keep the batch's labels and
	// samples alive after the batch is done.
	clear(all)
	l.runs = all[:0]
	if l.indexed {
		clear(l.req.Series)
		l.spare = l.req.Series[:0]
	}
	l.req.Series = out
}
