// Package fulltext is an in-memory full-text index: documents are split
// into lower-case words, a query's words match as word prefixes (all of
// them must match), and matches are ranked by BM25.
//
// It exists because a database ranks every match of a term before it
// knows the best twenty: at 100,000 products a common word matched 23,000
// of them and MariaDB's MATCH … AGAINST took 115 ms, FTS5's bm25 130 ms,
// where this index ranks them in a few milliseconds. Keeping it current
// is its owner's job (catalog); it only holds what it was given.
package fulltext

import (
	"math"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unsafe"
)

// BM25's usual constants: how quickly repeated words stop adding to a
// score, and how much a long document is discounted.
const (
	k1 = 1.2
	b  = 0.75
)

// prefixWeight is what a word counts for a query word that is only its
// prefix: "tea" finds teapots, but after teas.
const prefixWeight = 0.5

// Words splits text into the lower-case words the index holds and
// queries match: runs of letters and digits. Callers split queries with
// it too, so a query and a document agree on what a word is.
func Words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// Doc is one document to index: its id, its text, and what the caller
// wants back with it (filters read it, see Search).
type Doc[T any] struct {
	ID   string
	Text string
	Data T
}

// Hit is one match.
type Hit[T any] struct {
	ID    string
	Score float64
	Data  T
	rank  uint32 // the id's place, for ties (see slot)
}

// Index is safe for concurrent use: searches share it, Apply excludes
// them while it runs.
type Index[T any] struct {
	mu sync.RWMutex
	// Documents by slot number, a replaced one leaving a dead slot; what
	// a search reads of every match is kept apart and small (slots), so
	// tens of thousands of matches stay in the processor's caches.
	slots []slot
	ids   []string
	data  []T
	byID  map[string]uint32 // live documents' slots
	// Every term, sorted, for exact and prefix lookups, and its postings
	// at the same place: no map of the terms, which at 100,000 products
	// (400,000 terms, most of them SKUs) took 17 MiB more.
	dict    []string
	post    []postings
	more    [][]uint64 // postings after a term's first (see postings)
	ordered []uint32   // the live documents' slots in id order (see rank)
	words   int        // total words of the live documents, for the average length
	// termBytes holds the terms' bytes.
	termBytes arena

	scratch sync.Pool // *scratch sized to slots
}

type slot struct {
	rank  uint32 // the id's place among the live documents' ids, to break ties
	words uint32 // document length in words
	live  bool
}

// postings are the slots holding a term, in ascending order (slots are
// only ever appended), each packed with the term's count in it
// (slot<<16 | count, never 0: a count is at least 1). The first is held
// inline and the others in Index.more: most words of a catalog (SKUs,
// numbers) are in one document, and a list of their own each was most of
// the index's memory and objects, which the garbage collector visits on
// every cycle (16 bytes a term instead of 40).
type postings struct {
	first uint64
	more  uint32 // 1 + the index of the other postings in Index.more; 0: none
}

func (x *Index[T]) add(p *postings, slot uint32, count uint16) {
	v := uint64(slot)<<16 | uint64(count)
	switch {
	case p.first == 0:
		p.first = v
	case p.more == 0:
		x.more = append(x.more, []uint64{v})
		p.more = uint32(len(x.more))
	default:
		x.more[p.more-1] = append(x.more[p.more-1], v)
	}
}

// each calls f for every posting of p, in order.
func (x *Index[T]) each(p postings, f func(slot uint32, count uint16)) {
	if p.first == 0 {
		return
	}
	f(uint32(p.first>>16), uint16(p.first))
	if p.more == 0 {
		return
	}
	for _, v := range x.more[p.more-1] {
		f(uint32(v>>16), uint16(v))
	}
}

// New returns an empty index.
func New[T any]() *Index[T] {
	return &Index[T]{byID: map[string]uint32{}}
}

// Len is the number of documents searched.
func (x *Index[T]) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.byID)
}

// Dead is the number of slots left by replaced or removed documents; they
// cost memory and time until the owner builds the index again.
func (x *Index[T]) Dead() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.slots) - len(x.byID)
}

