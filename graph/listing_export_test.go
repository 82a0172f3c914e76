package graph

import "testing"

// SetListingFastPath turns the products listing's fast path (listing.go)
// on or off until the test ends, so a test can compare it with the
// generic executor.
func SetListingFastPath(t testing.TB, on bool) {
	old := listingFastPath.Swap(on)
	t.Cleanup(func() { listingFastPath.Store(old) })
}

// ListingFastPathWrites is how many listings the fast path has written.
func ListingFastPathWrites() int64 { return listingWrites.Load() }
