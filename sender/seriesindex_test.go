package sender

import (
	"math/rand/v2"
	"testing"
)

func TestSeriesIndexAgreesWithAMap(t *testing.T) {
	var x seriesIndex
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 5 {
		want := map[uint64]int{}
		n := 10 + round*3000
		for i := range n {
			h := rng.Uint64()
			if i%7 == 0 {
				h = uint64(i) << 40 // equal low bits: long probe runs
			}
			if _, dup := want[h]; dup {
				continue
			}
			want[h] = i
			x.put(h, i)
		}
		for h, at := range want {
			if got, ok := x.get(h); !ok || got != at {
				t.Fatalf("round %d: get(%x) = %d, %v; want %d", round, h, got, ok, at)
			}
		}
		for range 1000 {
			h := rng.Uint64()
			if _, in := want[h]; !in {
				if _, ok := x.get(h); ok {
					t.Fatalf("round %d: found %x, never stored", round, h)
				}
			}
		}
		x.reset()
		for h := range want {
			if _, ok := x.get(h); ok {
				t.Fatalf("round %d: %x survived reset", round, h)
			}
		}
	}
}

func TestSeriesIndexGenerationWrapsAround(t *testing.T) {
	x := seriesIndex{gen: ^uint32(0)}
	x.put(42, 1)
	x.reset() // the generation wraps to 0: the table must be cleared
	if _, ok := x.get(42); ok {
		t.Fatal("an entry of the wrapped generation is still found")
	}
	x.put(42, 2)
	if at, ok := x.get(42); !ok || at != 2 {
		t.Fatalf("get = %d, %v; want 2", at, ok)
	}
}
