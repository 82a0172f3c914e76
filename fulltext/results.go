package fulltext

import "sync"

// Results are a search's matches, put in order as they are read: the
// first page of a common word needs its best twenty of tens of thousands
// (a quarter of a catalog of 100,000), so the rest stay a heap until a
// later page asks for them. Safe for concurrent use.
type Results[T any] struct {
	hits  []Hit[T] // in the order found
	mu    sync.Mutex
	order []int32 // hits best first, as far as read
	heap  []int32 // the other hits, the best on top
}

func newResults[T any](hits []Hit[T]) *Results[T] {
	r := &Results[T]{hits: hits, heap: make([]int32, len(hits))}
	for i := range r.heap {
		r.heap[i] = int32(i)
	}
	for i := len(r.heap)/2 - 1; i >= 0; i-- {
		r.down(i)
	}
	return r
}

// Len is the number of matches.
func (r *Results[T]) Len() int { return len(r.hits) }

// Unordered returns every match in no particular order, for counting;
// the slice is shared and must not be modified.
func (r *Results[T]) Unordered() []Hit[T] { return r.hits }

// At returns the match in place i, 0 being the best; i < Len().
func (r *Results[T]) At(i int) Hit[T] {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.order) <= i {
		top := r.heap[0]
		last := len(r.heap) - 1
		r.heap[0] = r.heap[last]
		r.heap = r.heap[:last]
		if last > 0 {
			r.down(0)
		}
		r.order = append(r.order, top)
	}
	return r.hits[r.order[i]]
}

// better reports whether hit a ranks before hit b: a higher score, then
// the greater id.
func (r *Results[T]) better(a, b int32) bool {
	ha, hb := &r.hits[a], &r.hits[b]
	if ha.Score != hb.Score {
		return ha.Score > hb.Score
	}
	return ha.rank > hb.rank
}

func (r *Results[T]) down(i int) {
	h := r.heap
	for {
		best, l := i, 2*i+1
		if l < len(h) && r.better(h[l], h[best]) {
			best = l
		}
		if l+1 < len(h) && r.better(h[l+1], h[best]) {
			best = l + 1
		}
		if best == i {
			return
		}
		h[i], h[best] = h[best], h[i]
		i = best
	}
}
