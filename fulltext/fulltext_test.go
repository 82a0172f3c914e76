package fulltext

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

// ordered reads every result in order.
func ordered[T any](r *Results[T]) []Hit[T] {
	out := []Hit[T]{}
	for i := range r.Len() {
		out = append(out, r.At(i))
	}
	return out
}

func ids[T any](r *Results[T]) []string {
	out := []string{}
	for _, h := range ordered(r) {
		out = append(out, h.ID)
	}
	return out
}

func TestSearch(t *testing.T) {
	x := New[int]()
	x.Apply([]Doc[int]{
		{ID: "a", Text: "Garden hose. Thirty metres of hose for the garden.", Data: 1},
		{ID: "b", Text: "Jasmine Tea: green tea scented with jasmine, tea for guests", Data: 2},
		{ID: "c", Text: "Teapot, a pot for tea", Data: 3},
		{ID: "d", Text: "Black tea", Data: 4},
		{ID: "e", Text: "Black tea", Data: 5},
		{ID: "f", Text: "Café crème, 2 x 250g", Data: 6},
	}, nil)
	for _, tc := range []struct {
		name  string
		query []string
		keep  func(string, int) bool
		want  []string
	}{
		// Short documents first; the teapot, a prefix match, last.
		{"a word and its prefixes", []string{"tea"}, nil, []string{"e", "d", "b", "c"}},
		{"every word must match", []string{"black", "tea"}, nil, []string{"e", "d"}},
		{"a prefix", []string{"ja"}, nil, []string{"b"}},
		{"no match", []string{"kettle"}, nil, []string{}},
		{"one word of two missing", []string{"tea", "kettle"}, nil, []string{}},
		{"letters beyond ASCII, digits", []string{"caf", "250g"}, nil, []string{"f"}},
		{"kept by the filter", []string{"tea"}, func(_ string, n int) bool { return n%2 == 1 }, []string{"e", "c"}},
		{"empty query", nil, nil, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(x.Search(tc.query, tc.keep)); !slices.Equal(got, tc.want) {
				t.Fatalf("Search(%q) = %v, want %v", tc.query, got, tc.want)
			}
		})
	}
}

func TestApplyReplacesAndRemoves(t *testing.T) {
	x := New[string]()
	x.Apply([]Doc[string]{{ID: "a", Text: "zebrawood bowl", Data: "v1"}, {ID: "b", Text: "zebrawood spoon"}}, nil)
	x.Apply([]Doc[string]{{ID: "a", Text: "quokka bowl", Data: "v2"}}, []string{"b"})
	if got := ids(x.Search([]string{"zebrawood"}, nil)); len(got) != 0 {
		t.Fatalf("old words still match: %v", got)
	}
	if got := ordered(x.Search([]string{"quokka"}, nil)); len(got) != 1 || got[0].ID != "a" || got[0].Data != "v2" {
		t.Fatalf("new words: %+v", got)
	}
	if got := ids(x.Search([]string{"bowl"}, nil)); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("a word in both versions: %v", got)
	}
	if x.Len() != 1 || x.Dead() != 2 {
		t.Fatalf("Len %d Dead %d, want 1 and 2", x.Len(), x.Dead())
	}
	if d, ok := x.Data("a"); !ok || d != "v2" {
		t.Fatalf("Data(a) = %q %v", d, ok)
	}
	if _, ok := x.Data("b"); ok {
		t.Fatal("a removed document still has data")
	}
}

// bruteForce scores every document from its words, as the definition
// says, for comparison with the index.
func bruteForce(docs map[string]string, query []string) map[string]float64 {
	words := map[string][]string{}
	total := 0
	for id, text := range docs {
		words[id] = Words(text)
		total += len(words[id])
	}
	avg := float64(total) / float64(len(docs))
	scores := map[string]float64{}
	for id := range docs {
		scores[id] = 0
	}
	for _, q := range query {
		tf := map[string]float64{}
		for id, ws := range words {
			for _, w := range ws {
				switch {
				case w == q:
					tf[id]++
				case len(w) > 1 && strings.HasPrefix(w, q):
					tf[id] += prefixWeight
				}
			}
		}
		df := float64(len(tf))
		idf := math.Log(1 + (float64(len(docs))-df+0.5)/(df+0.5))
		for id := range scores {
			n := tf[id]
			if n == 0 {
				delete(scores, id)
				continue
			}
			scores[id] += idf * n * (k1 + 1) / (n + k1*(1-b+b*float64(len(words[id]))/avg))
		}
	}
	return scores
}

