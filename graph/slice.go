package graph

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
)

// listWorkers is how many goroutines marshal the elements of one list.
// gqlgen starts one goroutine per element, so availableSlots' 2,600 slots
// cost 2,600 goroutines and their stack growth. A list this long or
// shorter still gets one goroutine per element, as before, so dataloaders
// see every element's key in one batch; a longer list is cut into this
// many contiguous runs, each marshalled in order by one goroutine, so a
// loader sees at most this many keys per batch window and an element
// whose key is already loaded costs no wait at all.
const listWorkers = 64

// marshalSlice replaces graphql.MarshalSliceConcurrently in the generated
// executor (internal/gqlgenrun rewrites the call after gqlgen runs): the
// same contract (one result per element, a panicking element becomes null
// with an error, a cancelled context nulls the rest) with at most
// listWorkers goroutines per list.
func marshalSlice(ctx context.Context, length int, workerLimit int64, omitPanicHandler bool,
	marshalElement func(ctx context.Context, i int) graphql.Marshaler) graphql.Array {
	if length <= listWorkers {
		return graphql.MarshalSliceConcurrently(ctx, length, workerLimit, omitPanicHandler, marshalElement)
	}
	ret := make(graphql.Array, length)
	run := (length + listWorkers - 1) / listWorkers
	var wg sync.WaitGroup
	for first := 0; first < length; first += run {
		last := min(first+run, length)
		wg.Go(func() {
			for i := first; i < last; i++ {
				if ctx.Err() != nil {
					ret[i] = graphql.Null
					continue
				}
				ret[i] = marshalAt(ctx, i, omitPanicHandler, marshalElement)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		graphql.AddError(ctx, err)
	}
	return ret
}

// marshalSliceInOrder replaces graphql.MarshalSliceConcurrently for lists
// of the types whose fields resolve in order (internal/gqlgenrun's
// inOrder: variants, images, money…): their fields need no batch window,
// so the elements are marshalled one after another on the caller's
// goroutine, with the same contract as marshalSlice.
func marshalSliceInOrder(ctx context.Context, length int, _ int64, omitPanicHandler bool,
	marshalElement func(ctx context.Context, i int) graphql.Marshaler) graphql.Array {
	ret := make(graphql.Array, length)
	for i := range length {
		if ctx.Err() != nil {
			ret[i] = graphql.Null
			continue
		}
		ret[i] = marshalAt(ctx, i, omitPanicHandler, marshalElement)
	}
	if err := ctx.Err(); err != nil {
		graphql.AddError(ctx, err)
	}
	return ret
}

// marshalAt marshals element i of a list in its own field context; a
// panic becomes the element's error and a null, as in gqlgen's own lists.
func marshalAt(ctx context.Context, i int, omitPanicHandler bool,
	marshalElement func(ctx context.Context, i int) graphql.Marshaler) (m graphql.Marshaler) {
	childCtx := graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i})
	if !omitPanicHandler {
		defer func() {
			if r := recover(); r != nil {
				graphql.AddError(childCtx, graphql.Recover(childCtx, r))
				m = graphql.Null
			}
		}()
	}
	return marshalElement(childCtx, i)
}