// Data returns what the document id was indexed with.
func (x *Index[T]) Data(id string) (T, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	i, ok := x.byID[id]
	if !ok {
		var zero T
		return zero, false
	}
	return x.data[i], true
}

// Apply adds or replaces docs and removes the documents with the ids in
// remove, as one change: a search sees all of it or none.
func (x *Index[T]) Apply(docs []Doc[T], remove []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, id := range remove {
		x.remove(id)
	}
	from := len(x.slots)
	added := map[string]postings{} // terms new to the index
	counts := map[string]uint16{}
	for _, d := range docs {
		x.remove(d.ID)
		n := uint32(len(x.slots))
		clear(counts)
		var length uint32
		for _, w := range Words(d.Text) {
			length++
			// One-letter words are never matched: a query word has two
			// letters or more (catalog's searchTerms), so it is no
			// prefix of them.
			if len(w) > 1 && counts[w] < math.MaxUint16 {
				counts[w]++
			}
		}
		for w, c := range counts {
			if i, found := slices.BinarySearch(x.dict, w); found {
				x.add(&x.post[i], n, c)
				continue
			}
			p, ok := added[w]
			if !ok {
				// A copy: w shares the lower-cased text's memory.
				w = x.termBytes.intern(w)
			}
			x.add(&p, n, c)
			added[w] = p
		}
		x.slots = append(x.slots, slot{words: length, live: true})
		x.ids = append(x.ids, d.ID)
		x.data = append(x.data, d.Data)
		x.byID[d.ID] = n
		x.words += int(length)
	}
	x.addTerms(added)
	x.rerank(from)
}

// addTerms merges new terms and their postings into dict and post.
func (x *Index[T]) addTerms(added map[string]postings) {
	if len(added) == 0 {
		return
	}
	words := make([]string, 0, len(added))
	for w := range added {
		words = append(words, w)
	}
	slices.Sort(words)
	dict := make([]string, 0, len(x.dict)+len(words))
	post := make([]postings, 0, len(x.dict)+len(words))
	i := 0
	for _, w := range words {
		for i < len(x.dict) && x.dict[i] < w {
			dict, post = append(dict, x.dict[i]), append(post, x.post[i])
			i++
		}
		dict, post = append(dict, w), append(post, added[w])
	}
	x.dict, x.post = append(dict, x.dict[i:]...), append(post, x.post[i:]...)
}

// rerank gives the live documents their ranks in id order, so a search
// breaks ties between equal scores with one integer comparison rather
// than by comparing ids (tens of thousands of them for a common word,
// most ties: 3.4 of 6 ms at 100,000 products).
func (x *Index[T]) rerank(from int) {
	kept := x.ordered[:0]
	for _, n := range x.ordered {
		if x.slots[n].live {
			kept = append(kept, n)
		}
	}
	var added []uint32
	for n := from; n < len(x.slots); n++ {
		if x.slots[n].live {
			added = append(added, uint32(n))
		}
	}
	byID := func(a, b uint32) int { return strings.Compare(x.ids[a], x.ids[b]) }
	slices.SortFunc(added, byID)
	x.ordered = mergeSorted(kept, added, byID)
	for i, n := range x.ordered {
		x.slots[n].rank = uint32(i)
	}
}

func (x *Index[T]) remove(id string) {
	i, ok := x.byID[id]
	if !ok {
		return
	}
	x.slots[i].live = false
	var zero T
	x.data[i] = zero
	x.words -= int(x.slots[i].words)
	delete(x.byID, id)
}

// Compact returns the spare capacity of the postings lists to the
// allocator; the owner calls it after building the index in batches.
func (x *Index[T]) Compact() {
	x.mu.Lock()
	defer x.mu.Unlock()
	for i, more := range x.more {
		if cap(more) > len(more) {
			x.more[i] = slices.Clone(more)
		}
	}
	x.more = slices.Clip(x.more)
}

// arena holds many short strings in a few large allocations: one
// allocation per term was 400,000 objects at 100,000 products (their
// SKUs), for the garbage collector to visit on every cycle.
type arena struct{ chunk []byte }

