package scrape

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func seqElems(q *seq) []int32 {
	var out []int32
	for i := range q.len() {
		out = append(out, q.at(i))
	}
	return out
}

func TestSeqKeepsOnlyItsLengthWhileItRuns(t *testing.T) {
	var q seq
	for i := range int32(1000) {
		q.add(i)
	}
	require.Nil(t, q.list)
	require.Equal(t, 1000, q.len())
	require.Equal(t, int32(999), q.at(999))

	// The first element out of the run materialises the list.
	q.add(5)
	q.add(1000)
	require.NotNil(t, q.list)
	require.Equal(t, 1002, q.len())
	require.Equal(t, []int32{998, 999, 5, 1000}, seqElems(&q)[998:])
	require.True(t, slices.Equal(seqElems(&q)[:1000], q.list[:1000]))
}

func TestSeqForgetsAListThatRunsAgain(t *testing.T) {
	var q seq
	for _, v := range []int32{1, 0, 2} {
		q.add(v)
	}
	q.fit()
	require.Equal(t, []int32{1, 0, 2}, q.list, "not a run: kept")

	// The next scrape fills the kept list, in order this time.
	q.refit(3)
	require.Equal(t, 0, q.len())
	for v := range int32(3) {
		q.add(v)
	}
	require.Equal(t, []int32{0, 1, 2}, seqElems(&q))
	q.fit()
	require.Nil(t, q.list, "a run is stored as its length")
	require.Equal(t, []int32{0, 1, 2}, seqElems(&q))
}
