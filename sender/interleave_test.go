package sender

import (
	"fmt"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ferrymetrics/ferry/remote"
)

// pieceOf builds a piece of a stream (0: received data) with one sample
// per named series at ts.
func pieceOf(stream uint64, ts int64, names ...string) *piece {
	p := newPiece(0, "")
	p.stream = stream
	for _, n := range names {
		s := remote.Series{Labels: labels.FromStrings("__name__", n), Samples: []remote.Sample{{Value: float64(ts), Timestamp: ts}}}
		p.add(&s, s.Labels.Hash())
	}
	return p
}

func TestInterleavePutsTheSameRankOfEveryPieceTogether(t *testing.T) {
	for _, streams := range [][4]uint64{{1, 2, 1, 3}, {0, 0, 0, 0}, {1, 0, 1, 3}} {
		t.Run(fmt.Sprint(streams), func(t *testing.T) { testInterleave(t, streams) })
	}
}

// testInterleave builds a batch of four pieces of the given streams, the
// third a later scrape of the first, and checks the merged and reordered
// request.
func testInterleave(t *testing.T, streams [4]uint64) {
	l := &lane{index: map[uint64]int{}, streams: map[uint64]struct{}{}}
	l.add(pieceOf(streams[0], 1, "a1", "a2", "a3"))
	l.add(pieceOf(streams[1], 2, "b1"))
	l.add(pieceOf(streams[2], 3, "a1", "a2", "a3")) // merged, adds no series
	l.add(pieceOf(streams[3], 4, "c1", "c2", "c3", "c4"))
	l.interleave()

	var got []string
	for _, s := range l.req.Series {
		var ts []int64
		for _, x := range s.Samples {
			ts = append(ts, x.Timestamp)
		}
		got = append(got, fmt.Sprint(s.Labels.Get("__name__"), ts))
	}
	want := []string{"a1[1 3]", "b1[2]", "c1[4]", "a2[1 3]", "c2[4]", "a3[1 3]", "c3[4]", "c4[4]"}
	if !slices.Equal(got, want) {
		t.Fatalf("order after interleave:\n got %v\nwant %v", got, want)
	}
	if l.n != 11 {
		t.Fatalf("samples in the batch = %d, want 11", l.n)
	}
	l.reset()
	if len(l.req.Series) != 0 || len(l.ends) != 0 || slices.ContainsFunc(l.spare[:cap(l.spare)], func(s remote.Series) bool { return s.Samples != nil }) {
		t.Fatal("reset left series behind in the batch or its spare buffer")
	}
}

func TestInterleaveLeavesASinglePieceAlone(t *testing.T) {
	l := &lane{index: map[uint64]int{}, streams: map[uint64]struct{}{}}
	l.add(pieceOf(7, 1, "x", "y"))
	l.add(pieceOf(7, 2, "x", "y"))
	before := slices.Clone(l.req.Series)
	l.interleave()
	if len(l.req.Series) != 2 || l.req.Series[0].Labels.Get("__name__") != before[0].Labels.Get("__name__") || len(l.req.Series[1].Samples) != 2 {
		t.Fatalf("series = %v", l.req.Series)
	}
}
