package sender

import (
	"fmt"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ferrymetrics/ferry/record"
	"github.com/ferrymetrics/ferry/remote"
	"github.com/ferrymetrics/ferry/wal"
)

// pieceOf builds a piece with one sample per named series at ts.
func pieceOf(ts int64, names ...string) *piece {
	p := newPiece(0, "")
	for _, n := range names {
		s := remote.Series{Labels: labels.FromStrings("__name__", n), Samples: []remote.Sample{{Value: float64(ts), Timestamp: ts}}}
		p.addHashed(&s, s.Labels.Hash(), false)
	}
	return p
}

// withSlot gives a piece its routing slot, as a scrape record's has.
func withSlot(p *piece, slot uint16) *piece {
	p.slots = append(p.slots, slot)
	return p
}

func TestInterleavePutsTheSameRankOfEveryPieceTogether(t *testing.T) {
	l := &lane{}
	l.add(pieceOf(1, "a1", "a2", "a3"))
	l.add(pieceOf(2, "b1"))
	l.add(pieceOf(3, "a1", "a2", "a3")) // a later scrape of the first target: merged, adds no series
	l.add(pieceOf(4, "c1", "c2", "c3", "c4"))
	l.interleave()

	got := describe(l.series)
	want := []string{"a1[1 3]", "b1[2]", "c1[4]", "a2[1 3]", "c2[4]", "a3[1 3]", "c3[4]", "c4[4]"}
	if !slices.Equal(got, want) {
		t.Fatalf("order after interleave:\n got %v\nwant %v", got, want)
	}
	if l.n != 11 {
		t.Fatalf("samples in the batch = %d, want 11", l.n)
	}
	if !l.gathered || slices.ContainsFunc(l.gatheredRuns[:cap(l.gatheredRuns)], func(r []*remote.Series) bool { return r != nil }) {
		t.Fatal("interleave's scratch keeps the batch's series")
	}
	l.reset()
	if len(l.series) != 0 || len(l.ends) != 0 || slices.ContainsFunc(l.spare[:cap(l.spare)], func(s *remote.Series) bool { return s != nil }) {
		t.Fatal("reset left series behind in the batch or its spare buffer")
	}
}

func TestInterleaveLeavesASinglePieceAlone(t *testing.T) {
	l := &lane{}
	l.add(pieceOf(1, "x", "y"))
	l.add(pieceOf(2, "x", "y"))
	before := slices.Clone(l.series)
	l.interleave()
	if len(l.series) != 2 || l.series[0].Labels.Get("__name__") != before[0].Labels.Get("__name__") || len(l.series[1].Samples) != 2 {
		t.Fatalf("series = %v", l.series)
	}
}

// A target's series can come back in another piece at another rank (after
// a reload or a restart its records carry a new stream): the request must
// still hold the series once, with its samples in order.
func TestASeriesMovedToAnotherPieceStaysOneSeriesInOrder(t *testing.T) {
	l := &lane{}
	l.add(pieceOf(1, "gone", "x"))
	l.add(pieceOf(2, "x"))
	l.interleave()
	got := describe(l.series)
	if want := []string{"gone[1]", "x[1 2]"}; !slices.Equal(got, want) {
		t.Fatalf("request series %v, want %v", got, want)
	}
}

// Pieces of distinct slots are appended without lookups; the first piece
// of a slot the batch already has makes the lane index what it holds, so
// the series it shares with an earlier piece is merged, not repeated.
func TestAPieceOfASlotAlreadyInTheBatchIsMerged(t *testing.T) {
	l := &lane{}
	l.add(withSlot(pieceOf(1, "a", "x"), 7))
	l.add(withSlot(pieceOf(1, "b", "y"), 9))
	if l.gathered || l.index.n != 0 {
		t.Fatal("pieces of distinct slots were looked up")
	}
	l.add(withSlot(pieceOf(2, "x", "c"), 7))
	if !l.gathered {
		t.Fatal("a piece of a slot already in the batch was not looked up")
	}
	l.add(withSlot(pieceOf(3, "y"), 9))
	got := describe(l.series)
	if want := []string{"a[1]", "x[1 2]", "b[1]", "y[1 3]", "c[2]"}; !slices.Equal(got, want) {
		t.Fatalf("request series %v, want %v", got, want)
	}
	l.reset()
	if l.gathered || l.hasSlot(7) {
		t.Fatal("reset kept the batch's slots")
	}
}

