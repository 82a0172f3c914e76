package gid

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestNewIsValidAndUnique(t *testing.T) {
	seen := map[ID]bool{}
	for range 1000 {
		id := New("usr")
		if err := id.Validate(); err != nil {
			t.Fatalf("New produced invalid id %q: %v", id, err)
		}
		if id.Prefix() != "usr" {
			t.Fatalf("prefix = %q, want usr", id.Prefix())
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
}

func TestULIDSortsByTime(t *testing.T) {
	a := newULID(time.UnixMilli(1_700_000_000_000))
	b := newULID(time.UnixMilli(1_700_000_000_001))
	if !(a[:10] < b[:10]) {
		t.Fatalf("timestamp part not ordered: %s !< %s", a, b)
	}
}

func TestIDsMadeInOneMillisecondSortInOrder(t *testing.T) {
	at := time.UnixMilli(1_800_000_000_000)
	prev := newULID(at)
	for range 1000 {
		next := newULID(at)
		if next <= prev {
			t.Fatalf("%s after %s is not greater", next, prev)
		}
		prev = next
	}
}

func TestParseRejectsMalformed(t *testing.T) {
	valid := string(New("prd"))
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"no prefix", valid[4:]},
		{"upper prefix", "PRD" + valid[3:]},
		{"long prefix", "abcdef" + valid[3:]},
		{"short ulid", valid[:len(valid)-1]},
		{"bad char", valid[:len(valid)-1] + "U"},
		{"overflow timestamp", "prd_8" + valid[5:]},
		{"sql injection", "usr_' OR 1=1 --"},
		{"huge", strings.Repeat("a", 10_000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.in); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse(%q) error = %v, want ErrMalformed", tt.in, err)
			}
		})
	}
	if _, err := Parse(valid); err != nil {
		t.Fatalf("Parse(valid) = %v", err)
	}
}

func TestUnmarshalGQL(t *testing.T) {
	var id ID
	if err := id.UnmarshalGQL(42); !errors.Is(err, ErrMalformed) {
		t.Fatalf("non-string input: err = %v", err)
	}
	want := New("ord")
	if err := id.UnmarshalGQL(string(want)); err != nil || id != want {
		t.Fatalf("UnmarshalGQL = %q, %v", id, err)
	}
}

// IDs minted together must not be predictable from one another: within a
// millisecond each random part steps by a random amount, so the gaps
// between consecutive IDs are neither one nor all equal.
func TestIDsMadeInOneMillisecondStepByRandomAmounts(t *testing.T) {
	at := time.UnixMilli(1_900_000_000_000)
	const n = 200
	gaps := map[string]bool{}
	prev := decodeRandom(t, newULID(at))
	for range n {
		next := decodeRandom(t, newULID(at))
		gap := new(big.Int).Sub(next, prev)
		if gap.Sign() <= 0 {
			t.Fatalf("random part did not grow: %v then %v", prev, next)
		}
		if gap.Cmp(big.NewInt(1)) == 0 {
			t.Fatalf("consecutive IDs differ by one: the next ID is guessable")
		}
		gaps[gap.String()] = true
		prev = next
	}
	// A 32-bit random step repeats with negligible probability.
	if len(gaps) < n-2 {
		t.Fatalf("only %d distinct gaps in %d steps: increments are not random", len(gaps), n)
	}
}

// decodeRandom returns the 80-bit random part of a 26-character ULID.
func decodeRandom(t *testing.T, u string) *big.Int {
	t.Helper()
	n := new(big.Int)
	for i := range len(u) {
		d := strings.IndexByte(crockford, u[i])
		if d < 0 {
			t.Fatalf("bad ULID %q", u)
		}
		n.Lsh(n, 5).Or(n, big.NewInt(int64(d)))
	}
	return n.And(n, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 80), big.NewInt(1)))
}

// TestMarshalGQLWritesJSON: whatever an ID holds, MarshalGQL writes a JSON
// string that reads back as the same value (the HTTP transport copies it
// into the response unchecked).
func TestMarshalGQLWritesJSON(t *testing.T) {
	for _, id := range []ID{New("usr"), "", "a\"b", `back\slash`, "nul\x00", "tab\tnl\n", "del\x7f", "é", "\u2028", "bad\xff"} {
		var b bytes.Buffer
		id.MarshalGQL(&b)
		var back string
		if err := json.Unmarshal(b.Bytes(), &back); err != nil || (utf8.ValidString(string(id)) && back != string(id)) {
			t.Errorf("MarshalGQL(%q) wrote %s: %v, read back %q", id, b.Bytes(), err, back)
		}
	}
}
