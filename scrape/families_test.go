package scrape

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferrymetrics/ferry/remote"
)

// exposeFamilies runs one scrape of c that announces n families, family k
// with help help(k), as a counter.
func exposeFamilies(c *seriesCache, n int, help func(k int) string) {
	c.begin()
	for k := range n {
		name := []byte(fmt.Sprintf("family_%d_total", k))
		i := c.setHelp(name, []byte(help(k)))
		c.fams.setType(c.family(name), remote.MetricTypeCounter)
		if i != c.family(name) {
			panic("a family moved")
		}
	}
	c.endScrape()
	c.close()
}

// Targets whose families have the same metadata share one table; a target
// whose metadata changes gets its own copy, which others with the same
// change share in turn, and nobody else sees the change.
func TestTargetsShareEqualFamilyTables(t *testing.T) {
	plain := func(k int) string { return fmt.Sprintf("Help of family %d.", k) }
	changed := func(k int) string {
		if k == 3 {
			return "A new help text."
		}
		return plain(k)
	}
	a, b, c := newSeriesCache(), newSeriesCache(), newSeriesCache()
	exposeFamilies(a, 10, plain)
	exposeFamilies(b, 10, plain)
	require.NotSame(t, a.fams.t, b.fams.t, "a table is shared after a scrape that did not change it")
	exposeFamilies(a, 10, plain)
	exposeFamilies(b, 10, plain)
	require.Same(t, a.fams.t, b.fams.t, "equal tables are one")
	shared := a.fams.t

	exposeFamilies(a, 10, plain)
	require.Same(t, shared, a.fams.t, "a scrape that changes nothing keeps the table")

	exposeFamilies(b, 10, changed)
	require.NotSame(t, shared, b.fams.t)
	require.Equal(t, "A new help text.", b.fams.at(3).meta.Help)
	require.Equal(t, plain(3), a.fams.at(3).meta.Help, "the shared table did not change")

	exposeFamilies(c, 10, changed)
	exposeFamilies(b, 10, changed)
	exposeFamilies(c, 10, changed)
	require.Same(t, b.fams.t, c.fams.t, "the changed table is shared in turn")

	exposeFamilies(c, 11, changed) // a new family
	require.NotSame(t, b.fams.t, c.fams.t)
	require.Equal(t, 10, b.fams.len())
	require.Equal(t, 11, c.fams.len())
	require.Equal(t, remote.MetricTypeCounter, c.fams.at(10).meta.Type)
}

// The loops of many targets read and copy shared tables at once (run with
// -race).
func TestSharedFamilyTablesAreSafeToUseConcurrently(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newSeriesCache()
			for scrape := range 20 {
				exposeFamilies(c, 50, func(k int) string {
					if g%2 == 1 && k == scrape%50 {
						return fmt.Sprintf("Changed at scrape %d.", scrape)
					}
					return fmt.Sprintf("Help of family %d.", k)
				})
			}
		}()
	}
	wg.Wait()
}

// A shared table no target uses any more is collected, and the registry
// forgets it.
func TestUnusedFamilyTablesAreForgotten(t *testing.T) {
	h := func() uint64 {
		c := newSeriesCache()
		for range 2 {
			exposeFamilies(c, 3, func(k int) string { return fmt.Sprintf("Only in this test, family %d.", k) })
		}
		return hashFamilies(c.fams.t.list)
	}()
	registered := func() bool {
		sharedFamilies.mu.Lock()
		defer sharedFamilies.mu.Unlock()
		return len(sharedFamilies.tables[h]) > 0
	}
	require.True(t, registered())
	deadline := time.Now().Add(5 * time.Second)
	for registered() && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	require.False(t, registered(), "the registry still holds a table nobody uses")
}

// A target whose metadata changes at every scrape keeps its own table: it is
// neither shared nor copied.
func TestFamiliesThatKeepChangingAreNotShared(t *testing.T) {
	c := newSeriesCache()
	help := func(scrape int) func(k int) string {
		return func(k int) string { return fmt.Sprintf("Help %d at scrape %d.", k, scrape) }
	}
	exposeFamilies(c, 4, help(0))
	own := c.fams.t
	for scrape := 1; scrape < 5; scrape++ {
		exposeFamilies(c, 4, help(scrape))
		require.False(t, c.fams.shared, "scrape %d", scrape)
		require.Same(t, own, c.fams.t, "scrape %d: no copy", scrape)
	}
	exposeFamilies(c, 4, help(4))
	require.True(t, c.fams.shared, "shared once a scrape did not change it")
	require.Same(t, own, c.fams.t, "the first of its kind becomes the shared one")
}