// describe gives each series of a request as its name and its samples'
// timestamps, in request order: "x[1 2]".
func describe(series []*remote.Series) []string {
	var out []string
	for _, s := range series {
		var ts []int64
		for _, x := range s.Samples {
			ts = append(ts, x.Timestamp)
		}
		out = append(out, fmt.Sprint(s.LabelSet().Get("__name__"), ts))
	}
	return out
}

// Pieces of distinct slots stay whole until interleave, which gathers
// their series into the request by rank; the request points at them where
// the pieces hold them, and reset empties it before the pieces go back
// to their pool.
func TestPiecesOfDistinctSlotsAreGatheredByRank(t *testing.T) {
	l := &lane{}
	for slot, p := range []*piece{pieceOf(1, "a1", "a2"), pieceOf(2, "b1", "b2", "b3"), pieceOf(3, "c1")} {
		p.slots = append(p.slots, uint16(slot))
		l.add(p)
	}
	if l.gathered || len(l.series) != 0 {
		t.Fatalf("pieces of distinct slots were gathered before the request was complete (gathered %v, %d series)", l.gathered, len(l.series))
	}
	l.interleave()
	want := []string{"a1[1]", "b1[2]", "c1[3]", "a2[1]", "b2[2]", "b3[2]"}
	if got := describe(l.series); !slices.Equal(got, want) {
		t.Fatalf("order after interleave:\n got %v\nwant %v", got, want)
	}
	// The request points at the series where their pieces hold them.
	if l.series[0] != &l.pieces[0].series[0] || l.series[1] != &l.pieces[1].series[0] {
		t.Fatal("the request copied the pieces' series")
	}
	if l.n != 6 {
		t.Fatalf("samples in the batch = %d, want 6", l.n)
	}
	if slices.ContainsFunc(l.runs[:cap(l.runs)], func(r []remote.Series) bool { return r != nil }) {
		t.Fatal("interleave's scratch keeps the batch's series")
	}
	l.reset()
	if len(l.series) != 0 || slices.ContainsFunc(l.series[:cap(l.series)], func(s *remote.Series) bool { return s != nil }) {
		t.Fatal("reset left series behind in the request")
	}
}

// A scrape record's piece carries no series hashes. Two scrapes of one
// target in one request (a lane catching up with a backlog) are still
// merged: the lane folds the hashes from the series' dictionary ids.
func TestScrapePiecesWithoutHashesAreMerged(t *testing.T) {
	// Whole records, and records split because they exceed
	// max_samples_per_send.
	for _, limit := range []int{10_000, 2} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) { testScrapePiecesMerge(t, limit) })
	}
}

func testScrapePiecesMerge(t *testing.T, limit int) {
	enc := record.NewStreamEncoder(7)
	dec := record.NewDecoder(nil)
	s := &Sender{cfg: settings{maxSamplesPerSend: limit}, router: newRouter(1)}
	l := &lane{}
	names := []string{"a", "b", "c"}
	refs := make([]record.Ref, len(names))
	for k := range 2 {
		enc.Begin(int64(k+1)*10_000, 1)
		for i, n := range names {
			if !enc.Valid(refs[i]) {
				refs[i] = enc.Define(labels.FromStrings("__name__", n, "job", "node"), n, remote.Metadata{})
			}
			enc.Add(refs[i], float64(k))
		}
		data, _ := enc.Finish()
		var b record.Batch
		rec := wal.Record{Kind: record.KindStream, Data: append([]byte(nil), data...), Pos: wal.Pos{Segment: 1}}
		if err := dec.Decode(rec, &b); err != nil {
			t.Fatal(err)
		}
		enc.Done(true)
		pieces := s.split(&b)
		if want := (len(names) + limit - 1) / limit; len(pieces) != want {
			t.Fatalf("scrape %d: %d pieces, want %d", k, len(pieces), want)
		}
		for _, p := range pieces {
			if len(p.hashes) != 0 {
				t.Fatalf("scrape %d: a piece with %d hashes", k, len(p.hashes))
			}
			l.add(p)
		}
	}
	if !l.gathered {
		t.Fatal("a second piece of the same slot did not make the lane index the batch")
	}
	l.interleave()
	got := describe(l.series)
	slices.Sort(got) // split pieces interleave into another order
	if want := []string{"a[10000 20000]", "b[10000 20000]", "c[10000 20000]"}; !slices.Equal(got, want) {
		t.Fatalf("request %v, want %v (each series once, its samples in order)", got, want)
	}
}

