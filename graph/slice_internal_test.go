package graph

import (
	"bytes"
	"context"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

// goroutineID is the number runtime.Stack prints for the calling
// goroutine; the test uses it only to count distinct goroutines.
func goroutineID() int {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	buf = bytes.TrimPrefix(buf, []byte("goroutine "))
	id, _ := strconv.Atoi(string(buf[:bytes.IndexByte(buf, ' ')]))
	return id
}

func TestMarshalSlice(t *testing.T) {
	for _, tc := range []struct {
		name          string
		length        int
		panicAt       int // -1: none
		maxGoroutines int
		inOrder       bool // marshalSliceInOrder
	}{
		{"short list: one goroutine per element, as gqlgen does", 40, -1, 40, false},
		{"long list: at most listWorkers goroutines", 2600, -1, listWorkers, false},
		{"a panicking element becomes null with an error", 1000, 517, listWorkers, false},
		{"in order: the caller's goroutine only", 40, -1, 1, true},
		{"in order: a panicking element becomes null with an error", 40, 17, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter, graphql.DefaultRecover)
			var mu sync.Mutex
			seen := map[int]bool{}
			marshal := marshalSlice
			if tc.inOrder {
				marshal = marshalSliceInOrder
			}
			ret := marshal(ctx, tc.length, 0, false, func(ctx context.Context, i int) graphql.Marshaler {
				mu.Lock()
				seen[goroutineID()] = true
				mu.Unlock()
				if got := *graphql.GetFieldContext(ctx).Index; got != i {
					t.Errorf("element %d has path index %d", i, got)
				}
				if i == tc.panicAt {
					panic("boom")
				}
				return graphql.MarshalInt(i)
			})
			if len(ret) != tc.length {
				t.Fatalf("%d results for %d elements", len(ret), tc.length)
			}
			for i, m := range ret {
				var want bytes.Buffer
				if i == tc.panicAt {
					graphql.Null.MarshalGQL(&want)
				} else {
					graphql.MarshalInt(i).MarshalGQL(&want)
				}
				var got bytes.Buffer
				m.MarshalGQL(&got)
				if got.String() != want.String() {
					t.Fatalf("element %d: got %s, want %s", i, got.String(), want.String())
				}
			}
			if len(seen) > tc.maxGoroutines {
				t.Errorf("%d goroutines marshalled %d elements, want at most %d", len(seen), tc.length, tc.maxGoroutines)
			}
			if errs := graphql.GetErrors(ctx); (tc.panicAt >= 0) != (len(errs) == 1) {
				t.Errorf("errors: %v", errs)
			}
		})
	}
}
