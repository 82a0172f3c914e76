package graph

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"frontdesk/ent/product"
	"frontdesk/gid"
)

// TestListingScalarsMatchGqlgen: the listing writer's strings, times, IDs
// and statuses are gqlgen's bytes for every byte value (control
// characters, quotes, backslashes, DEL, invalid UTF-8 and multi-byte
// runes), and its times for whole and fractional seconds in several
// zones.
func TestListingScalarsMatchGqlgen(t *testing.T) {
	var all []byte
	for c := range 256 {
		all = append(all, byte(c))
	}
	texts := []string{"", "plain", `"quoted" \ back`, "tab\there\nline\rret", "\x00\x01\x1f\x7f", "ünïcode ☕ \u2028",
		"bad \xff\xfe utf-8 \xe2\x82", string(all)}
	for _, s := range texts {
		var want bytes.Buffer
		graphql.MarshalString(s).MarshalGQL(&want)
		if got := appendString([]byte("x"), s); string(got[1:]) != want.String() {
			t.Errorf("appendString(%q) = %s, want %s", s, got[1:], want.Bytes())
		}
		var id bytes.Buffer
		gid.ID(s).MarshalGQL(&id)
		w := &listingWriter{}
		if w.id(gid.ID(s)); string(w.buf) != id.String() {
			t.Errorf("id(%q) = %s, want %s", s, w.buf, id.Bytes())
		}
	}
	for _, st := range []product.Status{product.StatusACTIVE, product.StatusDRAFT, product.StatusARCHIVED, ""} {
		var want bytes.Buffer
		st.MarshalGQL(&want)
		if got := strconv.AppendQuote(nil, st.String()); string(got) != want.String() {
			t.Errorf("status %q = %s, want %s", st, got, want.Bytes())
		}
	}
	for _, zone := range []string{"UTC", "Australia/Lord_Howe", "America/St_Johns", "Asia/Kathmandu"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		for _, at := range []time.Time{time.Date(2026, 12, 6, 16, 40, 38, 0, loc), time.Date(1999, 1, 2, 3, 4, 5, 120_000_000, loc),
			time.Date(2026, 4, 5, 1, 59, 59, 999_999_999, loc)} {
			var want bytes.Buffer
			graphql.MarshalTime(at).MarshalGQL(&want)
			w := &listingWriter{}
			if !w.time(at) || string(w.buf) != want.String() {
				t.Errorf("time(%s) = %s, want %s", at, w.buf, want.Bytes())
			}
		}
	}
	if w := (&listingWriter{}); w.time(time.Time{}) {
		t.Errorf("a zero time was written (%s); gqlgen writes null, an error in a non-null field", w.buf)
	}
}