// Two targets that share a routing slot make the lane index that slot's
// pieces only: a target in a slot of its own is neither hashed nor looked
// up until another piece of its slot arrives, and every series still
// appears once with its samples in order.
func TestOnlyASharedSlotIsIndexed(t *testing.T) {
	l := &lane{}
	l.add(withSlot(pieceOf(1, "a1", "a2"), 7)) // target a
	l.add(withSlot(pieceOf(1, "b1"), 7))       // target b, in a's slot
	if !l.gathered || l.index.n != 3 {
		t.Fatalf("gathered %v with %d series, want slot 7's three", l.gathered, l.index.n)
	}
	l.add(withSlot(pieceOf(1, "c1", "c2"), 9)) // target c, a slot of its own
	l.add(withSlot(pieceOf(1, "d1"), 11))      // target d, another
	if l.index.n != 3 {
		t.Fatalf("a piece of a new slot was indexed: %d series", l.index.n)
	}
	l.add(withSlot(pieceOf(2, "c1", "c2"), 9)) // c again: slot 9 indexed, merged
	if l.index.n != 5 {
		t.Fatalf("index holds %d series, want slot 7's and slot 9's five", l.index.n)
	}
	l.add(withSlot(pieceOf(2, "a1", "a2"), 7)) // a again: merged
	// A piece with several slot entries has the rest indexed: d1 too.
	p := pieceOf(3, "d1", "c1")
	p.slots = append(p.slots, 11, 9)
	l.add(p)
	if !l.allIndexed || l.index.n != 6 {
		t.Fatalf("after a piece of several slots: all indexed %v, %d series", l.allIndexed, l.index.n)
	}
	l.interleave()
	got := describe(l.series)
	slices.Sort(got)
	if want := []string{"a1[1 2]", "a2[1 2]", "b1[1]", "c1[1 2 3]", "c2[1 2]", "d1[1 3]"}; !slices.Equal(got, want) {
		t.Fatalf("request %v, want %v", got, want)
	}
	l.reset()
	if l.allIndexed || l.slotIndexed(7) || l.slotIndexed(9) {
		t.Fatal("reset kept the indexed slots")
	}
}

// A scrape record split into pieces (it exceeds max_samples_per_send)
// keeps its series' labels in the pieces while the read loop decodes the
// next records into the same batch: the pieces copy the label value ids,
// which the decoder puts together in the batch's memory.
func TestSplitScrapePiecesKeepTheirLabelsWhileTheBatchIsReused(t *testing.T) {
	enc := record.NewStreamEncoder(7)
	dec := record.NewDecoder(nil)
	s := &Sender{cfg: settings{maxSamplesPerSend: 2}, router: newRouter(1)}
	lsets := map[string]labels.Labels{}
	refs := map[string]record.Ref{}
	var b record.Batch
	var pieces []*piece
	var want []string
	for k, present := range [][]string{{"a", "b", "c"}, {"b", "c", "d"}, {"d", "e"}} {
		enc.Begin(int64(k+1)*10_000, 1)
		for _, n := range present {
			if _, ok := lsets[n]; !ok {
				lsets[n] = labels.FromStrings("__name__", "m", "instance", "h:9100", "job", "node", "series", n)
			}
			if !enc.Valid(refs[n]) {
				refs[n] = enc.Define(lsets[n], "m", remote.Metadata{})
			}
			enc.Add(refs[n], float64(k))
			want = append(want, fmt.Sprint(lsets[n].String(), k))
		}
		data, _ := enc.Finish()
		b.Reset()
		rec := wal.Record{Kind: record.KindStream, Data: append([]byte(nil), data...), Pos: wal.Pos{Segment: 1}}
		if err := dec.Decode(rec, &b); err != nil {
			t.Fatal(err)
		}
		enc.Done(true)
		pieces = append(pieces, s.split(&b)...)
	}
	var got []string
	for _, p := range pieces {
		for i := range p.series {
			ser := &p.series[i]
			got = append(got, fmt.Sprint(ser.LabelSet().String(), ser.Samples[0].Value))
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pieces hold\n%v\nwant\n%v", got, want)
	}
}
