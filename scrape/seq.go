package scrape

// seq is a list of cache entry indexes that is mostly 0, 1, 2, ...: a
// target exposes its series in the order it first exposed them, and the
// cache made their entries in that order. While the list is that run it
// keeps only its length; the first element that breaks the run
// materialises it. The scrape cache keeps four such lists (the previous
// and current scrapes' exposition orders and appended series), which cost
// 16 bytes per series when stored.
type seq struct {
	n    int     // length
	list []int32 // the elements once materialised; nil while they run 0..n-1
}

func (q *seq) len() int { return q.n }

func (q *seq) at(i int) int32 {
	if q.list == nil {
		return int32(i)
	}
	return q.list[i]
}

func (q *seq) add(v int32) {
	if q.list == nil {
		if v == int32(q.n) {
			q.n++
			return
		}
		q.list = make([]int32, q.n, max(2*q.n, 16))
		for i := range q.list {
			q.list[i] = int32(i)
		}
	}
	q.list = append(q.list, v)
	q.n++
}

// reset empties the list for a new scrape. A materialised list keeps its
// room (the next scrape of such a target is likely to need it again).
func (q *seq) reset() {
	q.n = 0
	if q.list != nil {
		q.list = q.list[:0]
	}
}

// fit drops the slack of a list that holds a whole scrape, and forgets
// the elements of one that turned out to be a run after all.
func (q *seq) fit() {
	switch {
	case q.list == nil:
	case isRun(q.list):
		q.list = nil
	default:
		q.list = fitted(q.list)
	}
}

// refit prepares a list the next scrape fills again, expected to hold
// about n elements: a materialised one keeps room for n, no more.
func (q *seq) refit(n int) {
	q.reset()
	if q.list != nil {
		q.list = refitted(q.list, n)
	}
}

func isRun(s []int32) bool {
	for i, v := range s {
		if v != int32(i) {
			return false
		}
	}
	return true
}