// intern returns a copy of w held in the arena. Bytes once appended are
// never written again, so the string stays valid.
func (a *arena) intern(w string) string {
	if len(w) == 0 {
		return ""
	}
	if len(a.chunk)+len(w) > cap(a.chunk) {
		a.chunk = make([]byte, 0, max(64<<10, len(w)))
	}
	start := len(a.chunk)
	a.chunk = append(a.chunk, w...)
	return unsafe.String(&a.chunk[start], len(w))
}

// mergeSorted merges two sorted lists of distinct elements.
func mergeSorted[E any](a, b []E, cmp func(E, E) int) []E {
	out := make([]E, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if cmp(a[i], b[j]) < 0 {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// scratch holds one search's per-slot sums; slots touched are stamped
// with the search's generation rather than cleared.
type scratch struct {
	stamp []uint32
	tf    []float64
	score []float64
	gen   uint32
}

func (x *Index[T]) getScratch() *scratch {
	sc, _ := x.scratch.Get().(*scratch)
	if sc == nil || len(sc.stamp) < len(x.slots) || sc.gen > math.MaxUint32-64 {
		n := len(x.slots) + len(x.slots)/8 + 64
		sc = &scratch{stamp: make([]uint32, n), tf: make([]float64, n), score: make([]float64, n)}
	}
	return sc
}

// Search returns the live documents that match every query word as a
// word prefix and that keep accepts (nil keeps all), in Results ordered
// best first: by BM25, where a query word's count in a document is that
// of the words equal to it plus prefixWeight for each word it is only a
// prefix of, then by id, greatest first. Query words are used as given
// (split them with Words); an empty query matches nothing.
func (x *Index[T]) Search(query []string, keep func(id string, data T) bool) *Results[T] {
	if len(query) == 0 {
		return newResults[T](nil)
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	sc := x.getScratch()
	defer x.scratch.Put(sc)
	live := len(x.byID)
	if live == 0 {
		return newResults[T](nil)
	}
	avg := float64(x.words) / float64(live)
	if avg == 0 {
		avg = 1
	}
	var cands []uint32
	for qi, q := range query {
		sc.gen++
		gen := sc.gen
		// Every slot holding a word that q is a prefix of: its summed
		// count, and how many live documents hold one (for the IDF).
		df := 0
		var touched []uint32
		for i, _ := slices.BinarySearch(x.dict, q); i < len(x.dict) && strings.HasPrefix(x.dict[i], q); i++ {
			weight := 1.0
			if len(x.dict[i]) > len(q) {
				weight = prefixWeight
			}
			p := x.post[i]
			x.each(p, func(n uint32, count uint16) {
				if !x.slots[n].live {
					return
				}
				if sc.stamp[n] != gen {
					sc.stamp[n], sc.tf[n] = gen, 0
					df++
					if qi == 0 {
						touched = append(touched, n)
					}
				}
				sc.tf[n] += weight * float64(count)
			})
		}
		idf := math.Log(1 + (float64(live)-float64(df)+0.5)/(float64(df)+0.5))
		weight := func(n uint32) float64 {
			tf := sc.tf[n]
			norm := k1 * (1 - b + b*float64(x.slots[n].words)/avg)
			return idf * tf * (k1 + 1) / (tf + norm)
		}
		if qi == 0 {
			cands = touched
			for _, n := range cands {
				sc.score[n] = weight(n)
			}
			continue
		}
		kept := cands[:0]
		for _, n := range cands {
			if sc.stamp[n] == gen {
				sc.score[n] += weight(n)
				kept = append(kept, n)
			}
		}
		cands = kept
		if len(cands) == 0 {
			return newResults[T](nil)
		}
	}
	hits := make([]Hit[T], 0, len(cands))
	for _, n := range cands {
		if keep == nil || keep(x.ids[n], x.data[n]) {
			hits = append(hits, Hit[T]{ID: x.ids[n], Score: sc.score[n], Data: x.data[n], rank: x.slots[n].rank})
		}
	}
	return newResults(hits)
}