// TestSearchMatchesDefinition compares the index, after random additions,
// replacements and removals, with scores computed from scratch.
func TestSearchMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := []string{"calm", "calming", "tea", "teapot", "green", "garden", "hose", "de", "demo", "x", "small", "sourced"}
	text := func() string {
		ws := make([]string, 1+rng.IntN(12))
		for i := range ws {
			ws[i] = vocab[rng.IntN(len(vocab))]
		}
		return strings.Join(ws, " ")
	}
	x := New[struct{}]()
	docs := map[string]string{}
	for round := range 30 {
		var batch []Doc[struct{}]
		var remove []string
		for range 20 {
			id := fmt.Sprintf("p%03d", rng.IntN(200))
			if rng.IntN(6) == 0 {
				remove = append(remove, id)
				continue
			}
			batch = append(batch, Doc[struct{}]{ID: id, Text: text()})
		}
		for _, id := range remove {
			delete(docs, id)
		}
		for _, d := range batch {
			docs[d.ID] = d.Text
		}
		x.Apply(batch, remove)
		for _, q := range [][]string{{"calm"}, {"te"}, {"tea"}, {"de", "sm"}, {"garden", "hose", "calming"}, {"xyz"}} {
			want := bruteForce(docs, q)
			got := ordered(x.Search(q, nil))
			if len(got) != len(want) {
				t.Fatalf("round %d %q: %d hits, want %d", round, q, len(got), len(want))
			}
			for i, h := range got {
				if math.Abs(h.Score-want[h.ID]) > 1e-9 {
					t.Fatalf("round %d %q: %s scored %v, want %v", round, q, h.ID, h.Score, want[h.ID])
				}
				if i > 0 && (got[i-1].Score < h.Score || got[i-1].Score == h.Score && got[i-1].ID < h.ID) {
					t.Fatalf("round %d %q: out of order at %d: %+v then %+v", round, q, i, got[i-1], h)
				}
			}
		}
	}
}

// TestConcurrentSearchAndApply runs searches while documents change; with
// -race it checks the locking, and every search must see either all of a
// change or none of it.
func TestConcurrentSearchAndApply(t *testing.T) {
	x := New[int]()
	x.Apply([]Doc[int]{{ID: "a", Text: "red kettle"}, {ID: "b", Text: "blue kettle"}}, nil)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				// Each change moves "kettle" between a and b together with
				// c's text: exactly two documents hold it at any time.
				if n := x.Search([]string{"kettle"}, nil).Len(); n != 2 {
					t.Errorf("%d kettles seen, want 2", n)
					return
				}
			}
		})
	}
	for i := range 2000 {
		if i%2 == 0 {
			x.Apply([]Doc[int]{{ID: "a", Text: "red pot"}, {ID: "c", Text: "green kettle"}}, nil)
		} else {
			x.Apply([]Doc[int]{{ID: "a", Text: "red kettle"}}, []string{"c"})
		}
	}
	close(stop)
	wg.Wait()
}

func BenchmarkSearch(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	vocab := make([]string, 3000)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%x", rng.Uint32())
	}
	x := New[int]()
	var docs []Doc[int]
	// 100,000 documents of 40 words, a quarter of them holding "calm":
	// the shape of the seeded catalog's worst term.
	for i := range 100_000 {
		ws := make([]string, 40)
		for j := range ws {
			// A Zipf-like draw: the first words are common.
			ws[j] = vocab[int(float64(len(vocab))*math.Pow(rng.Float64(), 4))]
		}
		if rng.IntN(4) == 0 {
			ws[rng.IntN(len(ws))] = "calm"
		}
		docs = append(docs, Doc[int]{ID: fmt.Sprintf("prd%08d", i), Text: strings.Join(ws, " ")})
	}
	x.Apply(docs, nil)
	b.ResetTimer()
	for b.Loop() {
		// The first page, as a storefront asks for it.
		r := x.Search([]string{"calm"}, nil)
		for i := range min(21, r.Len()) {
			r.At(i)
		}
	}
}
